/** The static target: existing SSH hosts listed in the config. Nothing is created or destroyed. */
import type { ClusterConfig } from '../lib/config';
import { UsageError } from '../lib/errors';
import { expandHome } from '../lib/paths';
import { Inventory, writeInventory } from '../lib/inventory';
import { clusterSshKey } from './ssh-key';
import type { DeleteResult, NodeState, Report, Target, TargetCapabilities, UpOptions } from './target';

/** A static host is logged in to as ssh.user (or the node's user), root if neither is set. */
export const STATIC_DEFAULT_USER = 'root';

export function staticInventory(config: ClusterConfig): Inventory {
  const key = config.nodes.every((n) => n.privateKeyPath) ? undefined : clusterSshKey(config);
  const jump = config.ssh.jumpHost;
  return {
    cluster: config.name,
    target: 'static',
    createdAt: new Date().toISOString(),
    nodes: config.nodes.map((n) => ({
      name: n.name,
      roles: n.roles,
      sshAddress: n.address!,
      sshPort: 22,
      sshUser: n.user ?? config.ssh.user ?? STATIC_DEFAULT_USER,
      privateKeyPath: n.privateKeyPath ? expandHome(n.privateKeyPath) : key!.privateKeyPath,
      privateAddress: n.address!,
      ...(n.publicAddress ? { publicAddress: n.publicAddress } : {}),
      ...(jump ? { jumpHost: { address: jump.address, port: jump.port, user: jump.user ?? config.ssh.user ?? STATIC_DEFAULT_USER } } : {}),
    })),
  };
}

export class StaticTarget implements Target {
  readonly name = 'static' as const;
  readonly capabilities: TargetCapabilities = { ownsNodes: false, dataVolume: false, plan: false, needsRootHere: false };

  constructor(private readonly config: ClusterConfig) {}

  async checkPrerequisites(): Promise<void> {}

  async createNodes(_report: Report, opts: UpOptions = {}): Promise<Inventory> {
    await opts.beforeChanges?.();
    const inventory = staticInventory(this.config);
    writeInventory(inventory);
    return inventory;
  }

  async listNodes(): Promise<NodeState[]> {
    return this.config.nodes.map((n) => ({ name: n.name, state: 'unknown', address: n.address }));
  }

  async deleteNodes(): Promise<DeleteResult> {
    throw new UsageError('the static target does not own its hosts, so `down` has nothing to destroy', {
      hint: 'stop the services yourself with `millrace exec all -- systemctl stop "millrace-*"`',
    });
  }

  describe(): string {
    return `${this.config.nodes.length} existing SSH hosts listed in the config`;
  }
}
