/** `describe`'s endpoints, computed from an inventory alone. */
import { endpoints } from '../../../cli/commands/describe';
import type { InventoryNode } from '../../../lib/inventory';

const node = (name: string, roles: InventoryNode['roles'], privateAddress: string, publicAddress?: string): InventoryNode => ({
  name,
  roles,
  sshAddress: publicAddress ?? privateAddress,
  sshPort: 22,
  sshUser: 'admin',
  privateKeyPath: '/dev/null',
  privateAddress,
  ...(publicAddress ? { publicAddress } : {}),
});

describe('endpoints', () => {
  it('lists every service endpoint of the default local topology, the operator using the cluster listener', () => {
    const nodes = [node('kafka-1', ['kafka'], '127.0.0.11'), node('spark-1', ['spark-master', 'spark-worker'], '127.0.0.12'), node('hdfs-1', ['namenode', 'datanode', 'kms'], '127.0.0.13')];
    expect(endpoints({ nodes }).map((e) => `${e.name} (${e.from}): ${e.url}`)).toEqual([
      'Kafka bootstrap servers (operator): 127.0.0.11:9093',
      'Kafka bootstrap servers (cluster): 127.0.0.11:9093',
      'HDFS (cluster): hdfs://127.0.0.13:8020',
      'NameNode UI (operator): https://127.0.0.13:9871',
      'DataNode UIs (operator): https://127.0.0.13:9865',
      'KMS (cluster): https://127.0.0.13:9600/kms',
      'Spark master (cluster): spark://127.0.0.12:7077',
      'Spark master UI (operator): https://127.0.0.12:8480',
      'Spark worker UIs (operator): https://127.0.0.12:8481',
    ]);
  });

  it('gives the operator the public EXTERNAL listener when every broker has a public address (aws)', () => {
    const nodes = [node('kafka-1', ['kafka'], '10.42.1.11', '203.0.113.11'), node('kafka-2', ['kafka'], '10.42.1.12', '203.0.113.12'), node('hdfs-1', ['namenode', 'datanode'], '10.42.1.13', '203.0.113.13')];
    const e = endpoints({ nodes });
    expect(e.filter((x) => x.name === 'Kafka bootstrap servers').map((x) => [x.from, x.url])).toEqual([
      ['operator', '203.0.113.11:9095,203.0.113.12:9095'],
      ['cluster', '10.42.1.11:9093,10.42.1.12:9093'],
    ]);
    expect(e.filter((x) => x.name.startsWith('Spark'))).toEqual([]);
    // The web UIs are the operator's (the flow table): at the public address, HDFS RPC stays inside.
    expect(e.filter((x) => x.name.endsWith('UI') || x.name.endsWith('UIs')).map((x) => [x.name, x.from, x.url])).toEqual([
      ['NameNode UI', 'operator', 'https://203.0.113.13:9871'],
      ['DataNode UIs', 'operator', 'https://203.0.113.13:9865'],
    ]);
    expect(e.find((x) => x.name === 'HDFS')).toEqual({ name: 'HDFS', from: 'cluster', url: 'hdfs://10.42.1.13:8020' });
  });
});
