import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inventoryPath, operatorBrokers, readInventory, writeInventory, type InventoryNode } from '../../../lib/inventory';

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

describe('readInventory', () => {
  const saved = process.env.MILLRACE_HOME;
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-inv-'));
    process.env.MILLRACE_HOME = home;
  });
  afterEach(() => {
    process.env.MILLRACE_HOME = saved;
    fs.rmSync(home, { recursive: true, force: true });
  });
  const good = { cluster: 'demo', target: 'local' as const, createdAt: '2026-01-01T00:00:00.000Z', nodes: [node('kafka-1', ['kafka'], '127.0.0.11')] };

  it('reads back what was written, data volume included', () => {
    const inv = { ...good, nodes: [{ ...good.nodes[0]!, dataVolume: { sizeBytes: 8 * 1024 ** 3, deviceTypes: ['loop' as const] } }] };
    writeInventory(inv);
    expect(readInventory('demo')).toEqual(inv);
  });

  it('refuses a hand-edited file whose addresses or user would reach a shell, naming each field', () => {
    writeInventory(good);
    const doc = JSON.parse(fs.readFileSync(inventoryPath('demo'), 'utf8'));
    doc.nodes[0].privateAddress = '127.0.0.11 $(reboot)';
    doc.nodes[0].sshUser = 'admin; id';
    fs.writeFileSync(inventoryPath('demo'), JSON.stringify(doc));
    expect(() => readInventory('demo')).toThrow(
      `${inventoryPath('demo')} is not a valid inventory: nodes[0].privateAddress: is not an IPv4 address or a DNS name; nodes[0].sshUser: is not a user name`,
    );
  });

  it('refuses a file that is not JSON, and says how to get a good one', () => {
    writeInventory(good);
    fs.writeFileSync(inventoryPath('demo'), '{');
    expect(() => readInventory('demo')).toThrow(/inventory\.json is not JSON/);
  });
});
