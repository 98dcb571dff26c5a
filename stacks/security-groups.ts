/**
 * One security group per role combination (stacks/ingress-plan.ts), so every node carries exactly
 * one. Ingress comes from planIngress (and so from the flow table, lib/flows.ts), as one standalone
 * rule resource per port per source so each rule can be audited on its own; no rule opens a port
 * to the whole internet. Egress is the VPC plus HTTPS (apt), nothing else.
 */
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import type { Construct } from 'constructs';
import { splitHostPort, type ClusterConfig } from '../lib/config';
import type { Role } from '../lib/roles';
import { InternalError } from '../lib/errors';
import { GroupPlan, IngressRule, planGroups, planIngress } from './ingress-plan';
import { tagsFor } from './tags';

export interface ClusterGroup {
  plan: GroupPlan;
  sg: SecurityGroup;
}
/** Keyed by GroupPlan.key. */
export type ClusterGroups = Map<string, ClusterGroup>;

export interface EgressRule {
  id: string;
  ipProtocol: 'tcp' | '-1';
  port?: number;
  cidr: string;
  description: string;
}

/**
 * What every group may send. The VPC: cluster traffic and the VPC's DNS resolver. HTTPS anywhere:
 * apt (Debian's EC2 mirror is https) and nothing else; artifacts come from the operator over SSH.
 * Ubuntu's EC2 mirrors serve apt over plain HTTP (apt checks its signatures), so that family
 * also gets port 80. NTP needs no rule: the Amazon Time Sync Service (169.254.169.123), like the
 * instance metadata service and the Amazon DNS server, is link-local and security groups don't
 * filter it.
 */
export function planEgress(config: ClusterConfig, vpcCidr: string, roles: readonly Role[] = []): EgressRule[] {
  return [
    { id: 'vpc', ipProtocol: '-1', cidr: vpcCidr, description: 'cluster traffic and the VPC DNS resolver, inside the VPC' },
    { id: 'https', ipProtocol: 'tcp', port: 443, cidr: '0.0.0.0/0', description: 'HTTPS: package mirrors' },
    ...(config.aws.amiFamily === 'ubuntu-24.04'
      ? [{ id: 'http', ipProtocol: 'tcp' as const, port: 80, cidr: '0.0.0.0/0', description: 'HTTP: the Ubuntu EC2 apt mirrors (apt checks signatures)' }]
      : []),
    ...existingKdcEgress(config, roles),
    ...(roles.includes('monitor') ? alertEgress(config) : []),
  ];
}

/** An address as a CIDR: a literal IPv4 address alone, a DNS name anywhere (its address may move). */
const hostCidr = (host: string): string => (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? `${host}/32` : '0.0.0.0/0');

/**
 * Where Alertmanager (on the monitor node) delivers: the SMTP smarthost's port, and the webhook's
 * port unless HTTPS's 443 already allows it. Without these an EC2 monitor could send nothing.
 */
function alertEgress(config: ClusterConfig): EgressRule[] {
  const a = config.monitoring.alerts;
  const out: EgressRule[] = [];
  if (a.email) {
    const smtp = splitHostPort(a.email.smarthost, 587);
    out.push({ id: 'smtp', ipProtocol: 'tcp', port: smtp.port, cidr: hostCidr(smtp.host), description: 'SMTP: alert email to monitoring.alerts.email.smarthost' });
  }
  if (a.webhook) {
    const url = new URL(a.webhook);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (port !== 443 || !url.protocol.startsWith('https')) out.push({ id: 'webhook', ipProtocol: 'tcp', port, cidr: hostCidr(url.hostname), description: 'the alert webhook (monitoring.alerts.webhook)' });
  }
  return out;
}

/**
 * An existing KDC (kerberos.kdc, an IPv4 address on aws): Kerberos from the nodes that log in to
 * HDFS or the KMS, and kadmin from the namenode's node, which creates the principals and keytabs.
 */
function existingKdcEgress(config: ClusterConfig, roles: readonly Role[]): EgressRule[] {
  const k = config.kerberos;
  if (!k.enabled || k.kdc === undefined || !k.admin) return [];
  const kdc = splitHostPort(k.kdc, 88);
  const admin = splitHostPort(k.admin.server ?? kdc.host, 749);
  const kerberosClient = roles.some((r) => (['namenode', 'datanode', 'kms', 'spark-master', 'spark-worker'] as Role[]).includes(r));
  return [
    ...(kerberosClient ? [{ id: 'kdc', ipProtocol: 'tcp' as const, port: kdc.port, cidr: `${kdc.host}/32`, description: 'Kerberos: tickets from the existing KDC (kerberos.kdc)' }] : []),
    ...(roles.includes('namenode')
      ? [{ id: 'kadmin', ipProtocol: 'tcp' as const, port: admin.port, cidr: `${admin.host}/32`, description: "kadmin: the cluster's principals and keytabs in the existing KDC (kerberos.admin)" }]
      : []),
  ];
}

