/**
 * Applies node plans over SSH: prepare → install → configure → start → healthCheck on every
 * host in parallel. Each step checks before it changes and reports what it changed, so a
 * second run on a healthy cluster changes nothing and restarts nothing.
 */
import * as path from 'node:path';
import type { Logger } from 'pino';
import { AggregateFailure, HealthCheckError, MillraceError, RemoteCommandError } from '../lib/errors';
import { waitFor } from '../lib/retry';
import { q } from '../lib/shell';
import { hasPublicAddress, type PortSpec } from '../lib/roles';
import type { InventoryNode } from '../lib/inventory';
import type { HostRunner } from '../lib/parallel';
import type { NodePlan } from './plan';
import { type RemoteHost, unitFailure } from './remote-host';
import type { ClusterFacts, ComponentName, HealthReport, NodeContext, RestartDone, Service, StepOutcome } from './service';
import { adminPassword, ensureExternalPrincipals, ensureKdc, ensureKeytabs, KDC_UNIT, type KerberosAdmin, localAdmin, remoteAdmin, waitForKdc } from './kerberos/kdc';
import { clusterPrincipals, keytabsFor, KRB5_CONF } from './kerberos/realm';
import { assertNoRunningReplacedUnits, maskDebianUnit } from './services/metrics-common';
import { portOpenCommand } from './services/java-service';
import { pauseTicketRenewal } from './services/spark';
import { syncFiles } from './sync-files';

export interface ArtifactInstaller {
  /** Puts the component at /opt/millrace/<component>/<version> with a `current` link. */
  /** `beforeSwitch` runs before a new build replaces the installed one (not when nothing changes). */
  install(host: RemoteHost, component: ComponentName, report: (m: string) => void, beforeSwitch?: () => Promise<void>): Promise<StepOutcome>;
}

export interface ProvisionOptions {
  /**
   * Runs the nodes' provisioning. It must run every node at once (no restart starts until each
   * node has said what it will restart), unless `oneNodeAtATime` says it takes them in turn.
   */
  runner: HostRunner;
  artifacts: ArtifactInstaller;
  hosts: Map<string, RemoteHost>;
  log: Logger;
  healthTimeoutMs?: number;
  /**
   * The runner provisions one node after another (`certs rotate`'s rolling passes), not all at
   * once: each node's restarts then run as it reaches them, without waiting for the other nodes'.
   */
  oneNodeAtATime?: boolean;
}

export interface HostOutcome {
  node: string;
  prepared: string[];
  installed: string[];
  changedFiles: string[];
  initialized: string[];
  started: string[];
  restarted: string[];
  health: Record<string, HealthReport>;
  /** Wall-clock seconds per step on this node (prepare, keytabs, install, configure, start/health per service), in order. */
  seconds?: Record<string, number>;
}

export function changedAnything(o: HostOutcome): boolean {
  return [o.prepared, o.installed, o.changedFiles, o.initialized, o.started, o.restarted].some((x) => x.length > 0);
}

