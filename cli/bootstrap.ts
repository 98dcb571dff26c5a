/** Wires a target's inventory into the provisioner: connect, plan, install, start, check. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../lib/config';
import { type Inventory, type InventoryNode, inventoryPath, readInventory } from '../lib/inventory';
import type { Role } from '../lib/roles';
import { logger } from '../lib/logger';
import { lazy } from '../lib/lazy';
import { mapAll } from '../lib/parallel';
import { createArtifactInstaller } from '../provisioning/artifacts';
import { buildFacts, loadFacts } from '../provisioning/cluster-state';
import { decommissionDataNodes } from '../provisioning/hdfs-decommission';
import { drainBrokers, unregisterBroker, UnsafeRemovalError } from '../provisioning/kafka-drain';
import { planKafkaIdentities } from '../provisioning/kafka-identities';
import { KAFKA_ADMIN_TOOLS, KAFKA_CLIENT_PORT } from '../provisioning/services/kafka';
import { clusterKnownHosts, type KnownHosts } from '../provisioning/known-hosts';
import { planCluster } from '../provisioning/plan';
import { servicesFor } from '../provisioning/registry';
import { changedAnything, HostOutcome, provision } from '../provisioning/provision';
import { connect, RemoteHost } from '../provisioning/remote-host';
import { listApps } from '../provisioning/jobs/apps';
import type { ClusterFacts } from '../provisioning/service';
import { HADOOP_CONF } from '../provisioning/services/hadoop-conf';
import { SPARK_CONF } from '../provisioning/services/spark';
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

export interface BootstrapResult {
  nodes: HostOutcome[];
  /** Applications still running on the client config this `up` changed (see staleApplications). */
  stale: StaleApplications;
}

export async function bootstrap(config: ClusterConfig, inventory: Inventory, opts: { json: boolean }): Promise<BootstrapResult> {
  const log = logger().child({ cluster: config.name });
  // Connect first: certificates are issued for the nodes' addresses, so an unreachable address
  // must not get one.
  return withHosts(config, inventory, async (hosts) => {
    const facts = await buildFacts(config, inventory);
    const plans = planCluster(facts);
    // Every node at once: the rolling restarts wait until each node has said what it will restart.
    const nodes = await provision(facts, plans, {
      runner: opts.json ? quietRunner(plans.length) : listrRunner(plans.length),
      artifacts: createArtifactInstaller(config, log),
      hosts,
      log,
    });
    return { nodes, stale: await staleApplications(facts, nodes, hosts) };
  });
}

export interface StaleApplications {
  /** The client config files this `up` changed on the Spark master's node, where drivers run. */
  changed: string[];
  applications: { id: string; name: string }[];
  /** Set when the master could not be asked: the change is there, the list is not. */
  error?: string;
}

/**
 * A driver reads spark-defaults.conf and the Hadoop client config once, when it is submitted: the
 * Spark daemons restart with a change, a running streaming job does not, and goes on with what it
 * started with. When this `up` changed one of those files on the master's node (where millrace
 * runs drivers), the applications running now are named, so the operator can resubmit them.
 */
export async function staleApplications(facts: ClusterFacts, outcomes: readonly HostOutcome[], hosts: Map<string, RemoteHost>): Promise<StaleApplications> {
  const master = facts.nodes.find((n) => n.roles.includes('spark-master'));
  const changed = master ? driverConfigChanges(outcomes.find((o) => o.node === master.name)?.changedFiles ?? []) : [];
  const host = master && hosts.get(master.name);
  if (!changed.length || !host) return { changed, applications: [] };
  try {
    return { changed, applications: (await listApps(facts, host)).map((a) => ({ id: a.id, name: a.name })) };
  } catch (error) {
    return { changed, applications: [], error: error instanceof Error ? error.message : String(error) };
  }
}

/** The changed files a running driver does not see: Spark's defaults and the Hadoop client config. */
export function driverConfigChanges(changedFiles: readonly string[]): string[] {
  const read = new Set([`${SPARK_CONF}/spark-defaults.conf`, `${HADOOP_CONF}/core-site.xml`, `${HADOOP_CONF}/hdfs-site.xml`]);
  return changedFiles.filter((f) => read.has(f));
}