function cidrField(cidr: string): { cidrIpv4: string } | { cidrIpv6: string } {
  return cidr.includes(':') ? { cidrIpv6: cidr } : { cidrIpv4: cidr };
}

/** The bastion's egress: SSH into the VPC (to the nodes), nothing else. */
export const BASTION_EGRESS = { port: 22, description: 'SSH to the cluster nodes, inside the VPC' } as const;

/**
 * The bastion's group (aws.bastion): SSH in from the operator's CIDR only, SSH out to the VPC
 * only. The nodes' SSH rules name this group as their only source.
 */
export function bastionSecurityGroup(scope: Construct, config: ClusterConfig, vpcId: string, vpcCidr: string): SecurityGroup {
  const name = `millrace-${config.name}-bastion`;
  const sg = new SecurityGroup(scope, 'sg-bastion', {
    name,
    description: `millrace ${config.name}: the SSH bastion`,
    vpcId,
    tags: tagsFor(config, 'bastion', name),
  });
  new VpcSecurityGroupIngressRule(scope, 'ingress-bastion-ssh-from-operator', {
    securityGroupId: sg.id,
    ipProtocol: 'tcp',
    fromPort: 22,
    toPort: 22,
    ...cidrField(config.network.sshCidr),
    description: `SSH from the operator ${config.network.sshCidr}`,
    tags: tagsFor(config, 'bastion'),
  });
  new VpcSecurityGroupEgressRule(scope, 'egress-bastion-ssh', {
    securityGroupId: sg.id,
    ipProtocol: 'tcp',
    fromPort: BASTION_EGRESS.port,
    toPort: BASTION_EGRESS.port,
    cidrIpv4: vpcCidr,
    description: BASTION_EGRESS.description,
    tags: tagsFor(config, 'bastion'),
  });
  return sg;
}

export function clusterSecurityGroups(scope: Construct, config: ClusterConfig, vpcId: string, vpcCidr: string, bastion?: SecurityGroup): ClusterGroups {
  const groups: ClusterGroups = new Map();
  for (const plan of planGroups(config)) {
    const label = plan.roles.join('+');
    const name = `millrace-${config.name}-${label}`;
    const sg = new SecurityGroup(scope, `sg-${plan.key}`, {
      name,
      description: `millrace ${config.name}: ${label} nodes`,
      vpcId,
      tags: tagsFor(config, plan.roles, name),
    });
    groups.set(plan.key, { plan, sg });
    // Terraform strips the default allow-all egress rule; these are the only ones.
    for (const e of planEgress(config, vpcCidr, plan.roles))
      new VpcSecurityGroupEgressRule(scope, `egress-${plan.key}-${e.id}`, {
        securityGroupId: sg.id,
        ipProtocol: e.ipProtocol,
        ...(e.port !== undefined ? { fromPort: e.port, toPort: e.port } : {}),
        cidrIpv4: e.cidr,
        description: e.description,
        tags: tagsFor(config, plan.roles),
      });
  }
  for (const rule of planIngress(config)) ingressRule(scope, config, groups, rule, bastion);
  return groups;
}

function ingressRule(scope: Construct, config: ClusterConfig, groups: ClusterGroups, rule: IngressRule, bastion: SecurityGroup | undefined): void {
  const group = (key: string): SecurityGroup => {
    const g = groups.get(key);
    // planIngress only names groups planGroups made, so a miss is a bug here.
    if (!g) throw new InternalError(`no security group ${key}`);
    return g.sg;
  };
  const bastionGroup = (): SecurityGroup => {
    // planIngress names the bastion only with aws.bastion, when the stack made its group.
    if (!bastion) throw new InternalError('no bastion security group');
    return bastion;
  };
  new VpcSecurityGroupIngressRule(scope, rule.id, {
    securityGroupId: group(rule.group).id,
    ipProtocol: 'tcp',
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    ...(rule.source.kind === 'cidr' ? cidrField(rule.source.cidr) : { referencedSecurityGroupId: rule.source.kind === 'bastion' ? bastionGroup().id : group(rule.source.group).id }),
    description: rule.description,
    tags: tagsFor(config, rule.groupRoles),
  });
}
