/** Wires a target's inventory into the provisioner: connect, plan, install, start, check. */
import * as fs from 'node:fs';
import type { ClusterConfig } from '../lib/config';
import { type Inventory, type InventoryNode, inventoryPath, readInventory } from '../lib/inventory';
import type { Role } from '../lib/roles';
import { logger } from '../lib/logger';
import { mapAll } from '../lib/parallel';
import { createArtifactInstaller } from '../provisioning/artifacts';
import { buildFacts } from '../provisioning/cluster-state';
import { drainBrokers, unregisterBroker, UnsafeRemovalError } from '../provisioning/kafka-drain';
import { planKafkaIdentities } from '../provisioning/kafka-identities';
import { KAFKA_ADMIN_TOOLS, KAFKA_CLIENT_PORT } from '../provisioning/services/kafka';
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

/** Roles a node may leave the cluster with today: its broker is drained first; a Spark worker's executors are re-run elsewhere. */
const REMOVABLE_ROLES: readonly Role[] = ['kafka', 'spark-worker'];

export interface Removals {
  /** Node ids of the brokers that were drained and stopped, to unregister once they are gone. */
  brokerIds: number[];
  /** A broker that stays, to run Kafka's tools on. */
  stayingBroker?: InventoryNode;
}

/**
 * Before `up` changes any node: the kafka nodes the config no longer has (removed, or without the
 * kafka role now) are drained, their partitions moved to the brokers that stay, and their broker
 * stopped. A removed node with a role that cannot leave yet (HDFS, the Spark master, the KMS, the
 * KDC) is refused, as is a removal that would leave a partition short of brokers. Nothing changes
 * when the config keeps every node.
 */
export async function prepareRemovals(config: ClusterConfig, report: (m: string) => void): Promise<Removals> {
  if (!fs.existsSync(inventoryPath(config.name))) return { brokerIds: [] };
  const current = readInventory(config.name);
  const wanted = new Map(config.nodes.map((n) => [n.name, n]));
  const refused = current.nodes.flatMap((n) => {
    if (wanted.has(n.name)) return [];
    const fixed = n.roles.filter((r) => !REMOVABLE_ROLES.includes(r));
    return fixed.length ? [`${n.name} (${fixed.join(', ')})`] : [];
  });
  if (refused.length)
    throw new UnsafeRemovalError(`the config no longer has ${refused.join(', ')}; millrace removes only kafka and spark-worker nodes so far, and removing ${refused.length > 1 ? 'these' : 'this one'} would lose data or a service; nothing was changed`, {
      hint: 'put the node back in the config. A DataNode leaves through HDFS decommissioning, which millrace does not run yet',
    });
  const isKafka = (n: { roles: readonly Role[] } | undefined): boolean => !!n && n.roles.includes('kafka');
  const leaving = current.nodes.filter((n) => isKafka(n) && !isKafka(wanted.get(n.name)));
  if (!leaving.length) return { brokerIds: [] };
  const staying = current.nodes.filter((n) => isKafka(n) && isKafka(wanted.get(n.name)));
  const stayingBroker = staying[0];
  if (!stayingBroker)
    throw new UnsafeRemovalError(`the config removes every broker the cluster has (${leaving.map((n) => n.name).join(', ')}); nothing was changed`, {
      hint: 'add the new brokers first and run `millrace up`, then remove the old ones',
    });
  const ids = planKafkaIdentities(config.name, current.nodes.filter(isKafka).map((n) => n.name), undefined);
  const idOf = (n: InventoryNode): number => ids.nodeIds[n.name]!;
  const log = logger().child({ cluster: config.name, step: 'drain' });
  const knownHosts = clusterKnownHosts(config.name);
  const host = await connect(stayingBroker, { knownHosts });
  try {
    const started = Date.now();
    const { moved } = await drainBrokers(leaving.map(idOf), staying.map(idOf), {
      host,
      bootstrap: `${stayingBroker.privateAddress}:${KAFKA_CLIENT_PORT}`,
      ...KAFKA_ADMIN_TOOLS,
      log,
      report,
    });
    report(`drained ${leaving.map((n) => n.name).join(', ')}: ${moved} partition(s) moved in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    await host.close();
  }
  for (const n of leaving) {
    // Stopped now, so no client is sent to it while the node goes; a node that is already unreachable is gone anyway.
    const leavingHost = await connect(n, { knownHosts }).catch((error: unknown) => {
      log.warn({ node: n.name, err: error instanceof Error ? error.message : String(error) }, 'could not reach a leaving broker to stop it');
      return undefined;
    });
    if (!leavingHost) continue;
    try {
      await leavingHost.execOrThrow('systemctl disable --now millrace-kafka.service', { what: `stop the broker on ${n.name}` });
    } finally {
      await leavingHost.close();
    }
  }
  return { brokerIds: leaving.map(idOf), stayingBroker };
}

/** After `up`: forgets the removed brokers' registrations in the KRaft metadata. */
export async function finishRemovals(config: ClusterConfig, removals: Removals): Promise<void> {
  if (!removals.brokerIds.length || !removals.stayingBroker) return;
  const broker = removals.stayingBroker;
  const host = await connect(broker, { knownHosts: clusterKnownHosts(config.name) });
  try {
    for (const id of removals.brokerIds) await unregisterBroker(id, { host, bootstrap: `${broker.privateAddress}:${KAFKA_CLIENT_PORT}`, ...KAFKA_ADMIN_TOOLS });
  } finally {
    await host.close();
  }
}
