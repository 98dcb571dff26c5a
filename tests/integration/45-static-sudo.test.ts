/**
 * The static target brings a cluster up from nothing on hosts reached as a user that is not root
 * and has passwordless sudo, the usual case for existing hosts. The host is a fresh local node
 * (booted with cloud-init, provisioned by nothing yet), addressed as a static host.
 */
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { cli, randomName, stateDir, TEST_DIR, writeConfig } from './harness';

const CLUSTER = 'itest-static';
const ADDRESS = '127.0.0.35';
const NODE = `  - { name: solo-1, roles: [kafka, spark-master, spark-worker, namenode, datanode, kms], address: ${ADDRESS} }\n`;
const LOCAL = writeConfig(path.join(TEST_DIR, 'static-sudo-local.yaml'), `name: ${CLUSTER}\ntarget: local\nnodes:\n${NODE}artifacts:\n  source: maven\n`);

interface UpJson {
  changed: boolean;
  nodes: { node: string; prepared: string[]; installed: string[]; started: string[] }[];
}

describe('static target through a sudo user', () => {
  beforeAll(async () => {
    await cli(['down', '--yes', '-c', LOCAL]);
    // The host: booted and reachable as admin, with nothing of millrace's on it.
    const boot = await cli(['up', '--infra-only', '-c', LOCAL]);
    expect(`${boot.code} ${boot.stderr.slice(-2000)}`).toMatch(/^0 /);
  });

  afterAll(async () => {
    const down = await cli(['down', '--yes', '-c', LOCAL]);
    expect(down.code).toBe(0);
  });

  it('brings up every service from nothing as admin, and a second run changes nothing', async () => {
    const key = path.join(stateDir(CLUSTER), 'ssh', 'id_ed25519');
    const file = writeConfig(
      path.join(TEST_DIR, `${randomName('static-sudo')}.yaml`),
      `name: ${CLUSTER}\ntarget: static\nssh:\n  user: admin\n  privateKeyPath: ${key}\n  publicKey: ${key}.pub\nnodes:\n${NODE}artifacts:\n  source: maven\n`,
    );
    const up = await cli(['up', '--json', '-c', file]);
    expect(`${up.code} ${up.stderr.slice(-3000)}`).toMatch(/^0 /);
    const result = JSON.parse(up.stdout) as UpJson;
    expect(readInventory(CLUSTER)).toMatchObject({ target: 'static', nodes: [{ name: 'solo-1', sshUser: 'admin', sshAddress: ADDRESS }] });
    const solo = result.nodes[0]!;
    expect(solo.installed.sort()).toEqual(['hadoop', 'kafka', 'spark']);
    // With monitoring: Prometheus (the monitor goes to the spark-master's node) and the node exporter.
    expect(solo.started.sort()).toEqual(['alertmanager', 'hadoop-kms', 'hdfs-datanode', 'hdfs-namenode', 'kafka', 'node-exporter', 'prometheus', 'spark-master', 'spark-worker']);
    expect(solo.prepared).toEqual(expect.arrayContaining(['user kafka', 'user hdfs', 'user spark']));
    // A static host has no data disk from millrace: nothing was formatted.
    expect(solo.prepared.filter((p) => /data volume/.test(p))).toEqual([]);

    const status = await cli(['status', '--json', '-c', file]);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { healthy: boolean }).healthy).toBe(true);

    const again = await cli(['up', '--json', '-c', file]);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as UpJson).changed).toBe(false);
  });
});
