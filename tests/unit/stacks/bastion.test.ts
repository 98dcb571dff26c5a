/**
 * aws.bastion: only the kafka nodes (the EXTERNAL listener) and the bastion get a public IP; the
 * other nodes sit in a private subnet behind a NAT gateway, and SSH reaches every node only from
 * the bastion's security group. Without the option the stack is as before (the control cases).
 */
import { parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { BASTION_PUBLIC_IP_REASON, publicIpReasons } from '../../../stacks/ingress-plan';
import { renderUserData } from '../../../templates/cloud-init';
import { awsConfig, Json, PUBLIC_KEY, ref, resources, synth } from './stack-fixture';

const BASTION = 'aws:\n  bastion: true\n';
const SSH_CIDR = '198.51.100.7/32';
const KMS_ARN = ref('aws_kms_key', 'kms-key', 'arn');
const BASTION_SG = ref('aws_security_group', 'sg-bastion');

const rulesOf = (doc: Json, type: string, sg: string): Json[] => Object.values(resources(doc, type)).filter((r: Json) => r.security_group_id === sg);

describe('aws.bastion: true (default three-node topology)', () => {
  const config = awsConfig(BASTION);
  const { doc } = synth(config);
  const instances = resources(doc, 'aws_instance');

  it('adds one bastion instance: public IP in the public subnet, IMDSv2, encrypted root volume, the nodes\' user-data and key, its own group only', () => {
    expect(Object.keys(instances).sort()).toEqual(['bastion-host', 'node-hdfs-1', 'node-kafka-1', 'node-spark-1']);
    const b = instances['bastion-host'];
    expect(b).toMatchObject({
      instance_type: 't3.micro',
      subnet_id: ref('aws_subnet', 'subnet'),
      associate_public_ip_address: true,
      vpc_security_group_ids: [BASTION_SG],
      key_name: ref('aws_key_pair', 'key-pair', 'key_name'),
      user_data: renderUserData('demo', 'admin', PUBLIC_KEY),
      metadata_options: { http_tokens: 'required', http_endpoint: 'enabled', http_put_response_hop_limit: 1 },
      root_block_device: { encrypted: true, kms_key_id: KMS_ARN, volume_type: 'gp3', delete_on_termination: true },
      tags: { 'millrace:cluster': 'demo', 'millrace:role': 'bastion', 'managed-by': 'millrace', Name: 'demo-bastion' },
    });
    expect(b.ebs_block_device).toBeUndefined();
    expect(instances['node-kafka-1'].user_data).toBe(b.user_data);
    expect(synth(awsConfig('aws:\n  bastion: true\n  bastionInstanceType: t3.nano\n')).doc.resource.aws_instance['bastion-host'].instance_type).toBe('t3.nano');
  });

  it('gives a public IP only to the kafka node; the others go to the private subnet without one', () => {
    const placement = Object.fromEntries(
      config.nodes.map((n) => [n.name, [instances[`node-${n.name}`].associate_public_ip_address, instances[`node-${n.name}`].subnet_id]]),
    );
    expect(placement).toEqual({
      'kafka-1': [true, ref('aws_subnet', 'subnet')],
      'spark-1': [false, ref('aws_subnet', 'private-subnet')],
      'hdfs-1': [false, ref('aws_subnet', 'private-subnet')],
    });
    expect(publicIpReasons(['kafka'], { bastion: true })).toEqual(['the Kafka EXTERNAL listener']);
    expect(publicIpReasons(['namenode', 'datanode'], { bastion: true })).toEqual([]);
  });

  it('makes a private subnet routed to the internet through a NAT gateway in the public subnet', () => {
    expect(resources(doc, 'aws_subnet')['private-subnet']).toMatchObject({ cidr_block: '10.42.2.0/24', map_public_ip_on_launch: false, vpc_id: ref('aws_vpc', 'vpc') });
    expect(resources(doc, 'aws_eip')['nat-eip']).toMatchObject({ domain: 'vpc' });
    expect(resources(doc, 'aws_nat_gateway')['nat-gateway']).toMatchObject({ subnet_id: ref('aws_subnet', 'subnet'), allocation_id: ref('aws_eip', 'nat-eip', 'allocation_id') });
    expect(resources(doc, 'aws_route_table')['private-route-table'].route).toEqual([
      expect.objectContaining({ cidr_block: '0.0.0.0/0', nat_gateway_id: ref('aws_nat_gateway', 'nat-gateway') }),
    ]);
    expect(resources(doc, 'aws_route_table_association')['private-route-table-association']).toMatchObject({
      subnet_id: ref('aws_subnet', 'private-subnet'),
      route_table_id: ref('aws_route_table', 'private-route-table'),
    });
    // The public subnet still routes through the internet gateway.
    expect(resources(doc, 'aws_route_table')['route-table'].route).toEqual([expect.objectContaining({ gateway_id: ref('aws_internet_gateway', 'igw') })]);
    const custom = awsConfig('aws:\n  bastion: true\n  privateSubnetCidr: 10.42.9.0/24\n');
    expect(resources(synth(custom).doc, 'aws_subnet')['private-subnet'].cidr_block).toBe('10.42.9.0/24');
  });

  it('lets SSH into every node only from the bastion group, never from a CIDR', () => {
    const ingress = Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
    const nodeSsh = ingress.filter((r) => r.from_port <= 22 && r.to_port >= 22 && r.security_group_id !== BASTION_SG);
    const nodeGroups = Object.keys(resources(doc, 'aws_security_group')).filter((k) => k !== 'sg-bastion');
    expect(nodeSsh.map((r) => r.security_group_id).sort()).toEqual(nodeGroups.map((k) => ref('aws_security_group', k)).sort());
    for (const r of nodeSsh) {
      expect(r.referenced_security_group_id).toBe(BASTION_SG);
      expect([r.cidr_ipv4, r.cidr_ipv6]).toEqual([undefined, undefined]);
    }
  });

  it('keeps the kafka node reachable by clients and the operator on EXTERNAL, and opens no operator port on a private node', () => {
    const ingress = Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
    const fromOperator = ingress.filter((r) => r.cidr_ipv4 === SSH_CIDR && r.security_group_id !== BASTION_SG);
    expect(fromOperator.length).toBeGreaterThan(0);
    for (const r of fromOperator) expect(r.security_group_id).toBe(ref('aws_security_group', 'sg-kafka'));
    expect(fromOperator.map((r) => r.from_port)).toEqual([9095]);
    // Control: without a bastion the operator reaches the web UIs of the private-to-be nodes.
    const before = Object.values(resources(synth(awsConfig()).doc, 'aws_vpc_security_group_ingress_rule')) as Json[];
    expect(before.filter((r) => r.cidr_ipv4 === SSH_CIDR && r.security_group_id === ref('aws_security_group', 'sg-namenode_datanode_kms')).length).toBeGreaterThan(1);
  });

  it("gives the bastion's group SSH in from network.sshCidr and SSH out to the VPC, nothing else", () => {
    expect(resources(doc, 'aws_security_group')['sg-bastion']).toMatchObject({ name: 'millrace-demo-bastion', vpc_id: ref('aws_vpc', 'vpc') });
    expect(rulesOf(doc, 'aws_vpc_security_group_ingress_rule', BASTION_SG).map((r) => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4, r.referenced_security_group_id])).toEqual([
      ['tcp', 22, 22, SSH_CIDR, undefined],
    ]);
    expect(rulesOf(doc, 'aws_vpc_security_group_egress_rule', BASTION_SG).map((r) => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4])).toEqual([
      ['tcp', 22, 22, '10.42.0.0/16'],
    ]);
  });

  it("outputs the bastion's public IP, and the private subnet", () => {
    expect(doc.output.bastion.value).toEqual({
      id: ref('aws_instance', 'bastion-host'),
      public_ip: ref('aws_instance', 'bastion-host', 'public_ip'),
      private_ip: ref('aws_instance', 'bastion-host', 'private_ip'),
    });
    expect(doc.output.bastion.description).toContain(BASTION_PUBLIC_IP_REASON);
    expect(doc.output.private_subnet_id.value).toBe(ref('aws_subnet', 'private-subnet'));
  });

  it("tags every new resource with the cluster's tags", () => {
    for (const type of ['aws_instance', 'aws_subnet', 'aws_eip', 'aws_nat_gateway', 'aws_route_table', 'aws_security_group', 'aws_vpc_security_group_ingress_rule', 'aws_vpc_security_group_egress_rule'])
      for (const [name, r] of Object.entries(resources(doc, type)) as [string, Json][])
        expect([type, name, r.tags]).toEqual([type, name, expect.objectContaining({ 'millrace:cluster': 'demo', 'managed-by': 'millrace' })]);
  });
});

