import { operatorBrokers, type InventoryNode } from '../../../lib/inventory';

const node = (name: string, roles: InventoryNode['roles'], privateAddress: string, publicAddress?: string): InventoryNode => ({
  name,
  roles,
  sshAddress: publicAddress ?? privateAddress,
  sshPort: 22,
  sshUser: 'root',
  privateKeyPath: '/dev/null',
  privateAddress,
  ...(publicAddress ? { publicAddress } : {}),
});

describe('operatorBrokers', () => {
  it('uses the CLIENT listener on private addresses when brokers have no public address (local, most static)', () => {
    const nodes = [node('kafka-1', ['kafka'], '127.0.0.11'), node('hdfs-1', ['namenode'], '127.0.0.13')];
    expect(operatorBrokers({ nodes })).toEqual(['127.0.0.11:9093']);
  });

  it('uses the EXTERNAL listener on public addresses when every broker has one (aws)', () => {
    const nodes = [node('kafka-1', ['kafka'], '10.42.0.5', '203.0.113.5'), node('kafka-2', ['kafka'], '10.42.0.6', '203.0.113.6'), node('hdfs-1', ['namenode'], '10.42.0.7', '203.0.113.7')];
    expect(operatorBrokers({ nodes })).toEqual(['203.0.113.5:9095', '203.0.113.6:9095']);
  });

  it('falls back to private addresses when only some brokers have a public one (EXTERNAL metadata would miss the others)', () => {
    const nodes = [node('kafka-1', ['kafka'], '10.42.0.5', '203.0.113.5'), node('kafka-2', ['kafka'], '10.42.0.6')];
    expect(operatorBrokers({ nodes })).toEqual(['10.42.0.5:9093', '10.42.0.6:9093']);
  });

  it('treats a public address equal to the private one as none', () => {
    expect(operatorBrokers({ nodes: [node('kafka-1', ['kafka'], '10.0.0.5', '10.0.0.5')] })).toEqual(['10.0.0.5:9093']);
  });
});
