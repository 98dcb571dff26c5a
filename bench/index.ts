/** `npm run bench`: every benchmark, each printing its table and writing bench/results/<name>.json. */
import { benchCluster } from './cluster';
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
    const rows = await benchPipeline();
    printTable('pipeline', rows);
    writeResults('pipeline', rows);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
