/**
 * The cluster's whole AWS stack: provider and state backend, network, security groups, a KMS key
 * for the disks, the key pair, one EC2 instance per node, optionally an SSH bastion (then only
 * the kafka nodes and the bastion get a public IP) and VPC flow logs, and the outputs `up` reads
 * back.
 */
import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { KeyPair } from '@cdktf/provider-aws/lib/key-pair';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import * as path from 'node:path';
import { bootedNodeUser, type ClusterConfig } from '../lib/config';
import { renderUserData } from '../templates/cloud-init';
import { InternalError } from '../lib/errors';
import type { Role } from '../lib/roles';
import { AMI_FAMILIES } from './ami-families';
import { flowLogGroupName, vpcFlowLogs } from './flow-logs';
import { BASTION_PUBLIC_IP_REASON, groupKey, publicIpReasons } from './ingress-plan';
import { clusterKeyPolicy } from './kms-policy';
import { clusterNetwork } from './network';
import { BASTION_OUTPUT, NodeOutput, NODES_OUTPUT } from './node-output';
import { bastionSecurityGroup, clusterSecurityGroups } from './security-groups';
import { defaultTags, tagsFor } from './tags';

/** The provider address in full: a bare "aws" would resolve to a different registry under OpenTofu. */
export const AWS_PROVIDER_SOURCE = 'registry.terraform.io/hashicorp/aws';
/**
 * The bindings are generated for AWS provider 6.x; everything this stack uses also exists in
 * 5.100, the newest 5.x (which is what offline provider mirrors tend to carry).
 */
export const AWS_PROVIDER_VERSION = '>= 5.100.0, < 7.0.0';
export const TERRAFORM_REQUIRED_VERSION = '>= 1.6.0';
/** The device name the data volume is attached as (Nitro instances show it as /dev/nvme1n1). */
export const DATA_DEVICE_NAME = '/dev/sdf';
/** The bastion's root volume in GiB: it stores nothing. */
export const BASTION_ROOT_GB = 8;

/**
 * Whether the instance type can be EBS-optimized (every current generation is, by default). The
 * first-generation and t1/t2 types refuse ebs_optimized = true.
 */
export function ebsOptimizable(instanceType: string): boolean {
  return !/^(t1|t2|m1|m2|c1|cc1|cc2|cg1|cr1|hi1|hs1)\./.test(instanceType);
}

export interface ClusterStackProps {
  config: ClusterConfig;
  /** The operator's SSH public key, as one line of OpenSSH text. */
  publicKey: string;
  /** Directory the local backend keeps terraform.tfstate in (ignored for the S3 backend). */
  stateDir: string;
}