export async function provision(facts: ClusterFacts, plans: NodePlan[], options: ProvisionOptions): Promise<HostOutcome[]> {
  // Before any change on any node: a host's own monitoring is not stopped without leave.
  await assertNoRunningReplacedUnits(plans, options.hosts, facts.config.monitoring.replaceExisting);
  const k = facts.kerberos;
  let kdcChanges: string[] = [];
  let kdcSeconds = 0;
  let admin: KerberosAdmin | undefined;
  // millrace's own KDC is administered on its node; an existing one from the namenode's node.
  const adminNode = k && (k.kdcNode ?? facts.namenode);
  if (k && adminNode) {
    // Before any node: every node's services need their keytabs from the KDC before they start.
    const adminHost = options.hosts.get(adminNode.name);
    if (!adminHost) throw new Error(`no SSH connection for ${adminNode.name}`);
    const started = Date.now();
    const principals = clusterPrincipals(facts.nodes, k.realm);
    const log = options.log.child({ host: adminNode.name, service: 'kdc' });
    if (k.admin) {
      admin = remoteAdmin(k, adminHost, adminPassword(k));
      kdcChanges = await ensureExternalPrincipals(k, admin, principals, log);
    } else {
      admin = localAdmin(k, adminHost);
      kdcChanges = await ensureKdc(k, adminHost, principals, log);
    }
    kdcSeconds = (Date.now() - started) / 1000;
  }
  // A runner that takes one node after another already orders the restarts: waiting for every node's plan would wait for ever.
  const restarts = new RollingRestarts(options.oneNodeAtATime ? [] : plans.map((p) => p.node.name));
  const results = await options.runner('Bootstrapping nodes', plans, (p) => p.node.name, async (plan, report) => {
    const host = options.hosts.get(plan.node.name);
    if (!host) throw new Error(`no SSH connection for ${plan.node.name}`);
    try {
      return await provisionHost(facts, plan, host, report, options, admin, restarts);
    } finally {
      restarts.leave(plan.node.name);
    }
  });
  const failures = results.flatMap((r) => (r.ok ? [] : [{ where: r.where, error: r.error }]));
  if (failures.length) throw new AggregateFailure('bootstrap', failures);
  const outcomes = results.map((r) => (r as { value: HostOutcome }).value);
  const kdcOutcome = adminNode && outcomes.find((o) => o.node === adminNode.name);
  if (kdcOutcome && kdcChanges.length) kdcOutcome.prepared.unshift(...kdcChanges.map((c) => `kerberos: ${c}`));
  // The KDC's realm and principals are made before any node starts: first in its node's steps.
  if (kdcOutcome) kdcOutcome.seconds = { kdc: kdcSeconds, ...kdcOutcome.seconds };
  return outcomes;
}

