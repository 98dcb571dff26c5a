/**
 * One security group per role present in the cluster. Ingress comes from planIngress (and so from
 * ROLE_PORTS), as one standalone rule resource per port per source so each rule can be audited
 * on its own; no rule opens a port to the whole internet.
 */
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import type { Construct } from 'constructs';
import type { ClusterConfig } from '../lib/config';
import type { Role } from '../lib/roles';
import { InternalError } from '../lib/errors';
import { IngressRule, planIngress, rolesPresent } from './ingress-plan';
import { tagsFor } from './tags';

export type RoleGroups = Map<Role, SecurityGroup>;

function cidrField(cidr: string): { cidrIpv4: string } | { cidrIpv6: string } {
  return cidr.includes(':') ? { cidrIpv6: cidr } : { cidrIpv4: cidr };
}

export function roleSecurityGroups(scope: Construct, config: ClusterConfig, vpcId: string): RoleGroups {
  const groups: RoleGroups = new Map();
  for (const role of rolesPresent(config)) {
    const name = `millrace-${config.name}-${role}`;
    const sg = new SecurityGroup(scope, `sg-${role}`, {
      name,
      description: `millrace ${config.name}: ${role} nodes`,
      vpcId,
      tags: tagsFor(config, role, name),
    });
    groups.set(role, sg);
    // Nodes fetch packages and artifacts from the internet, and Terraform strips the default egress rule.
    new VpcSecurityGroupEgressRule(scope, `egress-${role}-all`, {
      securityGroupId: sg.id,
      ipProtocol: '-1',
      cidrIpv4: '0.0.0.0/0',
      description: 'all outbound traffic (packages, artifacts, AWS APIs)',
      tags: tagsFor(config, role),
    });
  }
  for (const rule of planIngress(config)) ingressRule(scope, config, groups, rule);
  return groups;
}

function ingressRule(scope: Construct, config: ClusterConfig, groups: RoleGroups, rule: IngressRule): void {
  const group = (role: Role): SecurityGroup => {
    const sg = groups.get(role);
    // planIngress only names roles that are present, so a miss is a bug here.
    if (!sg) throw new InternalError(`no security group for role ${role}`);
    return sg;
  };
  new VpcSecurityGroupIngressRule(scope, rule.id, {
    securityGroupId: group(rule.groupRole).id,
    ipProtocol: 'tcp',
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    ...(rule.source.kind === 'cidr' ? cidrField(rule.source.cidr) : { referencedSecurityGroupId: group(rule.source.role).id }),
    description: rule.description,
    tags: tagsFor(config, rule.groupRole),
  });
}
