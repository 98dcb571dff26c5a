import * as fs from 'node:fs';
import { parseConfigText } from '../../../lib/config';
import { MillraceError } from '../../../lib/errors';
import { inventoryFromOutputs } from '../../../targets/aws';
import { errorTail } from '../../../targets/aws/terraform';
import { CANNED_OUTPUT } from '../../fixtures/terraform-standin/install';

const config = parseConfigText('name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n', 'test.yaml');
const canned = JSON.parse(fs.readFileSync(CANNED_OUTPUT, 'utf8'));
const withNodes = (value: unknown) => JSON.stringify({ ...canned, nodes: { ...canned.nodes, value } });

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof MillraceError) return error.message;
    throw error;
  }
  throw new Error('expected a MillraceError');
}

describe('inventoryFromOutputs', () => {
  it('keeps the config\'s node order and uses the given key', () => {
    const inv = inventoryFromOutputs(config, JSON.stringify(canned), '/keys/id', new Date('2026-01-02T03:04:05Z'));
    expect(inv.createdAt).toBe('2026-01-02T03:04:05.000Z');
    expect(inv.nodes.map((n) => [n.name, n.privateKeyPath])).toEqual([
      ['kafka-1', '/keys/id'],
      ['spark-1', '/keys/id'],
      ['hdfs-1', '/keys/id'],
    ]);
  });

  it('falls back to the private address for SSH when a node has no public IP', () => {
    const nodes = { ...canned.nodes.value, 'kafka-1': { ...canned.nodes.value['kafka-1'], public_ip: '' } };
    const node = inventoryFromOutputs(config, withNodes(nodes), '/k').nodes[0]!;
    expect([node.sshAddress, node.privateAddress, node.publicAddress]).toEqual(['10.42.1.11', '10.42.1.11', undefined]);
  });

  it('gives every node the data volume the stack attaches', () => {
    const inv = inventoryFromOutputs(config, JSON.stringify(canned), '/k');
    for (const n of inv.nodes) expect(n.dataVolume).toEqual({ sizeBytes: 100 * 1024 ** 3, deviceTypes: ['disk'] });
  });

  it('refuses addresses that are not addresses, before they reach a shell', () => {
    const nodes = { ...canned.nodes.value, 'spark-1': { ...canned.nodes.value['spark-1'], private_ip: '10.42.1.12; touch /tmp/pwned' } };
    expect(message(() => inventoryFromOutputs(config, withNodes(nodes), '/k'))).toMatch(
      /^`terraform output -json` is not a valid inventory: nodes\[1\]\.privateAddress: is not an IPv4 address or a DNS name$/,
    );
  });

  it('names configured nodes missing from the outputs', () => {
    const { 'hdfs-1': _gone, ...rest } = canned.nodes.value;
    expect(message(() => inventoryFromOutputs(config, withNodes(rest), '/k'))).toBe(
      'terraform output "nodes" lacks hdfs-1: the state does not match the config',
    );
  });

  it('rejects outputs without nodes, non-JSON, and unknown roles', () => {
    expect(message(() => inventoryFromOutputs(config, '{}', '/k'))).toBe('terraform reported no "nodes" output: the stack has not been applied');
    expect(message(() => inventoryFromOutputs(config, 'Error: no state', '/k'))).toBe('`terraform output -json` did not print JSON');
    const nodes = { ...canned.nodes.value, 'kafka-1': { ...canned.nodes.value['kafka-1'], roles: ['zookeeper'] } };
    expect(message(() => inventoryFromOutputs(config, withNodes(nodes), '/k'))).toBe('terraform output "nodes" has unknown roles for node kafka-1');
  });
});

describe('errorTail', () => {
  it('drops colour codes, box margins and repeated blank lines', () => {
    const raw = '\u001b[31m╷\u001b[0m\n│ \u001b[1mError: boom\u001b[0m\n│ \n│ \n│   with aws_instance.node-kafka-1,\n╵\n';
    expect(errorTail(raw)).toBe('Error: boom\n\n  with aws_instance.node-kafka-1,');
  });
});

describe('inventoryFromOutputs with aws.bastion', () => {
  const bastionConfig = parseConfigText('name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\naws:\n  bastion: true\n', 'test.yaml');
  const withBastion = { ...canned, bastion: { sensitive: false, type: ['object', {}], value: { id: 'i-0b', public_ip: '198.51.100.99', private_ip: '10.42.1.5' } } };

  it('reaches every node at its private address through the bastion, as the login user with the cluster key', () => {
    const inv = inventoryFromOutputs(bastionConfig, JSON.stringify(withBastion), '/keys/id');
    for (const n of inv.nodes) {
      expect(n.sshAddress).toBe(n.privateAddress);
      expect(n.jumpHost).toEqual({ address: '198.51.100.99', port: 22, user: 'admin' });
    }
    // Control: the same outputs without the option connect directly to the public IPs.
    const direct = inventoryFromOutputs(config, JSON.stringify(withBastion), '/keys/id');
    expect(direct.nodes.map((n) => [n.sshAddress === n.publicAddress, n.jumpHost])).toEqual(direct.nodes.map(() => [true, undefined]));
  });

  it('fails, naming the bastion, when the stack has no bastion output', () => {
    expect(message(() => inventoryFromOutputs(bastionConfig, JSON.stringify(canned), '/k'))).toMatch(/no public IP for the bastion/);
  });
});
