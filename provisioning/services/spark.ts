/** Spark standalone master and worker. */
import { MillraceError } from '../../lib/errors';
import { waitFor } from '../../lib/retry';
import { ROLE_PORTS, portNumber } from '../../lib/roles';
import { cmd, q } from '../../lib/shell';
import { render, sortedProperties } from '../../templates/render';
import { runAs, type RemoteHost, unitFailure } from '../remote-host';
import { withRestartDigest } from '../sync-files';
import type { BeforeStopNote, ClusterFacts, FileSpec, HealthReport, KeyStoreSpec, NodeContext, Service, StepOutcome } from '../service';
import { keytabsFor, SPARK_CCACHE, SPARK_TOKENS } from '../kerberos/realm';
import { defaultFs, HADOOP_CONF, hadoopConfFiles, LAKE } from './hadoop-conf';
import { lastLine, launcherFiles, report, unitAndPortChecks } from './java-service';
import { bootstrapServers } from './kafka';
import { jmxExporter } from './metrics';
import { TEXTFILE_DIR } from './metrics-common';
import { CA_PEM, serviceKeyFiles, serviceTlsPaths, TLS_DIR, tlsDirectories, trustFiles } from './tls-files';

export const SPARK_CONF = '/etc/millrace/spark';
const SPARK_DATA = '/var/lib/millrace/spark';
/** Where the master keeps what it recovers after a restart (spark.deploy.recoveryDirectory). */
const SPARK_RECOVERY = `${SPARK_DATA}/recovery`;
/** Where `millrace submit` keeps each application's driver directory on the master node. */
export const APPS_DIR = `${SPARK_DATA}/apps`;
const UNITS = { master: 'millrace-spark-master.service', worker: 'millrace-spark-worker.service' } as const;
export const SPARK_MASTER_PORT = portNumber('spark-master', 'spark-master-rpc');
const MASTER_HTTPS = portNumber('spark-master', 'spark-master-https');
/** The pipeline principal's Kafka client key and chain, for applications (readable by spark only). */
export const SPARK_KAFKA_KEYSTORE = `${SPARK_CONF}/kafka/pipeline.pem`;
const APP_PORTS = ROLE_PORTS['spark-worker'].find((p) => p.name === 'spark-app')!;

export function masterUrl(facts: ClusterFacts): string {
  if (!facts.sparkMaster) throw new Error('this cluster has no spark-master');
  return `spark://${facts.sparkMaster.privateAddress}:${SPARK_MASTER_PORT}`;
}

/**
 * The CA as a truststore of the spark user's own (its password is the spark keystore's), for
 * RPC TLS: Spark's RPC client trusts every certificate when it has no truststore.
 */
export const SPARK_TRUSTSTORE = `${TLS_DIR}/spark/truststore.jks`;

/** Spark's RPC over TLS (`spark.ssl.rpc.*`) exists from Spark 4.0 on. */
export function sparkSupportsRpcTls(version: string): boolean {
  const major = Number(/^(\d+)\./.exec(version)?.[1] ?? 0);
  return major >= 4;
}

/** The users Spark's ACLs name as admins (spark.admin.acls): the daemons' and drivers' user. */
export const SPARK_ADMIN_ACLS = ['spark'] as const;

/** TLS settings for one of Spark's SSL namespaces (standalone daemons' UIs, application UIs, RPC). */
function sslNamespace(ns: 'standalone' | 'ui' | 'rpc', ctx: NodeContext, port?: number): Record<string, string | number | boolean> {
  const p = serviceTlsPaths(ctx, 'spark');
  return {
    [`spark.ssl.${ns}.enabled`]: true,
    [`spark.ssl.${ns}.keyStore`]: p.keystore,
    [`spark.ssl.${ns}.keyStoreType`]: 'PKCS12',
    [`spark.ssl.${ns}.keyStorePassword`]: p.password,
    [`spark.ssl.${ns}.keyPassword`]: p.password,
    [`spark.ssl.${ns}.protocol`]: 'TLSv1.3',
    ...(port ? { [`spark.ssl.${ns}.port`]: port } : {}),
    // RPC clients verify the peer's chain against the cluster CA (no host name check in Spark).
    ...(ns === 'rpc' ? { 'spark.ssl.rpc.trustStore': SPARK_TRUSTSTORE, 'spark.ssl.rpc.trustStorePassword': p.password } : {}),
  };
}