/** What `up` says of them: nothing when nothing a driver reads changed. */
export function describeStale(stale: StaleApplications): string | undefined {
  if (!stale.changed.length) return undefined;
  const files = stale.changed.map((f) => path.basename(f)).join(', ');
  if (stale.error) return `${files} changed on the Spark master's node; running applications keep their old copy until resubmitted (could not list them: ${stale.error})`;
  if (!stale.applications.length) return undefined;
  const apps = stale.applications.map((a) => `${a.name} (${a.id})`).join(', ');
  return `${stale.applications.length} running application(s) keep the ${files} they were submitted with until resubmitted: ${apps}\n  to pick the change up: \`millrace jobs kill <id>\`, then submit it again (the pipeline's jobs resume from their checkpoints, with nothing lost or doubled)`;
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

/**
 * Roles a node may leave the cluster with today: its broker is drained first, its DataNode
 * decommissioned first; a Spark worker's executors are re-run elsewhere.
 */
const REMOVABLE_ROLES: readonly Role[] = ['kafka', 'datanode', 'spark-worker'];

/** Roles a node of the running cluster loses with the config: all of them when the node goes. */
export interface DroppedRoles {
  node: InventoryNode;
  roles: Role[];
  /** The config no longer has the node at all (its target removes it after `up`). */
  removed: boolean;
}

export function droppedRoles(current: readonly InventoryNode[], wanted: readonly { name: string; roles: readonly Role[] }[]): DroppedRoles[] {
  const byName = new Map(wanted.map((n) => [n.name, n]));
  return current.flatMap((node) => {
    const keep = byName.get(node.name);
    // A node that stays may lose the kdc role (Kerberos off, or an existing KDC now): provisioning
    // stops that KDC and keeps its database.
    const roles = node.roles.filter((r) => !keep?.roles.includes(r) && !(keep && r === 'kdc'));
    return roles.length ? [{ node, roles, removed: !keep }] : [];
  });
}

/**
 * A removal millrace cannot make safely yet is refused before anything changes: a node that goes,
 * or stays without a role, is named with the roles that cannot leave (HDFS, the Spark master, the
 * KMS, the KDC).
 */
export function refuseUnsafeDrops(dropped: readonly DroppedRoles[]): void {
  const refused = dropped.flatMap((d) => {
    const fixed = d.roles.filter((r) => !REMOVABLE_ROLES.includes(r));
    return fixed.length ? [`${d.node.name} ${d.removed ? 'is gone' : 'loses'} (${fixed.join(', ')})`] : [];
  });
  if (refused.length)
    throw new UnsafeRemovalError(
      `the config drops roles millrace cannot remove from a running cluster yet: ${refused.join('; ')}. Only kafka, datanode and spark-worker can leave so far; removing the others would lose data or a service; nothing was changed`,
      { hint: 'put the node and its roles back in the config' },
    );
}

/** Removing every DataNode would lose every block: refused before anything changes (a drain included). */
export function refuseLosingEveryDataNode(current: readonly InventoryNode[], dropped: readonly DroppedRoles[]): void {
  const datanodes = current.filter((n) => n.roles.includes('datanode'));
  const leaving = dropped.filter((d) => d.roles.includes('datanode'));
  if (leaving.length && leaving.length >= datanodes.length)
    throw new UnsafeRemovalError(`the config removes every DataNode the cluster has (${leaving.map((d) => d.node.name).join(', ')}); HDFS would lose its blocks; nothing was changed`, {
      hint: 'add the new DataNodes first and run `millrace up`, then remove the old ones',
    });
}

export interface Removals {
  /** Node ids of the brokers that were drained and stopped, to unregister once they are gone. */
  brokerIds: number[];
  /** A broker that stays, to run Kafka's tools on. */
  stayingBroker?: InventoryNode;
}

/**
 * Before `up` changes any node: the kafka nodes the config no longer has (removed, or without the
 * kafka role now) are drained, their partitions moved to the brokers that stay. Then every service
 * of a dropped role is stopped and disabled on its node (a static host that leaves the config
 * keeps running otherwise, and a Spark worker would stay registered with the master). A dropped
 * role that cannot leave yet is refused, as is a removal that would leave a partition short of
 * brokers. Nothing changes when the config keeps every node and role.
 */
export async function prepareRemovals(config: ClusterConfig, report: (m: string) => void): Promise<Removals> {
  if (!fs.existsSync(inventoryPath(config.name))) return { brokerIds: [] };
  const current = readInventory(config.name);
  const dropped = droppedRoles(current.nodes, config.nodes);
  refuseUnsafeDrops(dropped);
  if (!dropped.length) return { brokerIds: [] };
  refuseLosingEveryDataNode(current.nodes, dropped);
  const knownHosts = clusterKnownHosts(config.name);
  const log = logger().child({ cluster: config.name, step: 'remove' });
  const removals = await drainLeavingBrokers(config, current, dropped, report);
  // The cluster's facts (certificates issued from the CA) are read once, by whichever step needs them first.
  const facts = lazy(() => loadFacts(config, current));
  await decommissionLeavingDataNodes(config, current, dropped, facts, report);
  // A leaving worker's decommission is watched on the Spark master's node, whose UI its own node may not reach.
  const peers = new Map<string, RemoteHost>();
  try {
    await stopLeavingRoles(current, dropped, { knownHosts, facts, peers, log, report });
  } finally {
    await Promise.all([...peers.values()].map((h) => h.close()));
  }
  return removals;
}

/** Stops the units of every dropped role, each service's beforeStop (a worker's decommission) first. */
async function stopLeavingRoles(
  current: Inventory,
  dropped: readonly DroppedRoles[],
  { knownHosts, facts, peers, log, report }: { knownHosts: KnownHosts; facts: () => Promise<ClusterFacts>; peers: Map<string, RemoteHost>; log: Logger; report: (m: string) => void },
): Promise<void> {
  const masterNode = current.nodes.find((n) => n.roles.includes('spark-master'));
  // Connected once, when a leaving service on another node first needs it; one that fails is not retried.
  const masterPeer = lazy(async (): Promise<void> => {
    if (!masterNode) return;
    const h = await connect(masterNode, { knownHosts }).catch((error: unknown) => {
      log.warn({ node: masterNode.name, err: error instanceof Error ? error.message : String(error) }, "could not reach the Spark master's node");
      return undefined;
    });
    if (h) peers.set(masterNode.name, h);
  });
  for (const d of dropped) {
    const services = servicesFor(d.roles);
    const units = services.map((s) => s.unit);
    // Stopped now, so no client is sent to it while the node goes; a node that is already unreachable is gone anyway.
    const host = await connect(d.node, { knownHosts }).catch((error: unknown) => {
      log.warn({ node: d.node.name, err: error instanceof Error ? error.message : String(error) }, 'could not reach a leaving node to stop its services');
      return undefined;
    });
    if (!host) continue;
    try {
      // A leaving Spark worker is decommissioned first, as before a restart: stopped bare, its killed
      // executors would be relaunched onto it by the master until an application used up its retries.
      for (const service of services.filter((s) => s.beforeStop)) {
        if (masterNode?.name !== d.node.name) await masterPeer();
        const did = await service.beforeStop!(host, { cluster: await facts(), node: d.node, peers });
        if (!did) continue;
        log[did.warn ? 'warn' : 'info']({ node: d.node.name, service: service.id, did: did.message }, 'before the stop');
        report(`${service.id} on ${d.node.name}: ${did.message}`);
      }
      await host.execOrThrow(`systemctl disable --now ${units.join(' ')}`, { what: `stop ${d.roles.join(', ')} on ${d.node.name}` });
      report(`stopped ${d.roles.join(', ')} on ${d.node.name}${d.removed ? ' (leaving the cluster)' : ''}`);
    } finally {
      await host.close();
    }
  }
}

/** Drains the brokers of dropped kafka roles onto the brokers that stay (refused when none stays). */
async function drainLeavingBrokers(config: ClusterConfig, current: Inventory, dropped: readonly DroppedRoles[], report: (m: string) => void): Promise<Removals> {
  const leaving = dropped.filter((d) => d.roles.includes('kafka')).map((d) => d.node);
  if (!leaving.length) return { brokerIds: [] };
  const isKafka = (n: InventoryNode): boolean => n.roles.includes('kafka');
  const staying = current.nodes.filter((n) => isKafka(n) && !leaving.includes(n));
  const stayingBroker = staying[0];
  if (!stayingBroker)
    throw new UnsafeRemovalError(`the config removes every broker the cluster has (${leaving.map((n) => n.name).join(', ')}); nothing was changed`, {
      hint: 'add the new brokers first and run `millrace up`, then remove the old ones',
    });
  const ids = planKafkaIdentities(config.name, current.nodes.filter(isKafka).map((n) => n.name), undefined);
  const idOf = (n: InventoryNode): number => ids.nodeIds[n.name]!;
  const host = await connect(stayingBroker, { knownHosts: clusterKnownHosts(config.name) });
  try {
    const started = Date.now();
    const { moved } = await drainBrokers(leaving.map(idOf), staying.map(idOf), {
      host,
      bootstrap: `${stayingBroker.privateAddress}:${KAFKA_CLIENT_PORT}`,
      ...KAFKA_ADMIN_TOOLS,
      log: logger().child({ cluster: config.name, step: 'drain' }),
      report,
    });
    report(`drained ${leaving.map((n) => n.name).join(', ')}: ${moved} partition(s) moved in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    await host.close();
  }
  return { brokerIds: leaving.map(idOf), stayingBroker };
}

/** Decommissions the DataNodes of dropped datanode roles (refused when none stays), on the NameNode's node. */
async function decommissionLeavingDataNodes(config: ClusterConfig, current: Inventory, dropped: readonly DroppedRoles[], facts: () => Promise<ClusterFacts>, report: (m: string) => void): Promise<void> {
  const leaving = dropped.filter((d) => d.roles.includes('datanode')).map((d) => d.node);
  if (!leaving.length) return;
  const staying = current.nodes.filter((n) => n.roles.includes('datanode') && !leaving.includes(n));
  const namenode = current.nodes.find((n) => n.roles.includes('namenode'));
  if (!namenode) throw new UnsafeRemovalError('the cluster has no NameNode to decommission DataNodes with; nothing was changed');
  const cluster = await facts();
  const host = await connect(namenode, { knownHosts: clusterKnownHosts(config.name) });
  try {
    await decommissionDataNodes({
      host,
      ctx: { cluster, node: namenode },
      leaving: leaving.map((n) => ({ name: n.name, address: n.privateAddress })),
      staying: staying.length,
      log: logger().child({ cluster: config.name, step: 'decommission' }),
      report,
    });
  } finally {
    await host.close();
  }
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