async function provisionHost(
  facts: ClusterFacts,
  plan: NodePlan,
  host: RemoteHost,
  report: (m: string) => void,
  options: ProvisionOptions,
  admin: KerberosAdmin | undefined,
  restarts: RollingRestarts,
): Promise<HostOutcome> {
  const log = options.log.child({ host: plan.node.name });
  const outcome: HostOutcome = {
    node: plan.node.name,
    prepared: [],
    installed: [],
    changedFiles: [],
    initialized: [],
    started: [],
    restarted: [],
    health: {},
    seconds: {},
  };
  let mark = Date.now();
  /** Adds the time since the last lap to a step's seconds. */
  const lap = (step: string): void => {
    const now = Date.now();
    outcome.seconds![step] = (outcome.seconds![step] ?? 0) + (now - mark) / 1000;
    mark = now;
  };

  report('prepare: waiting for cloud-init');
  await waitForCloudInit(host, log);
  if (plan.dataVolumeScript) {
    report('prepare: data volume');
    // Before anything lands under the mount point; the script lives outside it.
    outcome.prepared.push(...(await runHostScript(host, '/etc/millrace/data-volume.sh', plan.dataVolumeScript, 'format and mount the data volume')));
  }
  report('prepare: packages, users, directories');
  outcome.prepared.push(...(await prepareHost(host, plan.prepareScript)));
  if (outcome.prepared.length) log.info({ step: 'prepare', changed: outcome.prepared }, 'host prepared');
  lap('prepare');

  if (!plan.node.roles.includes('kdc')) {
    // A KDC millrace ran here before (Kerberos turned off, an existing KDC, or the role moved) stops; its database stays.
    const stopped = await host.exec(
      `if systemctl is-active --quiet ${KDC_UNIT} && head -n1 /etc/krb5kdc/kdc.conf 2>/dev/null | grep -q '^# Rendered by millrace'; then systemctl disable --quiet --now ${KDC_UNIT} && echo stopped; fi`,
    );
    if (stopped.stdout.trim() === 'stopped') {
      outcome.prepared.push('kerberos: stopped the KDC (this node no longer has the kdc role; its database is kept)');
      log.info({ step: 'prepare' }, 'stopped the KDC: the node no longer has the kdc role');
    }
  }

  // Restarts an earlier `up` owed this node when it was cut off (SSH lost, killed) after a change and before the restart.
  const pending = new PendingRestarts(host);
  const owed = await pending.read();
  if (owed.length) log.info({ units: owed }, 'restarts an interrupted up left pending');

  const k = facts.kerberos;
  const keytabUnits = new Set<string>();
  if (k) {
    report('prepare: keytabs');
    // kinit reads krb5.conf: it goes first, and a change to it restarts what reads it.
    const krb5 = await syncFiles(host, plan.files.filter((x) => x.path === KRB5_CONF), async (stale) => {
      await pending.add(stale.flatMap((x) => x.restarts));
      // A Spark ticket renewal in flight on the old realm must not outlive it (services/spark.ts; a no-op where there is none).
      await pauseTicketRenewal(host);
    });
    for (const f of krb5) f.restarts.forEach((u) => keytabUnits.add(u));
    // The KDC reads it too, and is what every node's keytab step asks right now: it restarts here, at
    // once, not in the rolling restarts, whose turn waits for every node to get there (on a cold up,
    // for the slowest node's packages). Each node's keytab check retries through the second it takes.
    if (keytabUnits.delete(KDC_UNIT)) {
      await startUnit(host, KDC_UNIT, 'restart');
      await waitForKdc(k, host);
      await pending.done(KDC_UNIT);
      outcome.prepared.push(`kerberos: restarted the KDC at once on the new ${KRB5_CONF}`);
    }
    const installed = await ensureKeytabs(k, admin!, host, keytabsFor(plan.node, k.realm));
    for (const kt of installed) kt.units.forEach((u) => keytabUnits.add(u));
    await pending.add([...keytabUnits]);
    if (installed.length) {
      outcome.prepared.push(...installed.map((kt) => `keytab ${kt.path} (${kt.principal})`));
      log.info({ step: 'prepare', keytabs: installed.map((kt) => kt.principal) }, 'keytabs installed');
    }
    lap('keytabs');
  }

  for (const component of plan.components) {
    report(`install: ${component}`);
    // A new build takes effect with a restart: owed from before the switch, in case `up` stops after it.
    const units = plan.services.filter((s) => s.component === component).map((s) => s.unit);
    const r = await options.artifacts.install(host, component, (m) => report(`install: ${m}`), () => pending.add(units));
    if (r.changed) outcome.installed.push(component);
  }
  lap('install');

  report('configure: config files and units');
  // The restarts a change needs are recorded on the node before the change is written.
  const changed = await syncFiles(host, plan.files, (stale) => pending.add(stale.flatMap((f) => f.restarts)));
  outcome.changedFiles = changed.map((f) => f.path);
  const toRestart = new Set([...owed, ...changed.flatMap((f) => f.restarts), ...keytabUnits]);
  if (plan.keyStoreScript) {
    const rebuilt = await runHostScript(host, '/var/lib/millrace/keystores.sh', plan.keyStoreScript, 'build the keystores');
    outcome.changedFiles.push(...rebuilt);
    const units = plan.keyStores.filter((x) => rebuilt.includes(x.path)).flatMap((x) => x.restarts);
    await pending.add(units);
    units.forEach((u) => toRestart.add(u));
  }
  if (outcome.changedFiles.length) log.info({ step: 'configure', files: outcome.changedFiles }, 'files changed');
  if (changed.some((f) => f.path.startsWith('/etc/systemd/'))) await host.execOrThrow('systemctl daemon-reload');

  // A new build of a component under a running service takes effect only with a restart.
  for (const s of plan.services) if (s.component && outcome.installed.includes(s.component)) toRestart.add(s.unit);

  lap('configure');

  const ctx: NodeContext = { cluster: facts, node: plan.node, peers: options.hosts, restartsDone: () => restarts.idle() };
  const restartHere: Service[] = [];
  for (const service of plan.services) {
    // The OS units it takes the place of are masked first (provision has checked none runs without leave).
    let masked = false;
    for (const unit of service.replaces ?? []) masked = (await maskDebianUnit(host, unit)).changed || masked;
    let initialized = masked;
    if (service.initialize) {
      report(`start: initialize ${service.id}`);
      initialized = (await service.initialize(host, ctx, log.child({ service: service.id }))).changed || initialized;
    }
    if (initialized) outcome.initialized.push(service.id);
    report(`start: ${service.id}`);
    const active = (await host.exec(`systemctl is-active ${q(service.unit)}`)).stdout.trim() === 'active';
    if (!active) {
      await assertPortsFree(host, plan.node, service);
      await startUnit(host, service.unit, 'start');
      await pending.done(service.unit);
      outcome.started.push(service.id);
    } else if (toRestart.has(service.unit)) restartHere.push(service);
    lap(`start ${service.id}`);
  }
  // One restart at a time across the cluster, brokers first: each back healthy (and, for Kafka, fully replicated) before the next goes down.
  const inOrder = RollingRestarts.ordered(restartHere);
  restarts.plan(plan.node.name, inOrder.map((s) => s.id));
  for (const service of inOrder) {
    report(`restart: ${service.id} (waiting for its turn)`);
    await restarts.one(service.id, plan.node.name, async () => {
      report(`restart: ${service.id}`);
      log.info({ service: service.id }, 'rolling restart: this node');
      if (service.beforeStop) {
        report(`restart: ${service.id} (preparing)`);
        const did = await service.beforeStop(host, ctx);
        if (did) log[did.warn ? 'warn' : 'info']({ service: service.id, did: did.message }, 'before the restart');
      }
      await startUnit(host, service.unit, 'restart');
      await pending.done(service.unit);
      outcome.health[service.id] = await waitHealthy(service, host, ctx, options);
      if (service.settled) {
        report(`restart: ${service.id} (waiting for it to catch up)`);
        await waitSettled(service, host, ctx);
      }
    });
    outcome.restarted.push(service.id);
    lap(`restart ${service.id}`);
  }
  // Every service here has started or restarted with what changed; anything still listed was not this node's.
  await pending.clear();

  for (const service of plan.services) {
    report(`health: ${service.id}`);
    // A service restarted in its rolling turn was seen healthy there already.
    outcome.health[service.id] ??= await waitHealthy(service, host, ctx, options);
    lap(`health ${service.id}`);
  }
  for (const service of plan.services) {
    if (!service.postStart) continue;
    report(`post-start: ${service.id}`);
    const r = await service.postStart(host, ctx, log.child({ service: service.id }));
    if (r.changed) outcome.initialized.push(`${service.id}${r.detail ? ` (${r.detail})` : ''}`);
    lap(`post-start ${service.id}`);
  }
  report('healthy');
  return outcome;
}