/**
 * spark-defaults.conf before user overrides. Fixed ports keep the security groups narrow. It
 * holds the cluster's Spark secret and keystore passwords, so only the spark user reads it.
 */
export function buildSparkDefaults(ctx: NodeContext): Record<string, string | number | boolean> {
  const facts = ctx.cluster;
  return {
    'spark.master': masterUrl(facts),
    'spark.driver.port': APP_PORTS.port,
    'spark.blockManager.port': APP_PORTS.port + 20,
    'spark.ui.port': APP_PORTS.port + 40,
    'spark.port.maxRetries': 16,
    'spark.hadoop.fs.defaultFS': defaultFs(facts),
    // A NameNode restart (an `up` that changes its config, a reboot) takes 10-30 s. Without a
    // retry policy the HDFS client gives up on a refused connection after ipc's ten 1 s retries,
    // and a streaming query writing to the lake fails with it. With it, calls wait: 30 tries 2 s
    // apart, then 30 tries 10 s apart (about six minutes) before the query sees an error.
    'spark.hadoop.dfs.client.retry.policy.enabled': true,
    'spark.hadoop.dfs.client.retry.policy.spec': '2000,30,10000,30',
    'spark.local.dir': `${SPARK_DATA}/local`,
    'spark.pyspark.python': 'python3',
    // Authentication with the cluster secret, encrypted shuffle and spill files.
    'spark.authenticate': true,
    'spark.authenticate.secret': facts.secrets.sparkAuthSecret,
    'spark.io.encryption.enabled': true,
    // RPC (daemons, drivers, executors, the block transfer service) over TLS where Spark has it.
    // AES stays on inside the TLS: with it Spark authenticates with its newer protocol and keys
    // the AES channel from the cluster secret, which binds the session to holders of the secret
    // (Spark's RPC client checks the peer's chain, not its name: any certificate of the cluster
    // CA would pass the TLS layer alone). Without it Spark falls back to SASL DIGEST-MD5.
    'spark.network.crypto.enabled': true,
    ...(sparkSupportsRpcTls(facts.config.versions.spark) ? sslNamespace('rpc', ctx) : {}),
    // Spark's metrics into JMX, where each daemon's JMX exporter serves them to Prometheus (services/metrics.ts).
    'spark.metrics.conf.*.sink.jmx.class': 'org.apache.spark.metrics.sink.JmxSink',
    // The REST submission server cannot authenticate (and would be one more port): off.
    'spark.master.rest.enabled': false,
    // A restarted master (an `up` that changes Spark's config or upgrades it, a reboot) reads its
    // workers and running applications back from disk, and they re-register with it: without
    // this it forgets them, and every running application, the streaming jobs included, dies.
    'spark.deploy.recoveryMode': 'FILESYSTEM',
    'spark.deploy.recoveryDirectory': SPARK_RECOVERY,
    // A worker is decommissioned before a rolling restart (SIGPWR: sparkWorkerService.beforeStop),
    // and the master then launches nothing more on it. Without that, the master relaunches each
    // executor the stopping worker kills on that same worker, where it fails at once, and after
    // 10 failures within a second removes the application: a streaming job, for good.
    'spark.decommission.enabled': true,
    // UIs over TLS: daemons on their UI port + 400, applications within the application range.
    ...sslNamespace('standalone', ctx),
    ...sslNamespace('ui', ctx, APP_PORTS.port + 60),
    // Nothing is killed or decommissioned from a web UI: `millrace jobs kill` goes over SSH.
    // The ACLs are on with the admins named, but Spark's UIs have no authentication filter, so
    // every request is anonymous and Spark lets an anonymous user through: the ACLs bind only
    // once a filter (spark.ui.filters) names the user.
    'spark.ui.killEnabled': false,
    'spark.master.ui.decommission.allow.mode': 'DENY',
    'spark.acls.enable': true,
    'spark.admin.acls': SPARK_ADMIN_ACLS.join(','),
    // What applications need to read Kafka over mutual TLS and write to the lake.
    'spark.millrace.kafka.bootstrapServers': bootstrapServers(facts),
    'spark.millrace.kafka.keystore': SPARK_KAFKA_KEYSTORE,
    'spark.millrace.kafka.truststore': CA_PEM,
    'spark.millrace.lake': LAKE,
    // Where a streaming driver (on the master's node) writes its progress for Prometheus.
    'spark.millrace.metrics.dir': TEXTFILE_DIR,
  };
}