describe('aws.bastion: false (the default): the stack is unchanged', () => {
  const { doc } = synth(awsConfig());

  it('has no bastion, private subnet, NAT gateway or bastion output, and every node keeps its public IP and SSH from the operator', () => {
    expect(Object.keys(resources(doc, 'aws_instance')).sort()).toEqual(['node-hdfs-1', 'node-kafka-1', 'node-spark-1']);
    expect(Object.keys(resources(doc, 'aws_subnet'))).toEqual(['subnet']);
    expect(resources(doc, 'aws_nat_gateway')).toEqual({});
    expect(resources(doc, 'aws_eip')).toEqual({});
    expect(resources(doc, 'aws_security_group')['sg-bastion']).toBeUndefined();
    expect(doc.output.bastion).toBeUndefined();
    for (const i of Object.values(resources(doc, 'aws_instance')) as Json[]) expect([i.associate_public_ip_address, i.subnet_id]).toEqual([true, ref('aws_subnet', 'subnet')]);
    const ssh = (Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')) as Json[]).filter((r) => r.from_port === 22);
    expect(ssh.length).toBe(3);
    for (const r of ssh) expect([r.cidr_ipv4, r.referenced_security_group_id]).toEqual([SSH_CIDR, undefined]);
  });
});

describe('aws.bastion with other topologies', () => {
  it('a one-node, all-roles cluster: the node keeps one group (and a public IP, for kafka), the bastion has its own', () => {
    const { doc } = synth(awsConfig(`${BASTION}nodes:\n  - { name: solo-1, roles: [kafka, spark-master, spark-worker, namenode, datanode, kms] }\n`));
    const instances = resources(doc, 'aws_instance');
    expect(Object.keys(instances).sort()).toEqual(['bastion-host', 'node-solo-1']);
    for (const i of Object.values(instances) as Json[]) expect(i.vpc_security_group_ids).toHaveLength(1);
    expect(instances['node-solo-1'].associate_public_ip_address).toBe(true);
    expect(instances['node-solo-1'].subnet_id).toBe(ref('aws_subnet', 'subnet'));
  });

  it('an existing VPC needs aws.privateSubnetId, and the private nodes go there (no NAT gateway made)', () => {
    const existing = 'aws:\n  bastion: true\n  vpcId: vpc-0123abcd\n  subnetId: subnet-0aaa1111\n';
    let error: unknown;
    try {
      awsConfig(existing);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).issues).toEqual([expect.objectContaining({ path: 'aws.privateSubnetId', hint: expect.stringContaining('NAT gateway') })]);

    const { doc } = synth(awsConfig(`${existing}  privateSubnetId: subnet-0bbb2222\n`));
    const instances = resources(doc, 'aws_instance');
    expect([instances['node-kafka-1'].subnet_id, instances['node-spark-1'].subnet_id, instances['bastion-host'].subnet_id]).toEqual([
      'subnet-0aaa1111',
      'subnet-0bbb2222',
      'subnet-0aaa1111',
    ]);
    expect(resources(doc, 'aws_nat_gateway')).toEqual({});
    expect(resources(doc, 'aws_subnet')).toEqual({});
  });

  it('refuses a private subnet outside the VPC or overlapping the public one, and privateSubnetId without a bastion', () => {
    const issues = (yaml: string): string[] => {
      try {
        awsConfig(yaml);
      } catch (e) {
        if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
        throw e;
      }
      return [];
    };
    expect(issues('aws:\n  bastion: true\n  privateSubnetCidr: 10.9.2.0/24\n')).toEqual(['aws.privateSubnetCidr: "10.9.2.0/24" is not inside aws.vpcCidr 10.42.0.0/16']);
    expect(issues('aws:\n  bastion: true\n  privateSubnetCidr: 10.42.1.0/25\n')).toEqual(['aws.privateSubnetCidr: "10.42.1.0/25" overlaps aws.subnetCidr 10.42.1.0/24']);
    expect(issues('aws:\n  vpcId: vpc-0123abcd\n  subnetId: subnet-0aaa1111\n  privateSubnetId: subnet-0bbb2222\n')).toEqual([
      'aws.privateSubnetId: is only used with aws.bastion: true and an existing aws.vpcId',
    ]);
    // Control: the same CIDR that is wrong with a bastion is ignored without one (no private subnet is made).
    expect(issues('aws:\n  privateSubnetCidr: 10.9.2.0/24\n')).toEqual([]);
  });

  it('ssh.jumpHost is for the static target; aws uses aws.bastion', () => {
    expect(() => parseConfigText(`name: demo\ntarget: aws\nnetwork:\n  sshCidr: ${SSH_CIDR}\nssh:\n  jumpHost: { address: 198.51.100.20 }\n`, 'x.yaml')).toThrow(
      /ssh\.jumpHost: only the static target takes a jump host.*aws\.bastion/,
    );
  });
});
