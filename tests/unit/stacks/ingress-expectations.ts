/**
 * What the ingress rules must be, derived straight from ROLE_PORTS (not from stacks/ingress-plan),
 * so the tests check the stack against the port declarations rather than against itself.
 */
import type { ClusterConfig } from '../../../lib/config';
import { PortSpec, Role, ROLE_PORTS, ROLES, SSH_PORT } from '../../../lib/roles';
import { Json, resources } from './stack-fixture';

/** "sg:<role>" for a security-group source, "cidr:<cidr>" for an address range. */
export type SourceKey = string;

export interface RuleKey {
  group: Role;
  fromPort: number;
  toPort: number;
  source: SourceKey;
}

export const keyText = (k: RuleKey): string => `${k.group} ${k.fromPort}-${k.toPort} from ${k.source}`;

export function presentRoles(config: ClusterConfig): Role[] {
  return ROLES.filter((r) => config.nodes.some((n) => n.roles.includes(r)));
}

export function expectedSources(config: ClusterConfig, spec: PortSpec): SourceKey[] {
  const present = presentRoles(config);
  return spec.from.flatMap((from) => {
    if (from === 'operator') return [`cidr:${config.network.sshCidr}`];
    if (from === 'clients') return config.network.kafkaClientCidrs.map((c) => `cidr:${c}`);
    return present.filter((r) => (spec.fromRoles ?? ROLES).includes(r)).map((r) => `sg:${r}`);
  });
}

export function expectedIngress(config: ClusterConfig): RuleKey[] {
  return presentRoles(config).flatMap((group) =>
    [SSH_PORT, ...ROLE_PORTS[group]].flatMap((spec) =>
      expectedSources(config, spec).map((source) => ({ group, fromPort: spec.port, toPort: spec.toPort ?? spec.port, source })),
    ),
  );
}

function roleOfGroupRef(value: string): Role {
  const m = /^\$\{aws_security_group\.sg-([a-z-]+)\.id\}$/.exec(value);
  if (!m) throw new Error(`not a reference to a millrace security group: ${value}`);
  return m[1] as Role;
}

/** The synthesized ingress rules, reduced to what they allow. */
export function actualIngress(doc: Json): RuleKey[] {
  return Object.values(resources(doc, 'aws_vpc_security_group_ingress_rule')).map((r: Json) => ({
    group: roleOfGroupRef(r.security_group_id),
    fromPort: r.from_port,
    toPort: r.to_port,
    source: r.referenced_security_group_id ? `sg:${roleOfGroupRef(r.referenced_security_group_id)}` : `cidr:${r.cidr_ipv4 ?? r.cidr_ipv6}`,
  }));
}