/**
 * The order of a rolling change across the cluster (issue 14): the brokers one at a time, each
 * back with no under-replicated partition before the next; then the DataNodes; then the
 * NameNode and the KMS; then the Spark workers, and the master last. Nothing restarts alongside
 * anything else: a worker restarted while the master recovers its workers from disk
 * (spark.deploy.recoveryMode) takes the master's "master changed" meant for the worker it
 * replaced at the same address and never registers. The workers go first so that each comes back
 * to a master that is not fresh from its recovery: on 2026-12-03 a worker restarted just after the
 * master left the running ingest with no executor (Spark 4.2's recovering master had logged
 * "executor 0 state transfer from RUNNING to RUNNING is illegal"). Each worker is decommissioned
 * before its restart (sparkWorkerService.beforeStop); the master's own restart is one a running
 * application rides through: its executors stay, and the master recovers it.
 */
export const RESTART_ORDER: readonly string[] = ['kdc', 'kafka', 'hdfs-datanode', 'hdfs-namenode', 'hadoop-kms', 'spark-worker', 'spark-master'];

interface PlannedRestart {
  node: string;
  serviceId: string;
  rank: number;
  nodeIndex: number;
}

/**
 * One restart at a time across the whole cluster, in RESTART_ORDER and then node order. Every
 * node says which of its services it will restart (`plan`) once its files are written; no restart
 * starts before all nodes have said so (or failed: `leave`), so a DataNode never goes down before
 * the last broker is back. Once one restart fails, none of those still waiting is done (as
 * `certs rotate`'s rolling passes stop).
 */