/**
 * Every Python that Spark starts here (drivers, executors' workers, the pyspark shell) writes
 * unbuffered, so a line a job prints reaches its log even when the job is stopped or killed.
 * Spark's PythonRunner and PythonWorkerFactory set it for the processes they start; this holds
 * for everything else that reads this environment too.
 */
export const PYTHON_UNBUFFERED = { PYTHONUNBUFFERED: '1' } as const;

function sparkEnv(facts: ClusterFacts, address: string): Record<string, string> {
  const home = facts.home.spark;
  return {
    SPARK_HOME: home,
    SPARK_CONF_DIR: SPARK_CONF,
    SPARK_LOCAL_IP: address,
    // Spark's launcher needs the Scala version to find jars/ (no source build here).
    SPARK_SCALA_VERSION: '2.13',
    SPARK_LOG_DIR: '/var/log/millrace/spark',
    HADOOP_CONF_DIR: HADOOP_CONF,
    PYSPARK_PYTHON: 'python3',
    ...PYTHON_UNBUFFERED,
    // Kerberos: daemons, drivers and executors read the spark principal's ticket from here.
    ...(facts.kerberos ? { KRB5CCNAME: SPARK_CCACHE, HADOOP_TOKEN_FILE_LOCATION: SPARK_TOKENS } : {}),
  };
}

export const KINIT_UNIT = 'millrace-spark-kinit.service';
const CREDENTIALS_SCRIPT = '/opt/millrace/bin/millrace-spark-credentials';
export const KINIT_TIMER = 'millrace-spark-kinit.timer';

/**
 * Kerberos on Spark standalone, which has no keytab login or delegation tokens of its own: a
 * systemd timer runs templates/spark/credentials.py every third of the ticket lifetime. It gets a
 * fresh ticket for the node's spark principal into the cache the daemons, drivers and executors
 * read (KRB5CCNAME), and keeps HDFS delegation tokens in a file executors load at start
 * (HADOOP_TOKEN_FILE_LOCATION): standalone runs executor code as a plain remote user, which the
 * NameNode would refuse without a token. The KMS is reached with the ticket instead: it forgets
 * its tokens when it restarts, which stopped running streaming jobs (the template says more).
 */
export function sparkKinitFiles(ctx: NodeContext): FileSpec[] {
  const k = ctx.cluster.kerberos;
  if (!k) return [];
  const kt = keytabsFor(ctx.node, k.realm).find((x) => x.service === 'spark')!;
  const every = Math.max(60, Math.floor(k.ticketLifetimeSeconds / 3));
  return [
    {
      path: `/etc/systemd/system/${KINIT_UNIT}`,
      content: [
        '# Rendered by millrace. Changes here are overwritten by the next `millrace up`.',
        '[Unit]',
        `Description=millrace: a fresh Kerberos ticket for ${kt.principal}`,
        'After=network.target',
        '',
        '[Service]',
        'Type=oneshot',
        'User=spark',
        'Group=spark',
        `ExecStart=${CREDENTIALS_SCRIPT}`,
        'TimeoutStartSec=300',
        '',
      ].join('\n'),
      mode: 0o644,
      owner: 'root',
      restarts: [],
    },
    {
      path: CREDENTIALS_SCRIPT,
      content: render('spark/credentials.py', {
        keytab: kt.path,
        principal: kt.principal,
        ccache: SPARK_CCACHE,
        tokens: SPARK_TOKENS,
        sparkHome: ctx.cluster.home.spark,
        sparkConf: SPARK_CONF,
        hadoopConf: HADOOP_CONF,
        maxAgeDays: 6,
        retrySeconds: 240,
      }),
      mode: 0o755,
      owner: 'root',
      restarts: [],
    },
    {
      path: `/etc/systemd/system/${KINIT_TIMER}`,
      content: [
        '# Rendered by millrace. Changes here are overwritten by the next `millrace up`.',
        '[Unit]',
        `Description=millrace: renew ${kt.principal}'s ticket every ${every}s (a third of kerberos.ticketLifetime)`,
        '',
        '[Timer]',
        'OnBootSec=5s',
        `OnUnitActiveSec=${every}s`,
        'AccuracySec=1s',
        '',
        '[Install]',
        'WantedBy=timers.target',
        '',
      ].join('\n'),
      mode: 0o644,
      owner: 'root',
      restarts: [],
    },
  ];
}

