/**
 * The cluster's network: a new VPC with one public subnet, or the existing VPC and subnet from the
 * config. With aws.bastion, also a private subnet (new: routed to the internet through a NAT
 * gateway in the public subnet, for the HTTPS package mirrors; existing: aws.privateSubnetId).
 */
import { DataAwsVpc } from '@cdktf/provider-aws/lib/data-aws-vpc';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../lib/config';
import { tagsFor } from './tags';

export interface ClusterNetwork {
  vpcId: string;
  /** The public subnet: the kafka nodes and the bastion, or every node without a bastion. */
  subnetId: string;
  /** With aws.bastion: the subnet of the nodes that get no public IP. */
  privateSubnetId?: string;
  /** The VPC's IPv4 CIDR (a reference to an existing VPC's), where the nodes may send anything. */
  vpcCidr: string;
  /** True when millrace created (and so owns) the VPC. */
  created: boolean;
}

export function clusterNetwork(scope: Construct, config: ClusterConfig): ClusterNetwork {
  const { aws } = config;
  if (aws.vpcId && aws.subnetId) {
    const existing = new DataAwsVpc(scope, 'vpc', { id: aws.vpcId });
    return {
      vpcId: aws.vpcId,
      subnetId: aws.subnetId,
      ...(aws.bastion && aws.privateSubnetId ? { privateSubnetId: aws.privateSubnetId } : {}),
      vpcCidr: existing.cidrBlock,
      created: false,
    };
  }

  const tags = (suffix: string) => tagsFor(config, 'network', `${config.name}-${suffix}`);
  const vpc = new Vpc(scope, 'vpc', {
    cidrBlock: aws.vpcCidr,
    enableDnsSupport: true,
    enableDnsHostnames: true,
    tags: tags('vpc'),
  });
  // A new VPC's default group allows all traffic between its members; strip it so that only
  // millrace's per-role groups grant anything (CIS AWS Foundations 5.4).
  new DefaultSecurityGroup(scope, 'vpc-default-sg', { vpcId: vpc.id, tags: tags('default-sg-unused') });
  const subnet = new Subnet(scope, 'subnet', {
    vpcId: vpc.id,
    cidrBlock: aws.subnetCidr,
    ...(aws.availabilityZone ? { availabilityZone: aws.availabilityZone } : {}),
    // Instances ask for their public IP themselves; nothing else launched here should get one.
    mapPublicIpOnLaunch: false,
    tags: tags('public'),
  });
  const igw = new InternetGateway(scope, 'igw', { vpcId: vpc.id, tags: tags('igw') });
  const routes = new RouteTable(scope, 'route-table', {
    vpcId: vpc.id,
    route: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
    tags: tags('public'),
  });
  new RouteTableAssociation(scope, 'route-table-association', { subnetId: subnet.id, routeTableId: routes.id });
  if (!aws.bastion) return { vpcId: vpc.id, subnetId: subnet.id, vpcCidr: aws.vpcCidr, created: true };

  // The nodes behind the bastion still fetch packages (HTTPS) and artifacts: out through a NAT
  // gateway, which takes no connection in.
  const privateSubnet = new Subnet(scope, 'private-subnet', {
    vpcId: vpc.id,
    cidrBlock: aws.privateSubnetCidr,
    ...(aws.availabilityZone ? { availabilityZone: aws.availabilityZone } : {}),
    mapPublicIpOnLaunch: false,
    tags: tags('private'),
  });
  const natIp = new Eip(scope, 'nat-eip', { domain: 'vpc', tags: tags('nat'), dependsOn: [igw] });
  const nat = new NatGateway(scope, 'nat-gateway', { allocationId: natIp.allocationId, subnetId: subnet.id, tags: tags('nat'), dependsOn: [igw] });
  const privateRoutes = new RouteTable(scope, 'private-route-table', {
    vpcId: vpc.id,
    route: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
    tags: tags('private'),
  });
  new RouteTableAssociation(scope, 'private-route-table-association', { subnetId: privateSubnet.id, routeTableId: privateRoutes.id });
  return { vpcId: vpc.id, subnetId: subnet.id, privateSubnetId: privateSubnet.id, vpcCidr: aws.vpcCidr, created: true };
}
