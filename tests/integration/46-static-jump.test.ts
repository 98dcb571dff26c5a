/**
 * A jump host (ssh.jumpHost on the static target; aws.bastion makes one on AWS) on real sshd:
 * the shared cluster's nodes, addressed as static hosts, reached only through kafka-1 acting as
 * the jump host. Nothing is provisioned: `up --infra-only` writes the inventory, then `exec` and
 * `millrace ssh` go through the jump host. With the jump host's address wrong, the node (itself
 * reachable directly from here) is not reached, and the error names the jump host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { clusterKnownHosts, JUMP_HOST_PIN } from '../../provisioning/known-hosts';
import { ADDRESSES, allowThroughFirewall, cli, CLUSTER as BASE_CLUSTER, ensureBaseCluster, randomName, stateDir, TEST_DIR, writeConfig } from './harness';

const CLUSTER = 'itest-jump';
const JUMP = ADDRESSES['kafka-1'];
/** Nothing listens here: the jump host is down. */
const NO_JUMP = '127.0.0.39';

function config(jumpAddress: string): string {
  const key = path.join(stateDir(), 'ssh', 'id_ed25519');
  const nodes = [
    `  - { name: kafka-1, roles: [kafka], address: ${ADDRESSES['kafka-1']} }`,
    `  - { name: spark-1, roles: [spark-master, spark-worker], address: ${ADDRESSES['spark-1']} }`,
    `  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${ADDRESSES['hdfs-1']} }`,
  ].join('\n');
  return writeConfig(
    path.join(TEST_DIR, `${randomName('static-jump')}.yaml`),
    `name: ${CLUSTER}\ntarget: static\nssh:\n  user: admin\n  privateKeyPath: ${key}\n  publicKey: ${key}.pub\n  jumpHost: { address: ${jumpAddress} }\nnodes:\n${nodes}\nartifacts:\n  source: maven\n`,
  );
}

describe('static target through a jump host', () => {
  const undo: (() => void)[] = [];

  beforeAll(async () => {
    fs.rmSync(stateDir(CLUSTER), { recursive: true, force: true });
    await ensureBaseCluster();
    // The shared cluster's firewall lets no node reach another's SSH; a real jump host is a machine
    // of its own that the hosts' network lets in (on AWS, the bastion's security group).
    for (const to of [ADDRESSES['spark-1'], ADDRESSES['hdfs-1']]) undo.push(allowThroughFirewall(BASE_CLUSTER, JUMP, to, 22));
  });

  afterAll(() => {
    for (const u of undo) u();
    fs.rmSync(stateDir(CLUSTER), { recursive: true, force: true });
  });

  it('reaches every node through the jump host, pins its key, and `millrace ssh` goes the same way', async () => {
    const file = config(JUMP);
    const infra = await cli(['up', '--infra-only', '--json', '-c', file]);
    expect(`${infra.code} ${infra.stderr.slice(-2000)}`).toMatch(/^0 /);
    for (const n of readInventory(CLUSTER).nodes) expect([n.name, n.jumpHost]).toEqual([n.name, { address: JUMP, port: 22, user: 'admin' }]);

    const exec = await cli(['exec', 'all', '--json', '-c', file, '--', 'cat', '/etc/hostname']);
    expect(`${exec.code} ${exec.stderr.slice(-2000)}`).toMatch(/^0 /);
    const rows = JSON.parse(exec.stdout) as { node: string; code: number; stdout: string }[];
    expect(rows.map((r) => [r.node, r.code])).toEqual([
      ['kafka-1', 0],
      ['spark-1', 0],
      ['hdfs-1', 0],
    ]);

    // The jump host's key is pinned like a node's: here it is kafka-1's own sshd.
    const pins = clusterKnownHosts(CLUSTER);
    expect(pins.get(JUMP_HOST_PIN)).toMatchObject({ address: `${JUMP}:22`, fingerprint: pins.get('kafka-1')!.fingerprint });

    const ssh = await cli(['ssh', 'spark-1', '-c', file, '--', 'cat', '/etc/hostname'], { timeoutMs: 60_000 });
    expect(`${ssh.code} ${ssh.stderr.slice(-2000)}`).toMatch(/^0 /);
    expect(ssh.stdout.trim()).toBe(rows.find((r) => r.node === 'spark-1')!.stdout.trim());
  });

  it('a jump host whose key changed is refused, naming the jump host', async () => {
    // spark-1's sshd as the "jump host" offers another key than the one pinned for kafka-1's.
    const file = config(ADDRESSES['spark-1']);
    expect((await cli(['up', '--infra-only', '--json', '-c', file])).code).toBe(0);
    const exec = await cli(['exec', 'hdfs-1', '-c', file, '--', 'true']);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toMatch(/host key of the jump host admin@127\.0\.0\.32:22 changed/);
    expect(exec.stderr).toContain(`millrace forget-host ${JUMP_HOST_PIN}`);
    const ssh = await cli(['ssh', 'hdfs-1', '-c', file, '--', 'true'], { timeoutMs: 60_000 });
    expect(ssh.code).not.toBe(0);
    expect(ssh.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('with the jump host unreachable, a node that is itself reachable fails, and the error names the jump host', async () => {
    const file = config(NO_JUMP);
    expect((await cli(['up', '--infra-only', '--json', '-c', file])).code).toBe(0);
    const exec = await cli(['exec', 'spark-1', '-c', file, '--', 'true']);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toMatch(new RegExp(`spark-1 \\(${ADDRESSES['spark-1'].replace(/\./g, '\\.')}:22 via ${NO_JUMP.replace(/\./g, '\\.')}\\): cannot connect over SSH: the jump host admin@${NO_JUMP.replace(/\./g, '\\.')}:22 is unreachable`));
    const ssh = await cli(['ssh', 'spark-1', '-c', file, '--', 'true'], { timeoutMs: 60_000 });
    expect(ssh.code).not.toBe(0);
    expect(ssh.stderr).toContain(NO_JUMP);
  });
});