/**
 * Before `up` changes what a renewal run reads (krb5.conf: a realm moved to an existing KDC, or
 * back): its timer and any run in flight stop. A run that began on the old files kept them for its
 * whole life (the JVM reads krb5.conf and the Hadoop config once, and caches its login and its
 * FileSystem), so it asked the old KDC and refused the NameNode's new principal until its 240 s
 * ran out; `up`'s own run, which joined it, failed with it (2 of 3 runs on 2026-12-05, the timer
 * firing seconds before the move). The post-start step below starts both again on the new files.
 */
export async function pauseTicketRenewal(host: RemoteHost): Promise<void> {
  await host.execOrThrow(`if systemctl cat ${KINIT_TIMER} >/dev/null 2>&1; then systemctl stop ${KINIT_TIMER} ${KINIT_UNIT}; fi`, { what: 'pause Kerberos ticket renewal' });
}

/**
 * True (exit 0) when the renewal is already in place: the timer enabled and running, the unit's
 * last run a success, the token file there and newer than the script (which replaces tokens it
 * wrote before it changed), and a ticket in the cache, unexpired, for this node's spark principal
 * (not another realm's, after a move to an existing KDC).
 */
export function kinitFresh(principal: string): string {
  return [
    `systemctl is-enabled --quiet ${KINIT_TIMER}`,
    `systemctl is-active --quiet ${KINIT_TIMER}`,
    `[ "$(systemctl show -p Result --value ${KINIT_UNIT})" = success ]`,
    `test -s ${q(SPARK_TOKENS)}`,
    `test ${q(SPARK_TOKENS)} -nt ${q(CREDENTIALS_SCRIPT)}`,
    runAs('spark', cmd('klist', '-s', '-c', SPARK_CCACHE)),
    `${runAs('spark', cmd('klist', '-c', SPARK_CCACHE))} | grep -qxF ${q(`Default principal: ${principal}`)}`,
  ].join(' && ');
}

/**
 * After the daemons (which need no ticket of their own) and after this `up`'s rolling restarts on
 * every node: a ticket in the cache, delegation tokens from the NameNode and the KMS as they now
 * run, and the timer that keeps both fresh. Before the restarts it could not work: the NameNode
 * that turns Kerberos on restarts only once every node has planned its restarts, this one too, so
 * waiting for its tokens there waited out the script's 240 s and failed `up`. A renewal already in
 * place is left alone, unless this `up` restarted the NameNode: its tokens outlive a restart, but
 * not one onto another realm, and the run (seconds) renews them or gets new ones. Once per node
 * (the master's, else the worker's). With kerberos.enabled turned off, a timer left from before is
 * stopped: there is nothing to renew.
 */
