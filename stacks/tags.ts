/** The tags every millrace-managed AWS resource carries, so that a cluster's resources can be found and audited. */
import type { ClusterConfig } from '../lib/config';
import type { Role } from '../lib/roles';

export const TAG_CLUSTER = 'millrace:cluster';
export const TAG_ROLE = 'millrace:role';
export const TAG_MANAGED_BY = 'managed-by';
export const MANAGED_BY = 'millrace';

/** Role tag for resources that belong to no single node: the network, shared by every node, or the bastion (aws.bastion). */
export type SharedRole = 'network' | 'shared' | 'bastion';

export type Tags = Record<string, string>;

/** Tags for a resource serving the given roles; several roles are joined with "+" (a tag-safe character). */
export function tagsFor(config: ClusterConfig, role: SharedRole | Role | readonly Role[], name?: string): Tags {
  const roleValue = typeof role === 'string' ? role : role.join('+');
  return {
    [TAG_CLUSTER]: config.name,
    [TAG_ROLE]: roleValue,
    [TAG_MANAGED_BY]: MANAGED_BY,
    ...(name ? { Name: name } : {}),
  };
}

/** The provider's default_tags: the ones that do not depend on the resource. */
export function defaultTags(config: ClusterConfig): Tags {
  return { [TAG_CLUSTER]: config.name, [TAG_MANAGED_BY]: MANAGED_BY };
}
