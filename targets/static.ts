/** The static target: existing SSH hosts listed in the config. Nothing is created or destroyed. */
import type { ClusterConfig } from '../lib/config';
import { expandHome } from '../lib/paths';
import { Inventory, writeInventory } from '../lib/inventory';
import { clusterSshKey } from './ssh-key';

export function staticInventory(config: ClusterConfig): Inventory {
  const key = config.nodes.every((n) => n.privateKeyPath) ? undefined : clusterSshKey(config);
  return {
    cluster: config.name,
    target: 'static',
    createdAt: new Date().toISOString(),
    nodes: config.nodes.map((n) => ({
      name: n.name,
      roles: n.roles,
      sshAddress: n.address!,
      sshPort: 22,
      sshUser: n.user ?? config.ssh.user ?? 'root',
      privateKeyPath: n.privateKeyPath ? expandHome(n.privateKeyPath) : key!.privateKeyPath,
      privateAddress: n.address!,
      ...(n.publicAddress ? { publicAddress: n.publicAddress } : {}),
    })),
  };
}

export function upStatic(config: ClusterConfig): Inventory {
  const inv = staticInventory(config);
  writeInventory(inv);
  return inv;
}