export class RollingRestarts {
  private readonly nodes: string[];
  private readonly unplanned: Set<string>;
  private queue: PlannedRestart[] = [];
  private readonly arrived = new Map<string, () => void>();
  private running = false;
  private failedAt?: string;
  private readonly done: RestartDone[] = [];
  private idleWaiters: (() => void)[] = [];

  /** `nodes`: the nodes provisioned at once, each of which plans (or leaves) before any restart; none when they come one after another. */
  constructor(nodes: readonly string[]) {
    this.nodes = [...nodes];
    this.unplanned = new Set(nodes);
  }

  /** The services `node` will restart. A node's own restarts must then come in `ordered` order. */
  plan(node: string, serviceIds: readonly string[]): void {
    this.unplanned.delete(node);
    for (const serviceId of serviceIds) this.enqueue(node, serviceId);
    this.pump();
  }

  /** Sorts a node's services into the order their restarts take. */
  static ordered<S extends { id: string }>(services: readonly S[]): S[] {
    return [...services].sort((a, b) => rankOf(a.id) - rankOf(b.id));
  }

  /** The node is done or failed: what it planned and did not reach is dropped, and no one waits for it. */
  leave(node: string): void {
    this.unplanned.delete(node);
    this.queue = this.queue.filter((r) => r.node !== node || this.arrived.has(key(r.node, r.serviceId)));
    this.pump();
  }

  /**
   * Resolves, with the restarts done, once every node has planned and every planned restart has
   * been done or dropped: e.g. the Spark node's delegation tokens wait for a NameNode and a KMS
   * that this `up` restarts. Never wait for it before your own node has planned.
   */
  idle(): Promise<readonly RestartDone[]> {
    return new Promise((resolve) => {
      this.idleWaiters.push(() => resolve([...this.done]));
      this.pump();
    });
  }

  one<T>(serviceId: string, node: string, restart: () => Promise<T>): Promise<T> {
    if (!this.queue.some((r) => r.node === node && r.serviceId === serviceId)) this.enqueue(node, serviceId);
    return new Promise<T>((resolve, reject) => {
      this.arrived.set(key(node, serviceId), () => {
        if (this.failedAt) {
          reject(
            new MillraceError(`${serviceId} on ${node} was not restarted: the restart of ${this.failedAt} failed first, and a rolling restart stops there`, {
              hint: 'fix the node that failed (see its error), then run `millrace up` again to restart the rest',
            }),
          );
          this.pump();
          return;
        }
        this.running = true;
        restart().then(
          (value) => {
            this.running = false;
            this.done.push({ node, serviceId });
            resolve(value);
            this.pump();
          },
          (error: unknown) => {
            this.failedAt = `${serviceId} on ${node}`;
            this.running = false;
            reject(error);
            this.pump();
          },
        );
      });
      this.pump();
    });
  }

  private enqueue(node: string, serviceId: string): void {
    const nodeIndex = this.nodes.indexOf(node);
    this.queue.push({ node, serviceId, rank: rankOf(serviceId), nodeIndex: nodeIndex < 0 ? this.nodes.length : nodeIndex });
    this.queue.sort((a, b) => a.rank - b.rank || a.nodeIndex - b.nodeIndex);
  }

  /** Starts the next restart in the order once every node has planned and that restart's node has reached it. */
  private pump(): void {
    if (this.running || this.unplanned.size) return;
    const head = this.queue[0];
    if (!head) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
      return;
    }
    const go = this.arrived.get(key(head.node, head.serviceId));
    if (!go) return;
    this.queue.shift();
    this.arrived.delete(key(head.node, head.serviceId));
    go();
  }
}

