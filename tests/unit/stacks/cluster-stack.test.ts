import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { KeyPair } from '@cdktf/provider-aws/lib/key-pair';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { Testing } from 'cdktf';
import { ebsOptimizable } from '../../../stacks/cluster-stack';
import { publicIpReasons } from '../../../stacks/ingress-plan';
import { EBS_USE_ACTIONS, KEY_ADMIN_ACTIONS } from '../../../stacks/kms-policy';
import { renderUserData } from '../../../templates/cloud-init';
import { awsConfig, PUBLIC_KEY, ref, resources, STATE_DIR, synth } from './stack-fixture';

Testing.setupJest();

const KMS_ARN = ref('aws_kms_key', 'kms-key', 'arn');
const TAGGED = { 'millrace:cluster': 'demo', 'managed-by': 'millrace' };
/** Resource types the AWS API gives no tags; everything else must carry millrace's tags. */
const UNTAGGABLE = new Set(['aws_route_table_association', 'aws_kms_alias']);

describe('cluster stack: instances, disks and keys (default topology)', () => {
  const config = awsConfig();
  const { text, doc } = synth(config);
  const instances = resources(doc, 'aws_instance');

  it('has exactly one instance per configured node, with its instance type', () => {
    expect(Object.keys(instances).sort()).toEqual(['node-hdfs-1', 'node-kafka-1', 'node-spark-1']);
    for (const node of config.nodes)
      expect(text).toHaveResourceWithProperties(Instance, { tags: expect.objectContaining({ Name: `demo-${node.name}` }), instance_type: node.instanceType });
  });

  it('requires IMDSv2 on every instance', () => {
    for (const [name, instance] of Object.entries(instances)) expect([name, instance.metadata_options.http_tokens]).toEqual([name, 'required']);
    expect(text).toHaveResourceWithProperties(Instance, { metadata_options: expect.objectContaining({ http_tokens: 'required' }) });
  });

  it('encrypts the gp3 root and data volumes with the cluster key', () => {
    for (const instance of Object.values(instances)) {
      expect(instance.root_block_device).toEqual(
        expect.objectContaining({ encrypted: true, kms_key_id: KMS_ARN, volume_type: 'gp3', volume_size: config.aws.rootVolumeGb }),
      );
      expect(instance.ebs_block_device).toEqual([
        expect.objectContaining({ encrypted: true, kms_key_id: KMS_ARN, volume_type: 'gp3', volume_size: config.aws.dataVolumeGb, device_name: '/dev/sdf' }),
      ]);
    }
  });

  it('uses a customer-managed KMS key with rotation, and an alias for it', () => {
    expect(Object.keys(resources(doc, 'aws_kms_key'))).toEqual(['kms-key']);
    expect(text).toHaveResourceWithProperties(KmsKey, { enable_key_rotation: true });
    expect(text).toHaveResourceWithProperties(KmsAlias, { name: 'alias/millrace-demo-ebs', target_key_id: ref('aws_kms_key', 'kms-key', 'key_id') });
  });

  it('makes the key pair from the operator public key, and every node uses it', () => {
    expect(text).toHaveResourceWithProperties(KeyPair, { public_key: PUBLIC_KEY, key_name: 'millrace-demo' });
    for (const instance of Object.values(instances)) expect(instance.key_name).toBe(ref('aws_key_pair', 'key-pair', 'key_name'));
  });

  it('without aws.bastion, puts every node in the public subnet with a public IP (SSH from the operator), each in the one group of its roles', () => {
    for (const node of config.nodes) {
      const instance = instances[`node-${node.name}`];
      expect(instance.subnet_id).toBe(ref('aws_subnet', 'subnet'));
      expect(instance.associate_public_ip_address).toBe(true);
      expect(instance.vpc_security_group_ids).toEqual([ref('aws_security_group', `sg-${node.roles.join('_')}`)]);
      expect(instance.ebs_optimized).toBe(true);
    }
    expect(publicIpReasons(['kafka'])).toEqual(['ssh from the operator', 'the Kafka EXTERNAL listener']);
    expect(publicIpReasons(['namenode'])).toEqual(['ssh from the operator']);
  });

  it('asks for EBS optimization only where the instance type has it', () => {
    expect(['t3.large', 'm7i.2xlarge', 'r6i.xlarge', 'c5.large'].map(ebsOptimizable)).toEqual([true, true, true, true]);
    expect(['t2.micro', 'm1.small', 'c1.medium'].map(ebsOptimizable)).toEqual([false, false, false]);
    const { doc } = synth(awsConfig('aws:\n  instanceType: t2.large\n'));
    for (const i of Object.values(resources(doc, 'aws_instance'))) expect(i.ebs_optimized).toBe(false);
  });

  it("gives the key a policy: the account administers it, and uses it only through EC2 in the cluster's region", () => {
    const policy = JSON.parse(resources(doc, 'aws_kms_key')['kms-key'].policy);
    const account = '${data.aws_caller_identity.account.account_id}';
    const root = `arn:\${data.aws_partition.partition.partition}:iam::${account}:root`;
    expect(policy.Statement).toEqual([
      { Sid: 'AccountAdministersTheKey', Effect: 'Allow', Principal: { AWS: root }, Action: KEY_ADMIN_ACTIONS, Resource: '*' },
      {
        Sid: 'AccountUsesItOnlyThroughEc2',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: EBS_USE_ACTIONS,
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com', 'kms:CallerAccount': account } },
      },
    ]);
    // Administering is not using: no statement but the EC2 one grants Decrypt or GenerateDataKey.
    expect(KEY_ADMIN_ACTIONS.filter((a) => /Decrypt|Encrypt|GenerateDataKey|ReEncrypt|\*$/.test(a) && !/^kms:(Create|Describe|Enable|List|Put|Update|Revoke|Disable|Get|Delete)\*$/.test(a))).toEqual([]);
    expect(KEY_ADMIN_ACTIONS.some((a) => a === 'kms:*' || a === 'kms:Decrypt')).toBe(false);
    expect(doc.data.aws_caller_identity.account).toEqual({});
  });

  it('has no flow logs unless asked for', () => {
    for (const type of ['aws_flow_log', 'aws_cloudwatch_log_group', 'aws_iam_role', 'aws_iam_role_policy']) expect([type, Object.keys(resources(doc, type))]).toEqual([type, []]);
  });

  it('finds the newest Debian 12 image from Debian, the family the local target tests', () => {
    expect(text).toHaveDataSourceWithProperties(DataAwsAmi, {
      most_recent: true,
      owners: ['136693071363'],
      filter: expect.arrayContaining([{ name: 'name', values: ['debian-12-amd64-*'] }]),
    });
    for (const instance of Object.values(instances)) expect(instance.ami).toBe('${data.aws_ami.ami.id}');
  });

  it('tags every taggable resource with the cluster, its role and managed-by', () => {
    const roleTags = new Map<string, string>();
    for (const [type, byName] of Object.entries(doc.resource as Record<string, Record<string, { tags?: Record<string, string> }>>)) {
      for (const [name, resource] of Object.entries(byName)) {
        if (UNTAGGABLE.has(type)) continue;
        expect([type, name, resource.tags]).toEqual([type, name, expect.objectContaining({ ...TAGGED, 'millrace:role': expect.any(String) })]);
        roleTags.set(`${type}.${name}`, resource.tags!['millrace:role']!);
      }
    }
    expect(roleTags.get('aws_instance.node-hdfs-1')).toBe('namenode+datanode+kms');
    expect(roleTags.get('aws_security_group.sg-kafka')).toBe('kafka');
    expect(roleTags.get('aws_security_group.sg-namenode_datanode_kms')).toBe('namenode+datanode+kms');
    expect(roleTags.get('aws_vpc.vpc')).toBe('network');
    expect(roleTags.get('aws_kms_key.kms-key')).toBe('shared');
    for (const instance of Object.values(instances)) {
      expect(instance.root_block_device.tags).toEqual(expect.objectContaining({ ...TAGGED, 'millrace:role': instance.tags['millrace:role'] }));
      expect(instance.ebs_block_device[0].tags).toEqual(expect.objectContaining({ ...TAGGED, 'millrace:role': instance.tags['millrace:role'] }));
    }
    expect(text).toHaveProviderWithProperties(AwsProvider, { region: 'us-east-1', default_tags: [{ tags: TAGGED }] });
  });

  it('outputs id, private IP, public IP and roles for each node', () => {
    expect(doc.output.nodes.value).toEqual(
      Object.fromEntries(
        config.nodes.map((n) => [
          n.name,
          {
            id: ref('aws_instance', `node-${n.name}`),
            private_ip: ref('aws_instance', `node-${n.name}`, 'private_ip'),
            public_ip: ref('aws_instance', `node-${n.name}`, 'public_ip'),
            roles: n.roles,
          },
        ]),
      ),
    );
  });

  it('pins the AWS provider by its fully-qualified source, with versions for Terraform and the provider', () => {
    expect(doc.terraform.required_providers).toEqual({
      aws: { source: 'registry.terraform.io/hashicorp/aws', version: expect.stringMatching(/^>= \d+\.\d+\.\d+, < \d+\.\d+\.\d+$/) },
    });
    expect(doc.terraform.required_version).toBe('>= 1.6.0');
  });

  it('keeps state in a local backend in the cluster state directory', () => {
    expect(doc.terraform.backend).toEqual({ local: { path: `${STATE_DIR}/terraform.tfstate` } });
  });

  it('creates a VPC with a public subnet, an internet gateway and a default route', () => {
    expect(text).toHaveResourceWithProperties(Vpc, { cidr_block: '10.42.0.0/16', enable_dns_hostnames: true });
    expect(text).toHaveResourceWithProperties(Subnet, { cidr_block: '10.42.1.0/24', vpc_id: ref('aws_vpc', 'vpc') });
    expect(Object.values(resources(doc, 'aws_route_table'))).toEqual([
      expect.objectContaining({ route: [expect.objectContaining({ cidr_block: '0.0.0.0/0', gateway_id: ref('aws_internet_gateway', 'igw') })] }),
    ]);
    expect(resources(doc, 'aws_route_table_association')['route-table-association']).toEqual(
      expect.objectContaining({ subnet_id: ref('aws_subnet', 'subnet') }),
    );
    // The VPC's default group is emptied, so it grants nothing.
    const defaultSg = resources(doc, 'aws_default_security_group')['vpc-default-sg'];
    expect(defaultSg.ingress).toBeUndefined();
    expect(defaultSg.egress).toBeUndefined();
  });

  it('has no secrets: only the public half of the key', () => {
    // The user-data talks about passwords (there are none); it is checked on its own.
    const userData = (Object.values(instances) as { user_data: string }[]).map((i) => i.user_data);
    expect(userData.join("\n")).not.toMatch(/PRIVATE KEY|aws_secret_access_key|\b(passwd|plain_text_passwd|hashed_passwd|chpasswd):/i);
    const rest = JSON.stringify({ ...doc, resource: { ...doc.resource, aws_instance: Object.fromEntries(Object.entries(instances).map(([k, v]) => [k, { ...(v as object), user_data: '' }])) } });
    expect(rest).not.toMatch(/PRIVATE KEY|aws_secret_access_key|password/i);
  });

  it('gives every instance the same cloud-init user-data (templates/cloud-init), and ignores later changes to it', () => {
    const all = Object.values(instances) as { user_data: string; lifecycle: { ignore_changes: string[] } }[];
    expect(new Set(all.map((i) => i.user_data)).size).toBe(1);
    expect(all[0]!.user_data).toBe(renderUserData(config.name, 'admin', PUBLIC_KEY));
    for (const i of all) expect(i.lifecycle.ignore_changes).toEqual(['ami', 'user_data']);
  });
});