async function sparkKinit(host: RemoteHost, ctx: NodeContext, service: 'spark-master' | 'spark-worker'): Promise<StepOutcome> {
  if (service === 'spark-worker' && ctx.node.roles.includes('spark-master')) return { changed: false };
  if (!ctx.cluster.kerberos) {
    const left = (await host.exec(`systemctl is-enabled ${KINIT_TIMER}`)).stdout.trim() === 'enabled';
    if (!left) return { changed: false };
    await host.execOrThrow(`systemctl disable --quiet --now ${KINIT_TIMER} && systemctl reset-failed ${KINIT_UNIT} 2>/dev/null; true`, { what: 'stop Kerberos ticket renewal' });
    return { changed: true, detail: `Kerberos off: ${KINIT_TIMER} stopped` };
  }
  const kt = keytabsFor(ctx.node, ctx.cluster.kerberos.realm).find((x) => x.service === 'spark')!;
  const restarted = ((await ctx.restartsDone?.()) ?? []).filter((r) => r.serviceId === 'hdfs-namenode');
  // Its run is a JVM for the delegation tokens (seconds): only when the timer is not already keeping them fresh.
  if (!restarted.length && (await host.exec(kinitFresh(kt.principal))).code === 0) return { changed: false };
  const enabled = (await host.exec(`systemctl is-enabled ${KINIT_TIMER}`)).stdout.trim() === 'enabled';
  const first = await host.exec(`systemctl restart ${KINIT_UNIT} && systemctl enable --quiet --now ${KINIT_TIMER} && systemctl restart ${KINIT_TIMER}`);
  if (first.code !== 0)
    throw await unitFailure(host, KINIT_UNIT, "get the spark principal's first ticket", first, {
      hint: `look at \`journalctl -u ${KINIT_UNIT}\` on ${host.name} (millrace ssh ${host.name}), then run \`millrace up\` again`,
    });
  return enabled ? { changed: false } : { changed: true, detail: `Kerberos ticket renewal (${KINIT_TIMER})` };
}

/** Keys in spark-defaults.conf that only applications read (millrace's jobs), never the daemons. */
const APPLICATION_KEYS = 'spark.millrace.';

function confFiles(ctx: NodeContext, restarts: string[]): FileSpec[] {
  const env = sparkEnv(ctx.cluster, ctx.node.privateAddress);
  const client = ctx.cluster.pipelineClient;
  const properties = sortedProperties(buildSparkDefaults(ctx), ctx.cluster.config.spark.overrides);
  // The daemons read every key but the applications' own (spark.millrace.*, e.g. the brokers):
  // adding or removing a broker must not restart the master and the workers under running jobs.
  const daemonsRead = properties.filter((p) => !p.key.startsWith(APPLICATION_KEYS)).map((p) => `${p.key} ${p.value}`).join('\n');
  return [
    {
      path: `${SPARK_CONF}/spark-defaults.conf`,
      ...withRestartDigest(render('spark/spark-defaults.conf', { nodeName: ctx.node.name, properties }), daemonsRead),
      mode: 0o600,
      owner: 'spark',
      restarts,
      secret: true,
    },
    ...serviceKeyFiles(ctx, 'spark', restarts, { pkcs12: true }).files,
    { path: SPARK_KAFKA_KEYSTORE, content: client.keyPem + client.certPem, mode: 0o600, owner: 'spark', restarts: [], secret: true },
    {
      path: `${SPARK_CONF}/spark-env.sh`,
      content: render('spark/spark-env.sh', { env: Object.entries(env).map(([key, value]) => ({ key, value: q(value) })) }),
      mode: 0o755,
      owner: 'root',
      restarts,
    },
    { path: `${SPARK_CONF}/log4j2.properties`, content: render('spark/log4j2.properties', { level: 'INFO' }), mode: 0o644, owner: 'root', restarts },
    // Jobs are HDFS clients: they read the cluster's Hadoop client config. Daemons need no restart.
    ...hadoopConfFiles(ctx.cluster, ctx.node),
  ];
}

function unitsHere(ctx: NodeContext): string[] {
  return [...(ctx.node.roles.includes('spark-master') ? [UNITS.master] : []), ...(ctx.node.roles.includes('spark-worker') ? [UNITS.worker] : [])];
}

function daemon(ctx: NodeContext, name: 'master' | 'worker', mainClass: string, args: string[]): FileSpec[] {
  const role = name === 'master' ? 'spark-master' : 'spark-worker';
  // Spark's own metrics reach JMX through its JmxSink (spark-defaults.conf), and the exporter serves them.
  const metrics = jmxExporter(ctx, { id: role, user: 'spark', port: portNumber(role, `${role}-metrics`), home: ctx.cluster.home.spark, restarts: [UNITS[name]] });
  return [...metrics.files, ...launcherFiles({
    name: `millrace-spark-${name}`,
    description: `Spark ${name} (${ctx.node.name})`,
    user: 'spark',
    mainClass,
    classpath: [SPARK_CONF, `${ctx.cluster.home.spark}/jars/*`],
    jvmOpts: [`-Xmx${ctx.cluster.memory.sparkDaemonHeap}`, `-Dlog4j.configurationFile=${SPARK_CONF}/log4j2.properties`, ...metrics.jvmOpts],
    args,
    env: sparkEnv(ctx.cluster, ctx.node.privateAddress),
  })];
}

