/**
 * Cluster lifecycle benchmark: a cold `up` (new nodes, warm artifact cache and host image), a
 * no-op `up` on the healthy cluster, and `down`, with kerberos.enabled: true and with the
 * default (Kerberos off); then the aws target's apply and destroy of the whole stack by terraform
 * against the EC2 API emulator. Each is timed through the built CLI, the way a user runs it. Where
 * Kerberos's cold `up` spends its extra time is shown step by step, from `up --json`'s seconds per
 * node and step.
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
  // Without Kerberos first (the default), then with it: the KDC, principals, keytabs and Spark's credentials timer.
  const plainConfig = writeYaml(path.join(dir, 'bench-no-kerberos.yaml'), `${CLUSTER_YAML}kerberos:\n  enabled: false\n`);
  const config = writeYaml(path.join(dir, 'bench.yaml'), `${CLUSTER_YAML}kerberos:\n  enabled: true\n`);
  await cliTimed(['down', '--yes', '-c', config], dir); // leftovers of an interrupted run
  const plain = await cliTimed(['up', '--json', '-c', plainConfig], dir);
  const plainNoop = await cliTimed(['up', '--json', '-c', plainConfig], dir);
  await cliTimed(['down', '--yes', '-c', plainConfig], dir);
  const cold = await cliTimed(['up', '--json', '-c', config], dir);
  const noop = await cliTimed(['up', '--json', '-c', config], dir);
  const down = await cliTimed(['down', '--yes', '-c', config], dir);
  const aws = await benchAwsEmulator(dir);
  const changedNote = (r: { stdout: string }): string => ((JSON.parse(r.stdout) as { changed: boolean }).changed ? 'CHANGED something (expected no change)' : 'no changes');
  return [
    { metric: 'cold up with Kerberos (warm artifact cache)', value: cold.seconds, unit: 's', note: '3 new nodes, from nothing to healthy; kerberos.enabled: true' },
    { metric: 'no-op up with Kerberos', value: noop.seconds, unit: 's', note: changedNote(noop) },
    { metric: 'no-op up / cold up', value: noop.seconds / cold.seconds, unit: 'ratio', note: 'same run, same machine' },
    { metric: 'down', value: down.seconds, unit: 's', note: 'stop and remove 3 nodes' },
    { metric: 'cold up without Kerberos (the default)', value: plain.seconds, unit: 's', note: 'the same nodes with simple authentication (no KDC, no keytabs)' },
    { metric: 'cold up / cold up without Kerberos', value: cold.seconds / plain.seconds, unit: 'ratio', note: 'same run, same machine' },
    { metric: 'no-op up without Kerberos', value: plainNoop.seconds, unit: 's', note: changedNote(plainNoop) },
    ...stepCosts(plain.stdout, cold.stdout),
    ...aws,
  ];
}

type StepSeconds = Map<string, number>;

/** `up --json`'s seconds per node and step, keyed "node step". */
function stepSeconds(upJson: string): StepSeconds {
  const nodes = (JSON.parse(upJson) as { nodes: { node: string; seconds?: Record<string, number> }[] }).nodes;
  return new Map(nodes.flatMap((n) => Object.entries(n.seconds ?? {}).map(([step, s]) => [`${n.node} ${step}`, s] as [string, number])));
}

/**
 * Where Kerberos's extra time goes: each node's total, then the steps that grew the most. Nodes
 * are bootstrapped in parallel after the KDC, so the cold `up` is about the KDC plus the slowest node.
 */
function stepCosts(plainJson: string, kerberosJson: string): BenchRow[] {
  const plain = stepSeconds(plainJson);
  const kerb = stepSeconds(kerberosJson);
  const total = (m: StepSeconds, node: string): number => [...m].filter(([k]) => k.startsWith(`${node} `)).reduce((a, [, s]) => a + s, 0);
  const nodes = [...new Set([...kerb.keys()].map((k) => k.split(' ')[0]!))];
  const perNode: BenchRow[] = nodes.map((n) => ({ metric: `Kerberos cost: ${n} steps in all`, value: total(kerb, n) - total(plain, n), unit: 's', note: `${total(plain, n).toFixed(1)} s without Kerberos, ${total(kerb, n).toFixed(1)} s with` }));
  const grew = [...new Set([...plain.keys(), ...kerb.keys()])]
    .map((k) => ({ k, d: (kerb.get(k) ?? 0) - (plain.get(k) ?? 0) }))
    .sort((a, b) => b.d - a.d)
    .slice(0, 8);
  return [
    ...perNode,
    ...grew.map(({ k, d }) => ({ metric: `Kerberos cost: ${k}`, value: d, unit: 's', note: `${(plain.get(k) ?? 0).toFixed(1)} s without Kerberos, ${(kerb.get(k) ?? 0).toFixed(1)} s with` })),
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
