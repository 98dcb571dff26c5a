/**
 * Cluster lifecycle benchmark: a cold `up` (new nodes, warm artifact cache and host image), a
 * no-op `up` on the healthy cluster, and `down`; then the aws target's apply and destroy of the
 * whole stack by terraform against the EC2 API emulator. Each is timed through the built CLI, the
 * way a user runs it; the no-op `up` is also shown as a ratio of the cold one.
 */
import * as path from 'node:path';
import { EMULATOR_AMI, MOTO_SERVER, providerMirror, startEmulator } from '../tests/fixtures/aws-emulator';
import * as fs from 'node:fs';
import { BenchRow, cliTimed, printTable, writeResults, benchWorkdir, writeYaml, localClusterYaml } from './common';

const CLUSTER_YAML = localClusterYaml('bench', 41);

export async function benchCluster(): Promise<BenchRow[]> {
  // The emulator half's prerequisites are checked before minutes go into the local half.
  if (!fs.existsSync(MOTO_SERVER)) throw new Error(`${MOTO_SERVER} is missing: run ./scripts/setup.sh, which installs moto[server] into .venv`);
  providerMirror();
  const dir = benchWorkdir('cluster');
  const config = writeYaml(path.join(dir, 'bench.yaml'), CLUSTER_YAML);
  await cliTimed(['down', '--yes', '-c', config], dir); // leftovers of an interrupted run
  const cold = await cliTimed(['up', '--json', '-c', config], dir);
  const noop = await cliTimed(['up', '--json', '-c', config], dir);
  const noopChanged = (JSON.parse(noop.stdout) as { changed: boolean }).changed;
  const down = await cliTimed(['down', '--yes', '-c', config], dir);
  // The same cluster with kerberos.enabled (issue 13): the KDC, principals, keytabs and Spark's credentials timer.
  const kerberized = writeYaml(path.join(dir, 'bench-kerberos.yaml'), `${CLUSTER_YAML}kerberos:\n  enabled: true\n`);
  const coldKerberos = await cliTimed(['up', '--json', '-c', kerberized], dir);
  const noopKerberos = await cliTimed(['up', '--json', '-c', kerberized], dir);
  await cliTimed(['down', '--yes', '-c', kerberized], dir);
  const aws = await benchAwsEmulator(dir);
  return [
    { metric: 'cold up (warm artifact cache)', value: cold.seconds, unit: 's', note: '3 new nodes, from nothing to healthy' },
    { metric: 'no-op up', value: noop.seconds, unit: 's', note: noopChanged ? 'CHANGED something (expected no change)' : 'no changes' },
    { metric: 'no-op up / cold up', value: noop.seconds / cold.seconds, unit: 'ratio', note: 'same run, same machine' },
    { metric: 'down', value: down.seconds, unit: 's', note: 'stop and remove 3 nodes' },
    { metric: 'cold up with Kerberos', value: coldKerberos.seconds, unit: 's', note: 'kerberos.enabled: KDC, 5 principals and keytabs, kerberized HDFS, KMS and Spark' },
    { metric: 'cold up with Kerberos / cold up', value: coldKerberos.seconds / cold.seconds, unit: 'ratio', note: 'same run, same machine' },
    { metric: 'no-op up with Kerberos', value: noopKerberos.seconds, unit: 's', note: (JSON.parse(noopKerberos.stdout) as { changed: boolean }).changed ? 'CHANGED something (expected no change)' : 'no changes' },
    ...aws,
  ];
}

/** terraform apply and destroy of the 3-node stack against moto on loopback (`up --infra-only`, `down`). */
async function benchAwsEmulator(dir: string): Promise<BenchRow[]> {
  const emulator = await startEmulator(path.join(dir, 'aws-emulator'));
  try {
    const config = writeYaml(
      path.join(dir, 'bench-aws.yaml'),
      `name: bench-aws\ntarget: aws\naws:\n  ami: ${EMULATOR_AMI}\nnetwork:\n  sshCidr: 198.51.100.7/32\nartifacts:\n  source: maven\n`,
    );
    await cliTimed(['down', '--yes', '-c', config], dir, { env: emulator.env });
    const up = await cliTimed(['up', '--infra-only', '--yes', '--json', '-c', config], dir, { env: emulator.env });
    const created = /Apply complete! Resources: (\d+) added/.exec(up.stderr)?.[1] ?? '?';
    const down = await cliTimed(['down', '--yes', '--json', '-c', config], dir, { env: emulator.env });
    return [
      { metric: 'aws up --infra-only (emulator)', value: up.seconds, unit: 's', note: `terraform plan + apply of ${created} resources against moto on loopback` },
      { metric: 'aws down (emulator)', value: down.seconds, unit: 's', note: 'terraform destroy, then the leftovers check' },
      { metric: 'aws down / aws up', value: down.seconds / up.seconds, unit: 'ratio', note: 'same run, same emulator' },
    ];
  } finally {
    await emulator.stop();
  }
}

if (require.main === module) {
  void benchCluster().then((rows) => {
    printTable('cluster lifecycle', rows);
    writeResults('cluster', rows);
  });
}