export class ClusterStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    super(scope, id);
    const { config, publicKey, stateDir } = props;
    const { aws } = config;
    const shared = (name: string) => tagsFor(config, 'shared', `${config.name}-${name}`);

    this.addOverride('terraform.required_version', TERRAFORM_REQUIRED_VERSION);
    this.addOverride('terraform.required_providers.aws.source', AWS_PROVIDER_SOURCE);
    this.addOverride('terraform.required_providers.aws.version', AWS_PROVIDER_VERSION);
    new AwsProvider(this, 'aws', { region: aws.region, defaultTags: [{ tags: defaultTags(config) }] });
    if (aws.state.backend === 's3') {
      new S3Backend(this, {
        bucket: aws.state.bucket,
        key: aws.state.key,
        region: aws.state.region ?? aws.region,
        encrypt: true,
        ...(aws.state.dynamodbTable ? { dynamodbTable: aws.state.dynamodbTable } : {}),
      });
    } else {
      new LocalBackend(this, { path: path.join(stateDir, 'terraform.tfstate') });
    }

    const network = clusterNetwork(this, config);
    const bastionSg = aws.bastion ? bastionSecurityGroup(this, config, network.vpcId, network.vpcCidr) : undefined;
    const groups = clusterSecurityGroups(this, config, network.vpcId, network.vpcCidr, bastionSg);

    // Both read locally or from STS; neither needs more than the credentials Terraform already has.
    const account = new DataAwsCallerIdentity(this, 'account', {});
    const partition = new DataAwsPartition(this, 'partition', {}).partition;
    const key = new KmsKey(this, 'kms-key', {
      description: `millrace ${config.name}: EBS volumes of the cluster's nodes`,
      enableKeyRotation: true,
      deletionWindowInDays: 7,
      policy: JSON.stringify(
        clusterKeyPolicy({ partition, accountId: account.accountId, region: aws.region, ...(aws.flowLogs ? { flowLogGroup: flowLogGroupName(config) } : {}) }),
      ),
      tags: shared('ebs'),
    });
    new KmsAlias(this, 'kms-alias', { name: `alias/millrace-${config.name}-ebs`, targetKeyId: key.keyId });
    if (aws.flowLogs) vpcFlowLogs(this, config, { vpcId: network.vpcId, keyArn: key.arn, accountId: account.accountId, partition });

    const keyPair = new KeyPair(this, 'key-pair', {
      keyName: `millrace-${config.name}`,
      publicKey,
      tags: shared('operator'),
    });

    const ami = aws.ami ?? this.amiLookup(config).id;
    // The same user-data the local target's nodes boot with (templates/cloud-init/user-data.hbs).
    const userData = renderUserData(config.name, bootedNodeUser(config), publicKey);

    // One group per node, whatever its roles (AWS allows 5 per network interface by default).
    const groupIds = (roles: readonly Role[]): string[] => {
      const group = groups.get(groupKey(roles));
      // clusterSecurityGroups made one group per role combination any node has, so a miss is a bug here.
      if (!group) throw new InternalError(`no security group for roles ${roles.join('+')}`);
      return [group.sg.id];
    };

    const metadataOptions = { httpTokens: 'required', httpEndpoint: 'enabled', httpPutResponseHopLimit: 1 };
    if (bastionSg) {
      // The operator's one SSH entry point: the same image and user-data (login user, cluster key)
      // as the nodes, in the public subnet, its group open to network.sshCidr only.
      const name = `${config.name}-bastion`;
      const bastion = new Instance(this, 'bastion-host', {
        ami,
        instanceType: aws.bastionInstanceType,
        subnetId: network.subnetId,
        associatePublicIpAddress: true,
        ebsOptimized: ebsOptimizable(aws.bastionInstanceType),
        vpcSecurityGroupIds: [bastionSg.id],
        keyName: keyPair.keyName,
        userData,
        metadataOptions,
        rootBlockDevice: {
          volumeType: 'gp3',
          volumeSize: BASTION_ROOT_GB,
          encrypted: true,
          kmsKeyId: key.arn,
          deleteOnTermination: true,
          tags: tagsFor(config, 'bastion', `${name}-root`),
        },
        tags: tagsFor(config, 'bastion', name),
        lifecycle: { ignoreChanges: ['ami', 'user_data'] },
      });
      new TerraformOutput(this, BASTION_OUTPUT, {
        value: { id: bastion.id, public_ip: bastion.publicIp, private_ip: bastion.privateIp },
        description: `the SSH bastion: ${BASTION_PUBLIC_IP_REASON}`,
      });
    }

    // Tokens resolve to Terraform references, so the value is typed as strings throughout.
    const nodes: Record<string, NodeOutput> = {};
    for (const node of config.nodes) {
      const name = `${config.name}-${node.name}`;
      const volumeTags = (disk: string) => tagsFor(config, node.roles, `${name}-${disk}`);
      const isPublic = publicIpReasons(node.roles, { bastion: aws.bastion }).length > 0;
      const instance = new Instance(this, `node-${node.name}`, {
        ami,
        instanceType: node.instanceType,
        // Behind a bastion, a node without a reason for a public IP lives in the private subnet.
        subnetId: isPublic || !network.privateSubnetId ? network.subnetId : network.privateSubnetId,
        associatePublicIpAddress: isPublic,
        ebsOptimized: ebsOptimizable(node.instanceType),
        vpcSecurityGroupIds: groupIds(node.roles),
        keyName: keyPair.keyName,
        userData,
        metadataOptions,
        rootBlockDevice: {
          volumeType: 'gp3',
          volumeSize: aws.rootVolumeGb,
          encrypted: true,
          kmsKeyId: key.arn,
          deleteOnTermination: true,
          tags: volumeTags('root'),
        },
        ebsBlockDevice: [
          {
            deviceName: DATA_DEVICE_NAME,
            volumeType: 'gp3',
            volumeSize: aws.dataVolumeGb,
            encrypted: true,
            kmsKeyId: key.arn,
            deleteOnTermination: true,
            tags: volumeTags('data'),
          },
        ],
        tags: tagsFor(config, node.roles, name),
        // The AMI lookup takes the newest image; without this, every new image release would
        // replace the nodes (and their data) on the next `up`. cloud-init reads user-data once,
        // at an instance's first boot, so a later change (a new key) would only stop and start it.
        lifecycle: { ignoreChanges: ['ami', 'user_data'] },
      });
      nodes[node.name] = { id: instance.id, private_ip: instance.privateIp, public_ip: instance.publicIp, roles: node.roles };
    }

    new TerraformOutput(this, NODES_OUTPUT, { value: nodes, description: 'per node: EC2 instance id, private IP, public IP, roles' });
    new TerraformOutput(this, 'vpc_id', { value: network.vpcId });
    new TerraformOutput(this, 'subnet_id', { value: network.subnetId });
    if (network.privateSubnetId) new TerraformOutput(this, 'private_subnet_id', { value: network.privateSubnetId });
    new TerraformOutput(this, 'kms_key_arn', { value: key.arn });
    new TerraformOutput(this, 'security_group_ids', {
      value: Object.fromEntries([...groups.values()].map((g) => [g.plan.roles.join('+'), g.sg.id])),
    });
  }

  private amiLookup(config: ClusterConfig): DataAwsAmi {
    const family = AMI_FAMILIES[config.aws.amiFamily];
    return new DataAwsAmi(this, 'ami', {
      mostRecent: true,
      owners: [family.owner],
      filter: [
        { name: 'name', values: [family.namePattern] },
        { name: 'architecture', values: ['x86_64'] },
        { name: 'virtualization-type', values: ['hvm'] },
        { name: 'root-device-type', values: ['ebs'] },
      ],
    });
  }
}
