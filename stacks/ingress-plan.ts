/**
 * Which ingress rules the cluster's security groups get, computed from ROLE_PORTS alone with no
 * cdktf in sight, so the least-privilege policy can be read and tested as plain data.
 */
import type { ClusterConfig } from '../lib/config';
import { portsFor, PortSpec, Role, ROLES } from '../lib/roles';

export type IngressSource =
  | { kind: 'cidr'; cidr: string; who: 'operator' | 'clients' }
  | { kind: 'group'; role: Role };

export interface IngressRule {
  /** Stable construct id, also the Terraform resource name. */
  id: string;
  /** The role whose security group the rule belongs to. */
  groupRole: Role;
  portName: string;
  fromPort: number;
  toPort: number;
  source: IngressSource;
  description: string;
}

/** Roles that at least one node carries, in ROLES order so that synthesized output is stable. */
export function rolesPresent(config: ClusterConfig): Role[] {
  return ROLES.filter((r) => config.nodes.some((n) => n.roles.includes(r)));
}

function sourcesFor(spec: PortSpec, config: ClusterConfig, present: readonly Role[]): IngressSource[] {
  return spec.from.flatMap((from): IngressSource[] => {
    switch (from) {
      case 'operator':
        return [{ kind: 'cidr', cidr: config.network.sshCidr, who: 'operator' }];
      case 'clients':
        return config.network.kafkaClientCidrs.map((cidr) => ({ kind: 'cidr', cidr, who: 'clients' }));
      case 'cluster':
        // fromRoles narrows "the cluster" to the roles that really talk to this port.
        return present.filter((r) => !spec.fromRoles || spec.fromRoles.includes(r)).map((role) => ({ kind: 'group', role }));
    }
  });
}

function slug(source: IngressSource): string {
  return source.kind === 'group' ? `sg-${source.role}` : source.cidr.replace(/[^0-9a-z]+/gi, '-').toLowerCase();
}

function describeSource(source: IngressSource): string {
  if (source.kind === 'group') return `from the ${source.role} security group`;
  return `from ${source.who === 'operator' ? 'the operator' : 'Kafka clients'} ${source.cidr}`;
}

/** Every ingress rule of every role present: one rule per port (or port range) per source. */
export function planIngress(config: ClusterConfig): IngressRule[] {
  const present = rolesPresent(config);
  // Every instance gets a public IP (cluster-stack.ts), so public-only ports are planned too.
  return present.flatMap((groupRole) =>
    portsFor([groupRole], { publicAddress: true }).flatMap((spec) =>
      sourcesFor(spec, config, present).map((source) => ({
        id: `ingress-${groupRole}-${spec.name}-from-${slug(source)}`,
        groupRole,
        portName: spec.name,
        fromPort: spec.port,
        toPort: spec.toPort ?? spec.port,
        source,
        // EC2 rule descriptions allow only a small character set; ROLE_PORTS descriptions stay within it.
        description: `${spec.description} ${describeSource(source)}`,
      })),
    ),
  );
}