function rankOf(serviceId: string): number {
  const i = RESTART_ORDER.indexOf(serviceId);
  return i < 0 ? RESTART_ORDER.length : i;
}

const key = (node: string, serviceId: string): string => `${serviceId}@${node}`;

async function waitHealthy(service: Service, host: RemoteHost, ctx: NodeContext, options: ProvisionOptions): Promise<HealthReport> {
  const node = ctx.node.name;
  return waitFor(
    async () => {
      const h = await service.healthCheck(host, ctx);
      return h.healthy ? h : undefined;
    },
    {
      timeout: options.healthTimeoutMs ?? 180_000,
      interval: 2000,
      what: `${service.id} on ${node} to become healthy`,
      hint: `look at its log with \`millrace logs ${node} ${service.id}\``,
    },
  ).catch(async (error: unknown) => {
    const last = await service.healthCheck(host, ctx).catch(() => undefined);
    const failed = last?.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`) ?? [];
    throw new HealthCheckError(`${service.id} is not healthy${failed.length ? `: ${failed.join('; ')}` : ''}`, {
      hint: `look at its log with \`millrace logs ${node} ${service.id}\``,
      cause: error,
    });
  });
}

/**
 * The units a node owes a restart, kept on the node (/var/lib/millrace/pending-restarts) from
 * before the change that needs it is written until the restart is done. An `up` cut off between
 * the two (its SSH connection lost, the CLI killed) leaves them listed, and the next `up` restarts
 * them although no file differs any more; without it the service would run the old config until
 * something else changed.
 */
export class PendingRestarts {
  static readonly FILE = '/var/lib/millrace/pending-restarts';
  /** Whether the file may list anything: read with entries, or added to. A run that owes and changes nothing spends no round trip on done() and clear(). */
  private listed = false;

  constructor(
    private readonly host: RemoteHost,
    private readonly file = PendingRestarts.FILE,
  ) {}

  async read(): Promise<string[]> {
    const out = await this.host.execOrThrow(`cat ${q(this.file)} 2>/dev/null || true`, { what: 'read the pending restarts' });
    const units = [...new Set(out.split('\n').map((l) => l.trim()).filter(Boolean))];
    this.listed ||= units.length > 0;
    return units;
  }

  async add(units: readonly string[]): Promise<void> {
    if (!units.length) return;
    this.listed = true;
    const f = q(this.file);
    await this.host.execOrThrow(`mkdir -p ${q(path.posix.dirname(this.file))} && printf '%s\\n' ${units.map(q).join(' ')} >> ${f} && sort -u -o ${f} ${f}`, {
      what: 'record the restarts a change needs',
    });
  }

  async done(unit: string): Promise<void> {
    if (!this.listed) return;
    const f = q(this.file);
    await this.host.execOrThrow(`if [ -f ${f} ]; then grep -vxF ${q(unit)} ${f} > ${f}.new; mv ${f}.new ${f}; fi`, { what: `mark ${unit} restarted` });
  }

  async clear(): Promise<void> {
    if (!this.listed) return;
    this.listed = false;
    await this.host.execOrThrow(`rm -f ${q(this.file)}`, { what: 'clear the pending restarts' });
  }
}

/** How long a restarted service may take to catch up before the rolling restart stops. */
export const SETTLE_TIMEOUT_MS = 600_000;

async function waitSettled(service: Service, host: RemoteHost, ctx: NodeContext): Promise<void> {
  let last = { ok: false, detail: 'not checked yet' };
  await waitFor(
    async () => {
      last = await service.settled!(host, ctx);
      return last.ok ? true : undefined;
    },
    { timeout: SETTLE_TIMEOUT_MS, interval: 3000, what: `${service.id} on ${ctx.node.name} to catch up after its restart` },
  ).catch((error: unknown) => {
    throw new HealthCheckError(`${service.id} on ${ctx.node.name} restarted, but has not caught up after ${SETTLE_TIMEOUT_MS / 1000} s (${last.detail}); the rolling restart stopped here, before the next node`, {
      hint: `look at \`millrace status\` and \`millrace logs ${ctx.node.name} ${service.id}\`, then run \`millrace up\` again to restart the rest`,
      cause: error,
    });
  });
}