const dirs = [
  { path: SPARK_CONF, mode: '755', owner: 'root:root' },
  { path: `${SPARK_CONF}/kafka`, mode: '700', owner: 'spark:spark' },
  ...tlsDirectories(['spark']),
  { path: HADOOP_CONF, mode: '755', owner: 'root:root' },
  { path: SPARK_DATA, mode: '750', owner: 'spark:spark' },
  { path: `${SPARK_DATA}/local`, mode: '700', owner: 'spark:spark' },
  { path: `${SPARK_DATA}/work`, mode: '700', owner: 'spark:spark' },
  { path: SPARK_RECOVERY, mode: '700', owner: 'spark:spark' },
  { path: APPS_DIR, mode: '750', owner: 'spark:spark' },
  { path: '/var/log/millrace/spark', mode: '750', owner: 'spark:spark' },
];

/** The master's web UI (HTTPS), where its JSON status and the kill endpoint are. */
export function masterUi(facts: ClusterFacts): string {
  if (!facts.sparkMaster) throw new MillraceError('this cluster has no spark-master', { hint: 'give one node the spark-master role' });
  return `https://${facts.sparkMaster.privateAddress}:${MASTER_HTTPS}`;
}

/** The parts of the master's /json/ status millrace reads. */
export interface MasterStatus {
  status?: string;
  workers: { host: string; state: string }[];
  activeapps: { id: string; name: string; state: string; cores: number; memoryperexecutor?: number; memoryperslave?: number; submitdate: string; duration: number }[];
}

/** Reads the master's JSON status over HTTPS from a cluster node, verifying the master against the cluster CA. */
export async function fetchMasterStatus(host: RemoteHost, facts: ClusterFacts): Promise<MasterStatus> {
  const text = await host.execOrThrow(`curl -sS --fail --max-time 10 --cacert ${q(CA_PEM)} ${q(`${masterUi(facts)}/json/`)}`, { what: "read the Spark master's status" });
  try {
    return JSON.parse(text) as MasterStatus;
  } catch {
    throw new MillraceError(`${host.name}: the Spark master's status is not JSON: ${text.trim().slice(0, 120)}`, { hint: 'look at the master: `millrace logs <master node> spark-master`' });
  }
}

/** The status for a health check: no answer is a failed check, not an error. */
const masterStatus = (host: RemoteHost, facts: ClusterFacts): Promise<MasterStatus | undefined> => fetchMasterStatus(host, facts).catch(() => undefined);

/**
 * Where a worker's checks read the master's status: on the master's node. Its web UI is open to
 * the operator and to that node only (lib/flows.ts), so a worker on another node could not reach
 * it on EC2; the caller's SSH connection to the master's node (ctx.peers) can.
 */
function masterNodeHost(host: RemoteHost, ctx: NodeContext): { host: RemoteHost } | { missing: string } {
  const master = ctx.cluster.sparkMaster;
  if (!master) return { missing: 'this cluster has no spark-master' };
  if (master.name === ctx.node.name) return { host };
  const peer = ctx.peers?.get(master.name);
  return peer ? { host: peer } : { missing: `no SSH connection to the master's node, ${master.name}, to read its status` };
}

/** The master's status as the worker's checks see it, read on the master's node. */
async function statusForWorker(host: RemoteHost, ctx: NodeContext): Promise<{ status?: MasterStatus; problem?: string }> {
  const on = masterNodeHost(host, ctx);
  if ('missing' in on) return { problem: on.missing };
  const status = await masterStatus(on.host, ctx.cluster);
  return status ? { status } : { problem: `no answer from the master UI (read on ${on.host.name})` };
}

