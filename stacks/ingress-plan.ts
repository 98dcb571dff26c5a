/**
 * The cluster's security groups and their ingress rules, computed from the flow table
 * (lib/flows.ts) and the ports (lib/roles.ts) with no cdktf in sight, so the least-privilege
 * policy can be read and tested as plain data.
 *
 * One security group per combination of roles that some node carries: every node is in exactly
 * one group, whatever its roles (AWS allows 5 groups per network interface by default, and a
 * one-node cluster has all six roles). Nodes with the same roles share their group. A flow from
 * role R becomes one rule per group whose roles include R.
 */
import type { ClusterConfig } from '../lib/config';
import { UsageError } from '../lib/errors';
import { Flow, flowsInto } from '../lib/flows';
import { portsFor, Role, ROLES } from '../lib/roles';

/** AWS's default quotas, which an apply would otherwise fail on (the emulator checks neither). */
export const AWS_LIMITS = {
  /** Security groups per network interface. */
  groupsPerInterface: 5,
  /** Inbound (and, separately, outbound) rules per security group. */
  rulesPerGroup: 60,
} as const;

export interface GroupPlan {
  /** Roles in ROLES order joined by "_": Terraform-name safe, and the group's construct id is `sg-<key>`. */
  key: string;
  roles: Role[];
  /** Names of the nodes in the group, in config order. */
  nodes: string[];
}

export type IngressSource =
  | { kind: 'cidr'; cidr: string; who: ('operator' | 'clients')[] }
  | { kind: 'group'; group: string; roles: Role[] }
  /** The bastion's security group (aws.bastion): the operator's SSH comes from there. */
  | { kind: 'bastion' };

export interface IngressRule {
  /** Stable construct id, also the Terraform resource name. */
  id: string;
  /** Key of the group the rule belongs to. */
  group: string;
  groupRoles: Role[];
  portName: string;
  fromPort: number;
  toPort: number;
  source: IngressSource;
  /** The flow table entries this rule carries out. */
  flows: Flow[];
  description: string;
}

/** Roles that at least one node carries, in ROLES order so that synthesized output is stable. */
export function rolesPresent(config: ClusterConfig): Role[] {
  return ROLES.filter((r) => config.nodes.some((n) => n.roles.includes(r)));
}

const ordered = (roles: readonly Role[]): Role[] => ROLES.filter((r) => roles.includes(r));
export const groupKey = (roles: readonly Role[]): string => ordered(roles).join('_');

/** One group per distinct role combination, in the order of the first node that has it. */
export function planGroups(config: ClusterConfig): GroupPlan[] {
  const groups = new Map<string, GroupPlan>();
  for (const node of config.nodes) {
    const key = groupKey(node.roles);
    const group = groups.get(key) ?? { key, roles: ordered(node.roles), nodes: [] };
    group.nodes.push(node.name);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Why a node with these roles gets a public IP; empty means a private node. SSH: without a
 * bastion, millrace reaches every node from the operator's machine; with aws.bastion it goes
 * through the bastion, and only the bastion needs a public address for it. A node serving Kafka's
 * EXTERNAL listener is reached by clients at its public address either way.
 */
export function publicIpReasons(roles: readonly Role[], opts: { bastion?: boolean } = {}): string[] {
  return [...(opts.bastion ? [] : ['ssh from the operator']), ...(roles.includes('kafka') ? ['the Kafka EXTERNAL listener'] : [])];
}

/** What the bastion (aws.bastion) is for: the operator's one public SSH entry point. */
export const BASTION_PUBLIC_IP_REASON = 'ssh from the operator, forwarded to the nodes';

function sourcesOf(flow: Flow, config: ClusterConfig, groups: GroupPlan[], groupIsPublic: boolean): IngressSource[] {
  switch (flow.from) {
    case 'operator':
      // Behind a bastion, the operator's SSH to a node comes from the bastion's group; a private
      // node's other operator ports (web UIs) are out of the operator's reach, so they get no rule.
      if (config.aws.bastion) {
        if (flow.port === 'ssh') return [{ kind: 'bastion' }];
        if (!groupIsPublic) return [];
      }
      return [{ kind: 'cidr', cidr: config.network.sshCidr, who: ['operator'] }];
    case 'clients':
      return config.network.kafkaClientCidrs.map((cidr) => ({ kind: 'cidr', cidr, who: ['clients'] }));
    default: {
      const role = flow.from;
      return groups.filter((g) => g.roles.includes(role)).map((g) => ({ kind: 'group', group: g.key, roles: g.roles }));
    }
  }
}

const sourceKey = (s: IngressSource): string =>
  s.kind === 'group' ? `sg-${s.group}` : s.kind === 'bastion' ? 'bastion' : s.cidr.replace(/[^0-9a-z]+/gi, '-').toLowerCase();

function describeSource(source: IngressSource): string {
  if (source.kind === 'group') return `from the ${source.roles.join('+')} security group`;
  if (source.kind === 'bastion') return 'from the bastion security group';
  const who = source.who.map((w) => (w === 'operator' ? 'the operator' : 'Kafka clients')).join(' and ');
  return `from ${who} ${source.cidr}`;
}

/**
 * Every ingress rule of every group: for each port its roles declare, one rule per distinct
 * source the flow table lets in (a CIDR that is both the operator's and a client's is one rule).
 */
export function planIngress(config: ClusterConfig): IngressRule[] {
  const groups = planGroups(config);
  const bastion = config.aws.bastion;
  const rules = groups.flatMap((group) => {
    const isPublic = publicIpReasons(group.roles, { bastion }).length > 0;
    return portsFor(group.roles, { publicAddress: isPublic }).flatMap((spec) => {
      const bySource = new Map<string, { source: IngressSource; flows: Flow[] }>();
      for (const flow of flowsInto(group.roles, spec.name))
        for (const source of sourcesOf(flow, config, groups, isPublic)) {
          const key = sourceKey(source);
          const seen = bySource.get(key);
          if (!seen) bySource.set(key, { source, flows: [flow] });
          else {
            if (!seen.flows.includes(flow)) seen.flows.push(flow);
            if (seen.source.kind === 'cidr' && source.kind === 'cidr') for (const w of source.who) if (!seen.source.who.includes(w)) seen.source.who.push(w);
          }
        }
      return [...bySource.entries()].map(([key, { source, flows }]) => ({
        id: `ingress-${group.key}-${spec.name}-from-${key}`,
        group: group.key,
        groupRoles: group.roles,
        portName: spec.name,
        fromPort: spec.port,
        toPort: spec.toPort ?? spec.port,
        source,
        flows,
        // EC2 rule descriptions allow only a small character set; ROLE_PORTS descriptions stay within it.
        description: `${spec.description} ${describeSource(source)}`,
      }));
    });
  });
  checkRuleQuota(groups, rules);
  return rules;
}

function checkRuleQuota(groups: GroupPlan[], rules: IngressRule[]): void {
  for (const group of groups) {
    const n = rules.filter((r) => r.group === group.key).length;
    if (n > AWS_LIMITS.rulesPerGroup)
      throw new UsageError(
        `the security group of the ${group.roles.join('+')} nodes (${group.nodes.join(', ')}) would need ${n} inbound rules; AWS allows ${AWS_LIMITS.rulesPerGroup} per group by default`,
        { hint: 'give more nodes the same set of roles (nodes with the same roles share a group), or list fewer network.kafkaClientCidrs' },
      );
  }
}
