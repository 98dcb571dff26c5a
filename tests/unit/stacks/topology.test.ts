import { Instance } from '@cdktf/provider-aws/lib/instance';
import { Testing } from 'cdktf';
import { UsageError } from '../../../lib/errors';
import { ROLE_PORTS, ROLES } from '../../../lib/roles';
import { AWS_LIMITS, planIngress } from '../../../stacks/ingress-plan';
import { actualIngress, expectedIngress, groupLabels, keyText } from './ingress-expectations';
import { awsConfig, Json, ref, resources, synth } from './stack-fixture';

Testing.setupJest();

// Five nodes, three Kafka brokers, roles spread unevenly: not the design's default shape.
const config = awsConfig(`nodes:
  - { name: broker-1, roles: [kafka], instanceType: m6i.large }
  - { name: broker-2, roles: [kafka], instanceType: m6i.large }
  - { name: broker-3, roles: [kafka, spark-worker] }
  - { name: master-1, roles: [spark-master, namenode, kms] }
  - { name: data-1, roles: [datanode, spark-worker], instanceType: r6i.xlarge }
`);
const { text, doc } = synth(config);
const instances = resources(doc, 'aws_instance');
const rules = Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
const labels = groupLabels(doc);
const sgRef = (roles: string): string => [...labels].find(([, l]) => l === roles)?.[0] ?? `no group ${roles}`;

describe('a non-default topology: 5 nodes, 3 brokers', () => {
  it('has one instance per node with its own type, IMDSv2 and encrypted disks', () => {
    expect(Object.keys(instances).sort()).toEqual(['node-broker-1', 'node-broker-2', 'node-broker-3', 'node-data-1', 'node-master-1']);
    for (const node of config.nodes) {
      const instance = instances[`node-${node.name}`];
      expect(instance.instance_type).toBe(node.instanceType);
      expect(instance.metadata_options.http_tokens).toBe('required');
      expect(instance.root_block_device.encrypted).toBe(true);
      expect(instance.ebs_block_device[0].encrypted).toBe(true);
      expect(instance.tags['millrace:role']).toBe(node.roles.join('+'));
    }
    expect(text).toHaveResourceWithProperties(Instance, { instance_type: 'r6i.xlarge', tags: expect.objectContaining({ Name: 'demo-data-1' }) });
  });

  it('puts each node in the one group of its role combination; the two Kafka-only brokers share one', () => {
    expect([...labels.values()].sort()).toEqual(['kafka', 'kafka+spark-worker', 'spark-master+namenode+kms+monitor', 'spark-worker+datanode'].sort());
    const inKafka = Object.entries(instances).filter(([, i]) => (i.vpc_security_group_ids as string[]).includes(sgRef('kafka')));
    expect(inKafka.map(([n]) => n).sort()).toEqual(['node-broker-1', 'node-broker-2']);
    expect(instances['node-broker-3'].vpc_security_group_ids).toEqual([sgRef('kafka+spark-worker')]);
  });

  it('has exactly the ingress rules the flow table allows for these roles', () => {
    expect(actualIngress(doc).map(keyText).sort()).toEqual(expectedIngress(config).map(keyText).sort());
  });

  it('opens the KRaft controller port only between groups with Kafka', () => {
    const controller = ROLE_PORTS.kafka.find((p) => p.name === 'kafka-controller')!;
    const mine = rules.filter((r) => r.from_port === controller.port).map((r) => `${labels.get(r.security_group_id)} from ${labels.get(r.referenced_security_group_id)}`);
    expect(mine.sort()).toEqual(['kafka from kafka', 'kafka from kafka+spark-worker', 'kafka+spark-worker from kafka', 'kafka+spark-worker from kafka+spark-worker'].sort());
  });

  it("opens the Spark application RPC range on the driver's node (the master) to the workers, and between workers", () => {
    const app = ROLE_PORTS['spark-worker'].find((p) => p.name === 'spark-app')!;
    const appRules = rules.filter((r) => r.from_port === app.port).map((r) => `${labels.get(r.security_group_id)} ${r.to_port} from ${labels.get(r.referenced_security_group_id)}`);
    expect(appRules.sort()).toEqual(
      [
        'spark-master+namenode+kms+monitor 7139 from kafka+spark-worker',
        'spark-master+namenode+kms+monitor 7139 from spark-worker+datanode',
        'kafka+spark-worker 7139 from spark-master+namenode+kms+monitor',
        'kafka+spark-worker 7139 from kafka+spark-worker',
        'kafka+spark-worker 7139 from spark-worker+datanode',
        'spark-worker+datanode 7139 from spark-master+namenode+kms+monitor',
        'spark-worker+datanode 7139 from kafka+spark-worker',
        'spark-worker+datanode 7139 from spark-worker+datanode',
      ].sort(),
    );
  });

  it('lets the Kafka-only brokers reach nothing but Kafka', () => {
    expect(rules.filter((r) => r.referenced_security_group_id === sgRef('kafka')).map((r) => `${labels.get(r.security_group_id)} ${r.from_port}`).sort()).toEqual(
      ['kafka 9093', 'kafka 9094', 'kafka+spark-worker 9093', 'kafka+spark-worker 9094'].sort(),
    );
  });

  it('opens nothing to the whole internet', () => {
    for (const r of rules) expect(['0.0.0.0/0', '::/0']).not.toContain(r.cidr_ipv4 ?? r.cidr_ipv6);
  });

  it('outputs all five nodes', () => {
    expect(Object.keys(doc.output.nodes.value).sort()).toEqual(['broker-1', 'broker-2', 'broker-3', 'data-1', 'master-1']);
    expect(doc.output.nodes.value['master-1']).toEqual({
      id: ref('aws_instance', 'node-master-1'),
      private_ip: ref('aws_instance', 'node-master-1', 'private_ip'),
      public_ip: ref('aws_instance', 'node-master-1', 'public_ip'),
      roles: ['spark-master', 'namenode', 'kms', 'monitor'],
    });
  });
});