function sparkKeyStores(ctx: NodeContext): KeyStoreSpec[] {
  const restarts = unitsHere(ctx);
  const own = serviceKeyFiles(ctx, 'spark', restarts, { pkcs12: true }).keyStores;
  // The RPC truststore: the cluster CA, owned by spark, under the spark keystore's password.
  const rpcTrust: KeyStoreSpec = { path: SPARK_TRUSTSTORE, kind: 'truststore', pemPath: CA_PEM, passwordPath: serviceTlsPaths(ctx, 'spark').passwordFile, owner: 'spark', restarts };
  return [...own, rpcTrust, ...trustFiles(ctx, []).keyStores];
}

/** What `status` shows of Spark's security: read from the node's spark-defaults.conf. */
async function sparkSecurityChecks(host: RemoteHost): Promise<HealthReport['checks']> {
  const text = await host.execOrThrow(`cat ${q(`${SPARK_CONF}/spark-defaults.conf`)}`);
  const conf = new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.split(' ')[0] ?? '', l.slice(l.indexOf(' ') + 1)]));
  const on = (k: string): boolean => conf.get(k) === 'true';
  return [
    { name: 'spark auth', ok: on('spark.authenticate') && (conf.get('spark.authenticate.secret') ?? '').length > 0, detail: on('spark.authenticate') ? 'on (shared secret)' : 'OFF' },
    {
      name: 'RPC encryption',
      ok: on('spark.network.crypto.enabled'),
      detail: [on('spark.ssl.rpc.enabled') ? 'TLS' : '', on('spark.network.crypto.enabled') ? 'AES' : ''].filter(Boolean).join(' + ') || 'OFF',
    },
    { name: 'UI kill', ok: conf.get('spark.ui.killEnabled') === 'false', detail: conf.get('spark.ui.killEnabled') === 'false' ? 'disabled' : 'ENABLED' },
    { name: 'UI ACLs', ok: on('spark.acls.enable'), detail: on('spark.acls.enable') ? `on, admins: ${conf.get('spark.admin.acls') ?? 'none'} (no UI authentication filter: requests are anonymous)` : 'OFF' },
    { name: 'local disk encryption', ok: on('spark.io.encryption.enabled'), detail: on('spark.io.encryption.enabled') ? 'on' : 'OFF' },
    { name: 'UI TLS', ok: on('spark.ssl.standalone.enabled') && on('spark.ssl.ui.enabled'), detail: on('spark.ssl.standalone.enabled') ? 'on' : 'OFF' },
  ];
}

export const sparkMasterService: Service = {
  id: 'spark-master',
  role: 'spark-master',
  unit: UNITS.master,
  user: 'spark',
  component: 'spark',
  ports: ROLE_PORTS['spark-master'],
  directories: () => dirs,
  postStart: (host, ctx) => sparkKinit(host, ctx, 'spark-master'),
  files: (ctx) => [
    ...confFiles(ctx, unitsHere(ctx)),
    ...sparkKinitFiles(ctx),
    ...daemon(ctx, 'master', 'org.apache.spark.deploy.master.Master', ['--host', ctx.node.privateAddress, '--port', String(SPARK_MASTER_PORT), '--webui-port', String(portNumber('spark-master', 'spark-master-ui'))]),
  ],
  keyStores: (ctx) => sparkKeyStores(ctx),
  securityChecks: (host) => sparkSecurityChecks(host),
  async healthCheck(host, ctx): Promise<HealthReport> {
    const checks = await unitAndPortChecks(host, UNITS.master, ctx.node.privateAddress, SPARK_MASTER_PORT);
    const status = await masterStatus(host, ctx.cluster);
    const alive = status?.workers.filter((w) => w.state === 'ALIVE').length ?? 0;
    checks.push({ name: 'master status', ok: status?.status === 'ALIVE', detail: status?.status ?? 'no answer from the master UI' });
    checks.push({ name: 'ALIVE workers', ok: alive >= ctx.cluster.sparkWorkers.length, detail: `${alive} of ${ctx.cluster.sparkWorkers.length}` });
    return report(checks);
  },
};

