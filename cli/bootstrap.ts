/** Wires a target's inventory into the provisioner: connect, plan, install, start, check. */
import type { ClusterConfig } from '../lib/config';
import type { Inventory } from '../lib/inventory';
import { logger } from '../lib/logger';
import { mapAll } from '../lib/parallel';
import { createArtifactInstaller } from '../provisioning/artifacts';
import { buildFacts } from '../provisioning/cluster-state';
import { clusterKnownHosts } from '../provisioning/known-hosts';
import { planCluster } from '../provisioning/plan';
import { changedAnything, HostOutcome, provision } from '../provisioning/provision';
import { connect, RemoteHost } from '../provisioning/remote-host';
import { listrRunner, quietRunner } from './progress';

export async function connectAll(config: ClusterConfig, inventory: Inventory): Promise<Map<string, RemoteHost>> {
  const knownHosts = clusterKnownHosts(config.name);
  const hosts = await mapAll('SSH connection', inventory.nodes, 8, (n) => n.name, (n) => connect(n, { knownHosts }));
  return new Map(hosts.map((h) => [h.name, h]));
}

export async function withHosts<T>(config: ClusterConfig, inventory: Inventory, fn: (hosts: Map<string, RemoteHost>) => Promise<T>): Promise<T> {
  const hosts = await connectAll(config, inventory);
  try {
    return await fn(hosts);
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
}

export async function bootstrap(config: ClusterConfig, inventory: Inventory, opts: { json: boolean }): Promise<HostOutcome[]> {
  const log = logger().child({ cluster: config.name });
  // Connect first: certificates are issued for the nodes' addresses, so an unreachable address
  // must not get one.
  return withHosts(config, inventory, async (hosts) => {
    const facts = await buildFacts(config, inventory);
    return provision(facts, planCluster(facts), {
      runner: opts.json ? quietRunner : listrRunner(8),
      artifacts: createArtifactInstaller(config, log),
      hosts,
      log,
    });
  });
}

export function describeOutcome(outcomes: HostOutcome[]): { changed: boolean; text: string } {
  const changed = outcomes.some(changedAnything);
  if (!changed) return { changed, text: 'no changes: every node was already as configured' };
  const lines = outcomes.filter(changedAnything).map((o) => {
    const parts = [
      o.prepared.length && `prepared ${o.prepared.join(', ')}`,
      o.installed.length && `installed ${o.installed.join(', ')}`,
      o.changedFiles.length && `wrote ${o.changedFiles.length} file(s)`,
      o.initialized.length && `initialized ${o.initialized.join(', ')}`,
      o.started.length && `started ${o.started.join(', ')}`,
      o.restarted.length && `restarted ${o.restarted.join(', ')}`,
    ].filter(Boolean);
    return `  ${o.node}: ${parts.join('; ')}`;
  });
  return { changed, text: `changes:\n${lines.join('\n')}` };
}