/**
 * A node that boots with cloud-init (every EC2 instance, every local node) is still creating
 * users and writing files for a while after sshd answers, and apt is busy meanwhile: wait until
 * it is done. A host without cloud-init (many static hosts) goes on at once.
 */
async function waitForCloudInit(host: RemoteHost, log: Logger): Promise<void> {
  const r = await host.exec(
    'if command -v cloud-init >/dev/null 2>&1; then timeout 600 cloud-init status --wait >/dev/null 2>&1; echo "wait=$?"; cloud-init status 2>/dev/null | sed -n "s/^status: //p"; else echo none; fi',
  );
  const [first, status] = r.stdout.trim().split('\n');
  if (first === 'none' || status === 'done' || status === 'disabled') return;
  if (first === 'wait=124' || status === 'running' || status === 'not started')
    throw new MillraceError(`${host.name}: cloud-init has not finished after 10 minutes (status: ${status ?? 'unknown'})`, {
      hint: `look at /var/log/cloud-init-output.log on ${host.name} (millrace ssh ${host.name}), then run \`millrace up\` again`,
    });
  // An error in cloud-init is the image's business; the checks that follow find what matters.
  log.warn({ step: 'prepare', cloudInit: status }, `cloud-init finished with status "${status ?? 'unknown'}"; see /var/log/cloud-init.log on the node`);
}

async function prepareHost(host: RemoteHost, script: string): Promise<string[]> {
  await host.execOrThrow('mkdir -p /var/lib/millrace');
  return runHostScript(host, '/var/lib/millrace/prepare.sh', script, 'prepare the host (packages, users, directories)');
}

/** Puts a rendered script on the host (only if it changed), runs it, and returns its "changed: x" lines. */
async function runHostScript(host: RemoteHost, path: string, script: string, what: string): Promise<string[]> {
  await syncFiles(host, [{ path, content: script, mode: 0o700, owner: 'root', restarts: [] }]);
  const out = await host.execOrThrow(`sh ${q(path)}`, { what });
  return out
    .split('\n')
    .filter((l) => l.startsWith('changed: '))
    .map((l) => l.slice('changed: '.length));
}

/** Before a service starts, nothing else may hold its ports: say who does, instead of a crash loop. */
async function assertPortsFree(host: RemoteHost, node: InventoryNode, service: Service): Promise<void> {
  const address = node.privateAddress;
  const opens = (x: PortSpec): boolean => x.toPort === undefined && x.name !== 'ssh' && (!x.publicOnly || hasPublicAddress(node));
  for (const p of service.ports.filter(opens)) {
    if ((await host.exec(portOpenCommand(address, p.port))).code !== 0) continue;
    // The line of this address: on a shared host (local nodes share its network namespace) other addresses' listeners hold the same port.
    const who = (await host.exec(`ss -Hltnp ${q(`sport = :${p.port}`)}`)).stdout.split('\n').find((l) => l.includes(`${address}]:`) || l.includes(`${address}:`)) ?? '';
    const proc = /users:\(\("([^"]+)",pid=(\d+)/.exec(who);
    throw new MillraceError(
      `${host.name}: port ${p.port} (${p.description}) on ${address} is already in use${proc ? ` by ${proc[1]} (pid ${proc[2]})` : ''}, so ${service.id} cannot start`,
      { hint: `stop that process on ${host.name} (millrace ssh ${host.name}), then run \`millrace up\` again` },
    );
  }
}

async function startUnit(host: RemoteHost, unit: string, verb: 'start' | 'restart'): Promise<void> {
  const r = await host.exec(`systemctl enable --quiet ${q(unit)} && systemctl ${verb} ${q(unit)}`);
  if (r.code !== 0) throw await unitFailure(host, unit, `systemctl ${verb} ${unit}`, r);
}
