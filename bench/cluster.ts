/**
 * Cluster lifecycle benchmark: a cold `up` (new nodes, warm artifact cache and host image), a
 * no-op `up` on the healthy cluster, and `down`. Each is timed through the built CLI, the way a
 * user runs it; the no-op `up` is also shown as a ratio of the cold one.
 */
import * as path from 'node:path';
import { BenchRow, cliTimed, printTable, writeResults, benchWorkdir, writeYaml, localClusterYaml } from './common';

const CLUSTER_YAML = localClusterYaml('bench', 41);

export async function benchCluster(): Promise<BenchRow[]> {
  const dir = benchWorkdir('cluster');
  const config = writeYaml(path.join(dir, 'bench.yaml'), CLUSTER_YAML);
  await cliTimed(['down', '--yes', '-c', config], dir); // leftovers of an interrupted run
  const cold = await cliTimed(['up', '--json', '-c', config], dir);
  const noop = await cliTimed(['up', '--json', '-c', config], dir);
  const noopChanged = (JSON.parse(noop.stdout) as { changed: boolean }).changed;
  const down = await cliTimed(['down', '--yes', '-c', config], dir);
  return [
    { metric: 'cold up (warm artifact cache)', value: cold.seconds, unit: 's', note: '3 new nodes, from nothing to healthy' },
    { metric: 'no-op up', value: noop.seconds, unit: 's', note: noopChanged ? 'CHANGED something (expected no change)' : 'no changes' },
    { metric: 'no-op up / cold up', value: noop.seconds / cold.seconds, unit: 'ratio', note: 'same run, same machine' },
    { metric: 'down', value: down.seconds, unit: 's', note: 'stop and remove 3 nodes' },
  ];
}

if (require.main === module) {
  void benchCluster().then((rows) => {
    printTable('cluster lifecycle', rows);
    writeResults('cluster', rows);
  });
}
