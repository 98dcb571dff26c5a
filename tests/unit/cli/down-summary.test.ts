/** What `down` says it destroys before it asks: nodes with their addresses, data disks, state kept and removed. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { destroySummary } from '../../../cli/commands/infra';
import { parseConfigText } from '../../../lib/config';
import { writeInventory } from '../../../lib/inventory';

describe('down: what it destroys', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-down-'));
  const saved = process.env.MILLRACE_HOME;
  beforeAll(() => (process.env.MILLRACE_HOME = home));
  afterAll(() => {
    if (saved === undefined) delete process.env.MILLRACE_HOME;
    else process.env.MILLRACE_HOME = saved;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('names each node with its addresses, in config order, each data disk, and what state goes and stays', () => {
    const config = parseConfigText('name: demo\ntarget: local\n');
    const node = (name: string, roles: string[], address: string) => ({ name, roles, sshAddress: address, sshPort: 22, sshUser: 'admin', privateKeyPath: '/k', privateAddress: address, dataVolume: { sizeBytes: 20 * 1024 ** 3, deviceTypes: ['loop'] } });
    writeInventory({
      cluster: 'demo',
      target: 'local',
      createdAt: new Date().toISOString(),
      nodes: [node('kafka-1', ['kafka'], '127.0.0.11'), node('spark-1', ['spark-master', 'spark-worker'], '127.0.0.12'), node('hdfs-1', ['namenode', 'datanode', 'kms'], '127.0.0.13')] as never,
    });
    const text = destroySummary(config, '3 systemd-nspawn nodes on this machine', [{ name: 'hdfs-1' }, { name: 'kafka-1' }, { name: 'spark-1' }]);
    expect(text.split('\n')).toEqual([
      'cluster "demo": 3 systemd-nspawn nodes on this machine',
      '  nodes: kafka-1 (127.0.0.11), spark-1 (127.0.0.12), hdfs-1 (127.0.0.13)',
      '  data disks: kafka-1 20 GiB, spark-1 20 GiB, hdfs-1 20 GiB, with everything in Kafka and HDFS on them',
      `  state: the inventory and the nodes' pinned host keys in ${path.join(home, 'clusters', 'demo')}`,
      '  kept: the rest of that directory (the cluster CA, secrets, SSH key), so a later `up` reuses them; delete it to forget the cluster',
    ]);
  });

  it('on aws, also the AWS resources of the stack', () => {
    const config = parseConfigText('name: cloud\ntarget: aws\nnetwork: { sshCidr: 198.51.100.7/32 }\n');
    expect(destroySummary(config, 'EC2 instances', [{ name: 'kafka-1' }])).toMatch(/^ {2}AWS resources: the whole Terraform stack/m);
  });
});
