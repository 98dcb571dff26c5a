/**
 * What the ingress rules must be, derived straight from the flow table and the ports (not from
 * stacks/ingress-plan), so the tests check the stack against the declarations rather than
 * against itself. Groups are named by their roles joined with "+", as their role tag is.
 */
import type { ClusterConfig } from '../../../lib/config';
import { FLOWS } from '../../../lib/flows';
import { NODE_METRICS_PORT, PortSpec, Role, ROLE_PORTS, ROLES, SSH_PORT } from '../../../lib/roles';
import { Json, resources } from './stack-fixture';

/** "sg:<roles>" for a security-group source, "cidr:<cidr>" for an address range. */
export type SourceKey = string;

export interface RuleKey {
  /** The target group's roles joined with "+". */
  group: string;
  fromPort: number;
  toPort: number;
  source: SourceKey;
}

export const keyText = (k: RuleKey): string => `${k.group} ${k.fromPort}-${k.toPort} from ${k.source}`;

export function presentRoles(config: ClusterConfig): Role[] {
  return ROLES.filter((r) => config.nodes.some((n) => n.roles.includes(r)));
}

/** The distinct role combinations of the nodes, each in ROLES order. */
export function roleSets(config: ClusterConfig): Role[][] {
  const sets = config.nodes.map((n) => ROLES.filter((r) => n.roles.includes(r)));
  return sets.filter((s, i) => sets.findIndex((t) => t.join() === s.join()) === i);
}

export const label = (roles: readonly Role[]): string => roles.join('+');

/** Every port a node with these roles listens on, each once (AWS nodes have a public address). */
export function portsOf(roles: readonly Role[]): PortSpec[] {
  const specs = [SSH_PORT, NODE_METRICS_PORT, ...roles.flatMap((r) => ROLE_PORTS[r])];
  return specs.filter((s, i) => specs.findIndex((t) => t.name === s.name) === i);
}

export function expectedSources(config: ClusterConfig, target: readonly Role[], spec: PortSpec): SourceKey[] {
  const sets = roleSets(config);
  const sources = FLOWS.filter((f) => f.port === spec.name && (f.to === 'any' || target.includes(f.to))).flatMap((f) => {
    if (f.from === 'operator') return [`cidr:${config.network.sshCidr}`];
    if (f.from === 'clients') return config.network.kafkaClientCidrs.map((c) => `cidr:${c}`);
    const from = f.from;
    return sets.filter((s) => s.includes(from)).map((s) => `sg:${label(s)}`);
  });
  return [...new Set(sources)];
}

export function expectedIngress(config: ClusterConfig): RuleKey[] {
  return roleSets(config).flatMap((target) =>
    portsOf(target).flatMap((spec) =>
      expectedSources(config, target, spec).map((source) => ({ group: label(target), fromPort: spec.port, toPort: spec.toPort ?? spec.port, source })),
    ),
  );
}

/** Security group reference → the group's role tag. */
export function groupLabels(doc: Json): Map<string, string> {
  return new Map(
    Object.entries(resources(doc, 'aws_security_group')).map(([name, sg]: [string, Json]) => [`\${aws_security_group.${name}.id}`, sg.tags['millrace:role'] as string]),
  );
}

/** The synthesized ingress rules, reduced to what they allow. */
export function actualIngress(doc: Json): RuleKey[] {
  const labels = groupLabels(doc);
  const labelOf = (ref: string): string => {
    const l = labels.get(ref);
    if (!l) throw new Error(`not a reference to a millrace security group: ${ref}`);
    return l;
  };
  return Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')).map((r: Json) => ({
    group: labelOf(r.security_group_id),
    fromPort: r.from_port,
    toPort: r.to_port,
    source: r.referenced_security_group_id ? `sg:${labelOf(r.referenced_security_group_id)}` : `cidr:${r.cidr_ipv4 ?? r.cidr_ipv6}`,
  }));
}
