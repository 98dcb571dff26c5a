/** The cluster's network: a new VPC with one public subnet, or the existing VPC and subnet from the config. */
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../lib/config';
import { tagsFor } from './tags';

export interface ClusterNetwork {
  vpcId: string;
  subnetId: string;
  /** True when millrace created (and so owns) the VPC. */
  created: boolean;
}

export function clusterNetwork(scope: Construct, config: ClusterConfig): ClusterNetwork {
  const { aws } = config;
  if (aws.vpcId && aws.subnetId) return { vpcId: aws.vpcId, subnetId: aws.subnetId, created: false };

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
  return { vpcId: vpc.id, subnetId: subnet.id, created: true };
}
