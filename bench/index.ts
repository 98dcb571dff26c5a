/**
 * `npm run bench`: every benchmark, each printing its table and writing bench/results/<name>.json.
 * `npm run bench -- <name>` runs one; `npm run bench -- faults <word>...` only the fault scenarios
 * whose names contain one of the words (and the no-fault reference), e.g. `faults namenode`,
 * written to bench/results/faults-namenode.json. `npm run bench -- pipeline producer` runs only the
 * producer figures (each Kafka client backend against ProducerPerformance), into
 * bench/results/pipeline-producer.json.
 * `npm run bench -- pipeline live` skips the 3M-event drain and the training times, into
 * bench/results/pipeline-live.json.
 */
import { benchCluster } from './cluster';
import { benchFaults } from './faults';
import { benchPipeline } from './pipeline';
import { printTable, writeResults } from './common';

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'cluster') {
    const rows = await benchCluster();
    printTable('cluster lifecycle', rows);
    writeResults('cluster', rows);
  }
  if (!only || only === 'pipeline') {
    const part = only === 'pipeline' ? process.argv[3] : undefined;
    const producerOnly = part === 'producer';
    const live = part === 'live';
    const rows = await benchPipeline({ producerOnly, live });
    const name = producerOnly ? 'pipeline-producer' : live ? 'pipeline-live' : 'pipeline';
    printTable(name, rows);
    writeResults(name, rows);
  }
  if (!only || only === 'faults') {
    const words = process.argv.slice(3);
    const { rows, outcomes } = await benchFaults(words);
    // A run of some scenarios leaves the whole run's figures alone: faults-<words>.json.
    const name = ['faults', ...words.map((w) => w.toLowerCase().replace(/[^a-z0-9]+/g, '-'))].join('-');
    printTable(name, rows);
    writeResults(name, rows, { outcomes, ...(words.length ? { only: words } : {}) });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
