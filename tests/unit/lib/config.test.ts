import { parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'bad.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const threeNodes = `
nodes:
  - { name: kafka-1, roles: [kafka] }
  - { name: spark-1, roles: [spark-master, spark-worker] }
  - { name: hdfs-1, roles: [namenode, datanode, kms] }
`;

describe('cluster config', () => {
  it('fills the design defaults: three nodes, one role each, known versions', () => {
    const c = parseConfigText('name: demo\n');
    expect(c.target).toBe('local');
    expect(c.nodes.map((n) => [n.name, n.roles, n.address])).toEqual([
      ['kafka-1', ['kafka'], '127.0.0.11'],
      // The monitor goes to the spark-master's node unless a node has it.
      ['spark-1', ['spark-master', 'spark-worker', 'monitor'], '127.0.0.12'],
      ['hdfs-1', ['namenode', 'datanode', 'kms'], '127.0.0.13'],
    ]);
    expect(c.versions).toEqual({ kafka: '4.1.1', spark: '4.2.0', hadoop: '3.5.0', java: '17' });
    expect(c.artifacts.source).toBe('maven');
  });

  it('accepts the shipped examples', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    for (const f of ['examples/millrace.yaml', 'examples/aws.yaml', 'examples/local.yaml'])
      expect(() => parseConfigText(fs.readFileSync(f, 'utf8'), f)).not.toThrow();
  });

  it('reports malformed YAML with line and column', () => {
    expect(problems('name: demo\nnodes: [\n  - x: {\n')).toEqual([
      expect.stringMatching(/^\(root\): invalid YAML at line \d+, column \d+: .+ \(hint: .+\)$/),
    ]);
  });

  it('reports a missing name', () => {
    expect(problems('target: local\n')).toEqual([
      'name: is required (hint: add "name:" (a string); Cluster name: a lowercase DNS label, 3 to 32 characters, e.g. demo; state lives in ~/.millrace/clusters/<name>/)',
    ]);
  });

  it('reports an unknown role with its path', () => {
    expect(problems(`name: demo\n${threeNodes}  - { name: extra-1, roles: [brokr] }\n`)).toEqual([
      'nodes[3].roles[0]: "brokr" is not one of kafka, spark-master, spark-worker, namenode, datanode, kms, kdc, monitor (hint: use one of kafka, spark-master, spark-worker, namenode, datanode, kms, kdc, monitor)',
    ]);
  });

  it('reports a missing namenode', () => {
    expect(
      problems('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka] }\n  - { name: hdfs-1, roles: [datanode] }\n'),
    ).toEqual(['nodes: exactly one node must have the namenode role (found 0) (hint: add "namenode" to the roles of one node)']);
  });

  it('refuses 0.0.0.0/0 as the SSH CIDR', () => {
    expect(problems('name: demo\nnetwork: { sshCidr: 0.0.0.0/0 }\n')).toEqual([
      'network.sshCidr: "0.0.0.0/0" opens the port to the whole internet (hint: use the narrowest CIDR that covers your clients, e.g. 203.0.113.7/32)',
    ]);
  });

  it('refuses ::/0 and malformed client CIDRs', () => {
    expect(problems('name: demo\nnetwork: { kafkaClientCidrs: ["::/0", 10.0.0.0/33, banana] }\n')).toEqual([
      'network.kafkaClientCidrs[0]: "::/0" opens the port to the whole internet (hint: use the narrowest CIDR that covers your clients, e.g. 203.0.113.7/32)',
      'network.kafkaClientCidrs[1]: "10.0.0.0/33" is not a valid CIDR (hint: write an address and prefix length, e.g. 203.0.113.7/32)',
      'network.kafkaClientCidrs[2]: "banana" is not a valid CIDR (hint: write an address and prefix length, e.g. 203.0.113.7/32)',
    ]);
  });

  it('reports an unknown version with the known ones', () => {
    expect(problems('name: demo\nversions: { kafka: 3.9.0 }\n')).toEqual([
      'versions.kafka: unknown kafka version "3.9.0" (hint: known versions: 4.0.0, 4.0.1, 4.1.0, 4.1.1)',
    ]);
  });

  it('reports a duplicate node name', () => {
    expect(problems(`name: demo\n${threeNodes}  - { name: kafka-1, roles: [datanode] }\n`)).toEqual([
      'nodes[3].name: duplicate node name "kafka-1" (also nodes[0]) (hint: give every node a unique name)',
    ]);
  });

  it('requires a spark-master when workers exist', () => {
    expect(
      problems('name: demo\nnodes:\n  - { name: a-1, roles: [kafka, spark-worker] }\n  - { name: b-1, roles: [namenode, datanode] }\n'),
    ).toEqual(['nodes: spark workers need exactly one spark-master (found 0) (hint: add "spark-master" to the roles of one node)']);
  });

  it('requires a kafka node and a datanode', () => {
    expect(problems('name: demo\nnodes:\n  - { name: a-1, roles: [namenode] }\n')).toEqual([
      'nodes: at least one node must have the datanode role (hint: add "datanode" to a node\'s roles)',
      'nodes: at least one node must have the kafka role (hint: add "kafka" to a node\'s roles)',
    ]);
  });

  it('names unknown keys, so typos do not pass silently', () => {
    expect(problems('name: demo\nnetwork: { sshCIDR: 1.2.3.4/32 }\n')).toEqual([
      'network: unknown key "sshCIDR" (hint: did you mean "sshCidr"?)',
    ]);
  });

  it('checks types and target names', () => {
    expect(problems('name: demo\ntarget: gcp\naws: { rootVolumeGb: big }\n')).toEqual([
      'aws.rootVolumeGb: expected a number, got a string ("big") (hint: write digits without quotes, e.g. 30; Root volume size in GiB, 8 to 16384)',
      'target: "gcp" is not one of aws, static, local (hint: use one of aws, static, local)',
    ]);
  });

  it('requires an address for static nodes and loopback addresses for local ones', () => {
    expect(
      problems(
        'name: demo\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka] }\n  - { name: hdfs-1, roles: [namenode, datanode], address: 10.0.0.5 }\n',
      ),
    ).toEqual(['nodes[0].address: a static node needs an address (hint: set the host name or IP that SSH reaches)']);
    expect(problems('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], address: 192.0.2.1 }\n')).toEqual([
      'nodes[0].address: "192.0.2.1" is not a loopback address (hint: local nodes use addresses in 127.0.0.0/8, e.g. 127.0.0.11)',
    ]);
  });

  it('checks publicAddress: not on aws (EC2 sets it), loopback for local, different from address', () => {
    expect(problems('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], publicAddress: 198.51.100.1 }\n')).toEqual([
      'nodes[0].publicAddress: an aws node gets its public address from EC2 (hint: remove publicAddress)',
    ]);
    expect(problems('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], publicAddress: 198.51.100.1 }\n')).toEqual([
      'nodes[0].publicAddress: "198.51.100.1" is not a loopback address (hint: local nodes use addresses in 127.0.0.0/8)',
    ]);
    expect(problems('name: demo\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], address: 10.0.0.5, publicAddress: 10.0.0.5 }\n')).toEqual([
      'nodes[0].publicAddress: is the same as address (hint: remove publicAddress, or set the address clients outside reach)',
    ]);
    expect(problems('name: demo\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], address: 10.0.0.5, publicAddress: "bad address!" }\n')).toEqual([
      'nodes[0].publicAddress: "bad address!" is not an IPv4 address or a host name (hint: write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org)',
    ]);
    expect(parseConfigText('name: demo\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka, namenode, datanode], address: 10.0.0.5, publicAddress: 203.0.113.10 }\n').nodes[0]?.publicAddress).toBe('203.0.113.10');
  });

  it('reports every problem at once', () => {
    const all = problems('name: Demo!\nnetwork: { sshCidr: 0.0.0.0/0 }\nversions: { spark: 2.4.8 }\n');
    expect(all).toHaveLength(3);
    expect(all.map((p) => p.split(':')[0])).toEqual(['name', 'network.sshCidr', 'versions.spark']);
  });

  it('needs a subnet with an existing VPC, and a real SSH CIDR on aws', () => {
    expect(problems('name: demo\ntarget: aws\naws: { vpcId: vpc-0abc }\n')).toEqual([
      'aws.subnetId: an existing vpcId needs a subnetId too (hint: set aws.subnetId to a public subnet in that VPC)',
      "network.sshCidr: the aws target needs the operator's public CIDR for SSH (hint: set network.sshCidr to your IP, e.g. 203.0.113.7/32)",
    ]);
  });
});