describe('cluster stack: configuration variants', () => {
  it('uses the S3 backend from the config', () => {
    const { doc } = synth(
      awsConfig('aws:\n  region: eu-west-1\n  state: { backend: s3, bucket: acme-tfstate, key: clusters/demo.tfstate, dynamodbTable: tf-locks }\n'),
    );
    expect(doc.terraform.backend).toEqual({
      s3: { bucket: 'acme-tfstate', key: 'clusters/demo.tfstate', region: 'eu-west-1', dynamodb_table: 'tf-locks', encrypt: true },
    });
  });

  it('uses an existing VPC and subnet without creating any network resources', () => {
    const { text, doc } = synth(awsConfig('aws:\n  vpcId: vpc-0abc123\n  subnetId: subnet-0def456\n'));
    for (const type of ['aws_vpc', 'aws_subnet', 'aws_internet_gateway', 'aws_route_table', 'aws_route_table_association', 'aws_default_security_group'])
      expect([type, Object.keys(resources(doc, type))]).toEqual([type, []]);
    for (const instance of Object.values(resources(doc, 'aws_instance'))) expect(instance.subnet_id).toBe('subnet-0def456');
    expect(text).toHaveResourceWithProperties(SecurityGroup, { vpc_id: 'vpc-0abc123', name: 'millrace-demo-kafka' });
    // Egress to the VPC uses that VPC's own CIDR, read from AWS.
    expect(doc.data.aws_vpc.vpc).toEqual({ id: 'vpc-0abc123' });
    const toVpc = (Object.values(resources(doc, 'aws_vpc_security_group_egress_rule')) as { ip_protocol: string; cidr_ipv4: string }[]).filter((e) => e.ip_protocol === '-1');
    expect(toVpc.length).toBe(3);
    for (const e of toVpc) expect(e.cidr_ipv4).toBe('${data.aws_vpc.vpc.cidr_block}');
  });

  it('records VPC flow logs in an encrypted CloudWatch group, kept a year, when aws.flowLogs is true', () => {
    const { doc } = synth(awsConfig('aws:\n  flowLogs: true\n'));
    const flowLog = resources(doc, 'aws_flow_log')['flow-log'];
    expect(flowLog).toEqual(
      expect.objectContaining({
        vpc_id: ref('aws_vpc', 'vpc'),
        traffic_type: 'ALL',
        log_destination_type: 'cloud-watch-logs',
        log_destination: ref('aws_cloudwatch_log_group', 'flow-log-group', 'arn'),
        iam_role_arn: ref('aws_iam_role', 'flow-log-role', 'arn'),
      }),
    );
    expect(resources(doc, 'aws_cloudwatch_log_group')['flow-log-group']).toEqual(
      expect.objectContaining({ name: '/millrace/demo/vpc-flow-logs', retention_in_days: 365, kms_key_id: KMS_ARN }),
    );
    const trust = JSON.parse(resources(doc, 'aws_iam_role')['flow-log-role'].assume_role_policy);
    expect(trust.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'vpc-flow-logs.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '${data.aws_caller_identity.account.account_id}' } } }),
    ]);
    const written = JSON.parse(resources(doc, 'aws_iam_role_policy')['flow-log-role-policy'].policy);
    for (const st of written.Statement) for (const r of st.Resource) expect(r).not.toBe('*');
    // The key lets CloudWatch Logs use it for that one group, and nothing else.
    const keyPolicy = JSON.parse(resources(doc, 'aws_kms_key')['kms-key'].policy);
    expect(keyPolicy.Statement[2]).toEqual(
      expect.objectContaining({
        Principal: { Service: 'logs.us-east-1.amazonaws.com' },
        Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': expect.stringMatching(/:logs:us-east-1:.*:log-group:\/millrace\/demo\/vpc-flow-logs$/) } },
      }),
    );
  });

  it('uses a Debian 12 image from Debian\'s account when asked', () => {
    const { text } = synth(awsConfig('aws:\n  amiFamily: debian-12\n'));
    expect(text).toHaveDataSourceWithProperties(DataAwsAmi, {
      owners: ['136693071363'],
      filter: expect.arrayContaining([{ name: 'name', values: ['debian-12-amd64-*'] }]),
    });
  });

  it('uses the configured AMI and looks none up', () => {
    const { doc } = synth(awsConfig('aws:\n  ami: ami-0123abcd\n'));
    expect(doc.data?.aws_ami).toBeUndefined();
    for (const instance of Object.values(resources(doc, 'aws_instance'))) expect(instance.ami).toBe('ami-0123abcd');
  });

  it('sizes the volumes from the config', () => {
    const { doc } = synth(awsConfig('aws:\n  rootVolumeGb: 40\n  dataVolumeGb: 500\n'));
    for (const instance of Object.values(resources(doc, 'aws_instance'))) {
      expect(instance.root_block_device.volume_size).toBe(40);
      expect(instance.ebs_block_device[0].volume_size).toBe(500);
    }
  });
});