// AWS allows 5 security groups per network interface and 60 inbound rules per group by default;
// the emulator checks neither, so these do.
const QUOTA_CASES: [string, string][] = [
  ['one node with every role (kdc with Kerberos)', `kerberos: { enabled: true }\nnodes:\n  - { name: solo, roles: [${ROLES.join(', ')}] }\n`],
  ['the default three nodes with Kerberos (kdc placed on the namenode\'s node)', 'kerberos: { enabled: true }\n'],
  ['the default three nodes', ''],
  [
    'five nodes, roles spread unevenly',
    `nodes:
  - { name: broker-1, roles: [kafka] }
  - { name: broker-2, roles: [kafka, spark-worker, datanode] }
  - { name: broker-3, roles: [kafka, spark-worker] }
  - { name: master-1, roles: [spark-master, namenode, kms, spark-worker] }
  - { name: data-1, roles: [datanode, spark-worker, kafka] }
`,
  ],
];

describe.each(QUOTA_CASES)('AWS quotas: %s', (_what, nodes) => {
  const config = awsConfig(nodes);
  const { doc } = synth(config);
  const instances = Object.values(resources(doc, 'aws_instance')) as Json[];
  const rules = Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
  const egress = Object.values(resources(doc, 'aws_vpc_security_group_egress_rule')) as Json[];

  it(`gives every node one security group (at most ${AWS_LIMITS.groupsPerInterface})`, () => {
    expect(instances).toHaveLength(config.nodes.length);
    for (const i of instances) expect(i.vpc_security_group_ids).toHaveLength(1);
  });

  it(`keeps every group within ${AWS_LIMITS.rulesPerGroup} inbound and outbound rules`, () => {
    for (const sg of Object.keys(resources(doc, 'aws_security_group'))) {
      const ref = `\${aws_security_group.${sg}.id}`;
      const inbound = rules.filter((r) => r.security_group_id === ref).length;
      const outbound = egress.filter((r) => r.security_group_id === ref).length;
      expect([sg, inbound > 0 && inbound <= AWS_LIMITS.rulesPerGroup, outbound > 0 && outbound <= AWS_LIMITS.rulesPerGroup]).toEqual([sg, true, true]);
    }
  });

  it('still has exactly the rules the flow table allows', () => {
    expect(actualIngress(doc).map(keyText).sort()).toEqual(expectedIngress(config).map(keyText).sort());
  });
});

describe('AWS quotas: a group that would need too many rules', () => {
  it('is refused with what, where and how to fix it, and a usage exit code', () => {
    const cidrs = Array.from({ length: AWS_LIMITS.rulesPerGroup }, (_, i) => `198.18.${i}.0/24`);
    const config = awsConfig('', `name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n  kafkaClientCidrs: [${cidrs.join(', ')}]\n`);
    let error: unknown;
    try {
      planIngress(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toMatch(/the security group of the kafka nodes \(kafka-1\) would need \d+ inbound rules; AWS allows 60 per group/);
    expect((error as UsageError).hint).toMatch(/fewer network\.kafkaClientCidrs/);
    // Control: one CIDR fewer than the limit allows fits.
    expect(() => planIngress(awsConfig('', `name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n  kafkaClientCidrs: [${cidrs.slice(0, 40).join(', ')}]\n`))).not.toThrow();
  });
});