/**
 * Decommissions the running worker (SIGPWR, spark.decommission.enabled) and waits until the master
 * lists it DECOMMISSIONED: the master takes its executors from the applications and launches no
 * new one on it, so the restart's killed executors are not relaunched onto the stopping worker
 * (each such failure counts towards the application's 10, after which the master removes it).
 * The applications get executors again once the restarted worker registers (or, for a worker that
 * leaves the cluster, on the workers that stay). Only a worker whose
 * JVM handles SIGPWR (started with decommissioning on) is sent it: for any other process, the
 * signal's default action is to end it. SIGPWR is 30 on Linux (x86-64 and arm64). A worker the
 * master does not list ALIVE has nothing to protect, and one it does not list decommissioned
 * within 30 s is stopped anyway (with a warning): a restart is what repairs a stuck worker.
 */
export async function decommissionWorker(host: RemoteHost, ctx: NodeContext, timeoutMs = 30_000): Promise<BeforeStopNote | undefined> {
  const me = ctx.node.privateAddress;
  const listed = async (state: string): Promise<boolean> => (await statusForWorker(host, ctx)).status?.workers.some((w) => w.host === me && w.state === state) ?? false;
  const handles = await host.exec(
    `pid=$(systemctl show -p MainPID --value ${q(UNITS.worker)}); [ "\${pid:-0}" -gt 0 ] && m=$(awk '/^SigCgt:/ {print $2}' /proc/$pid/status) && [ $(( 0x$m >> 29 & 1 )) -eq 1 ]`,
  );
  if (handles.code !== 0) return undefined;
  const before = await statusForWorker(host, ctx);
  if (!before.status) return { message: `not decommissioned (${before.problem}); stopped without it`, warn: true };
  if (!before.status.workers.some((w) => w.host === me && w.state === 'ALIVE')) return undefined;
  await host.execOrThrow(`systemctl kill -s SIGPWR --kill-whom=main ${q(UNITS.worker)}`, { what: 'decommission the Spark worker' });
  return waitFor(async () => (await listed('DECOMMISSIONED')) && { message: 'decommissioned' }, { timeout: timeoutMs, interval: 1000, what: 'the decommission' }).catch(
    (): BeforeStopNote => ({ message: `the master did not list it decommissioned within ${Math.round(timeoutMs / 1000)} s; stopped anyway`, warn: true }),
  );
}

export const sparkWorkerService: Service = {
  id: 'spark-worker',
  role: 'spark-worker',
  unit: UNITS.worker,
  user: 'spark',
  component: 'spark',
  ports: ROLE_PORTS['spark-worker'],
  directories: () => dirs,
  postStart: (host, ctx) => sparkKinit(host, ctx, 'spark-worker'),
  files: (ctx) => [
    ...confFiles(ctx, unitsHere(ctx)),
    ...sparkKinitFiles(ctx),
    ...daemon(ctx, 'worker', 'org.apache.spark.deploy.worker.Worker', [
      '--host',
      ctx.node.privateAddress,
      '--port',
      String(portNumber('spark-worker', 'spark-worker-rpc')),
      '--webui-port',
      String(portNumber('spark-worker', 'spark-worker-ui')),
      '--cores',
      String(ctx.cluster.memory.sparkWorkerCores),
      '--memory',
      ctx.cluster.memory.sparkWorkerMemory,
      '--work-dir',
      `${SPARK_DATA}/work`,
      masterUrl(ctx.cluster),
    ]),
  ],
  keyStores: (ctx) => sparkKeyStores(ctx),
  beforeStop: (host, ctx) => decommissionWorker(host, ctx),
  async healthCheck(host, ctx): Promise<HealthReport> {
    const checks = await unitAndPortChecks(host, UNITS.worker, ctx.node.privateAddress, portNumber('spark-worker', 'spark-worker-rpc'));
    const { status, problem } = await statusForWorker(host, ctx);
    const me = status?.workers.find((w) => w.host === ctx.node.privateAddress && w.state === 'ALIVE');
    checks.push({ name: 'registered with master', ok: !!me, detail: me ? 'ALIVE' : (problem ?? lastLine(JSON.stringify(status?.workers ?? []))) });
    return report(checks);
  },
};
