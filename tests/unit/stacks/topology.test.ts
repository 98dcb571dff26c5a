import { Instance } from '@cdktf/provider-aws/lib/instance';
import { Testing } from 'cdktf';
import { ROLE_PORTS } from '../../../lib/roles';
import { actualIngress, expectedIngress, keyText } from './ingress-expectations';
import { awsConfig, Json, ref, resources, sgRef, synth } from './stack-fixture';

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

  it('puts all three brokers in the kafka group', () => {
    const inKafka = Object.entries(instances).filter(([, i]) => (i.vpc_security_group_ids as string[]).includes(sgRef('kafka')));
    expect(inKafka.map(([n]) => n).sort()).toEqual(['node-broker-1', 'node-broker-2', 'node-broker-3']);
    expect(instances['node-broker-3'].vpc_security_group_ids).toEqual([sgRef('kafka'), sgRef('spark-worker')]);
  });

  it('has exactly the ingress rules ROLE_PORTS declares for these roles', () => {
    expect(actualIngress(doc).map(keyText).sort()).toEqual(expectedIngress(config).map(keyText).sort());
  });

  it('opens the KRaft controller port only to the kafka group', () => {
    const controller = ROLE_PORTS.kafka.find((p) => p.name === 'kafka-controller')!;
    expect(rules.filter((r) => r.from_port === controller.port).map((r) => r.referenced_security_group_id)).toEqual([sgRef('kafka')]);
  });

  it('opens the Spark application port range only to Spark groups', () => {
    const app = ROLE_PORTS['spark-worker'].find((p) => p.toPort !== undefined)!;
    const appRules = rules.filter((r) => r.from_port === app.port);
    expect(appRules.map((r) => [r.to_port, r.referenced_security_group_id]).sort()).toEqual(
      [
        [app.toPort, sgRef('spark-master')],
        [app.toPort, sgRef('spark-worker')],
      ].sort(),
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
      roles: ['spark-master', 'namenode', 'kms'],
    });
  });
});
