/**
 * Shared by the integration tests: one real local cluster (systemd-nspawn nodes on 127.0.0.31-33),
 * brought up once per run by global-setup.ts, driven through the built CLI as a user would.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseProgressLines, progressLinesCommand } from '../../cli/demo/steps';
import { readInventory } from '../../lib/inventory';
import { waitFor } from '../../lib/retry';
import { clusterKnownHosts } from '../../provisioning/known-hosts';
import { connect, RemoteHost } from '../../provisioning/remote-host';
import { clientCredentials } from '../../provisioning/cluster-state';
import type { KafkaConnection } from '../../producers/kafka-types';
import { SPARK_CCACHE } from '../../provisioning/kerberos/realm';
import { portNumber } from '../../lib/roles';
import { CA_PEM } from '../../provisioning/services/tls-files';
import { firewallTable } from '../../targets/local/firewall';

export const REPO = path.resolve(__dirname, '../..');
export const TEST_DIR = path.join(REPO, '.millrace-test');
export const CLUSTER = 'itest';
export const CONFIG = path.join(TEST_DIR, 'itest.yaml');
export const ADDRESSES = { 'kafka-1': '127.0.0.31', 'spark-1': '127.0.0.32', 'hdfs-1': '127.0.0.33' } as const;

/** Caches (host image, bundles, apt packages) outlive a run; cluster state does not. */
export const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  MILLRACE_HOME: path.join(TEST_DIR, 'home'),
  MILLRACE_CACHE: process.env.MILLRACE_CACHE ?? path.join(os.homedir(), '.millrace', 'cache'),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
};
process.env.MILLRACE_HOME = ENV.MILLRACE_HOME;
process.env.MILLRACE_CACHE = ENV.MILLRACE_CACHE;

export const stateDir = (cluster = CLUSTER): string => path.join(ENV.MILLRACE_HOME!, 'clusters', cluster);

export function writeConfig(file: string, yaml: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, yaml);
  return file;
}

/**
 * MILLRACE_ITEST_KERBEROS=1 (or a ticket lifetime, e.g. 3m) brings the shared cluster up with
 * Kerberos on, to run a file (30, 59) on the kerberized cluster by hand:
 * `MILLRACE_ITEST_KERBEROS=3m npx jest --selectProjects integration 59-demo`.
 * CI runs without it; 70-kerberos turns Kerberos on and off itself.
 */
const ITEST_KERBEROS = process.env.MILLRACE_ITEST_KERBEROS ?? '';
export const KERBERIZED = ITEST_KERBEROS !== '' && ITEST_KERBEROS !== '0';
const KERBEROS_YAML = KERBERIZED ? `kerberos:\n  enabled: true\n${ITEST_KERBEROS === '1' ? '' : `  ticketLifetime: ${ITEST_KERBEROS}\n`}` : '';

const clusterYaml = (kerberos: string): string => `name: ${CLUSTER}
target: local
nodes:
  - { name: kafka-1, roles: [kafka], address: ${ADDRESSES['kafka-1']} }
  - { name: spark-1, roles: [spark-master, spark-worker], address: ${ADDRESSES['spark-1']} }
  - { name: hdfs-1, roles: [namenode, datanode, kms], address: ${ADDRESSES['hdfs-1']} }
${kerberos}artifacts:
  source: maven
`;
export const CLUSTER_YAML = clusterYaml(KERBEROS_YAML);

/**
 * The shared cluster's config with the producers' library chosen (kafka.client), for tests of the
 * library that `auto`, the default, does not choose on this machine (kafkajs, the fallback).
 */
export const configWithClient = (client: 'kafkajs' | 'librdkafka'): string => writeConfig(path.join(TEST_DIR, `client-${client}.yaml`), `${CLUSTER_YAML}kafka:\n  client: ${client}\n`);

/**
 * The shared cluster with Kerberos on (kerberos.enabled), tickets of 2 minutes (the shortest the
 * config takes, so renewals come within a test): 70-kerberos turns it on, 72-pipeline-kerberos
 * runs the pipeline on it.
 */
export const KERBEROS_TICKET_SECONDS = 120;
export const KERBEROS_CONFIG = writeConfig(path.join(TEST_DIR, 'kerberos.yaml'), clusterYaml(`kerberos:\n  enabled: true\n  ticketLifetime: ${KERBEROS_TICKET_SECONDS / 60}m\n`));

/**
 * HDFS's shell on spark-1 as the spark user, the way Spark's drivers reach HDFS: Spark's jars carry
 * the client, the node has the cluster's Hadoop config, and (Kerberos, the default) the spark
 * principal's ticket cache that millrace-spark-kinit.timer keeps fresh.
 */
export const SPARK_FS_SHELL = `runuser -u spark -- env KRB5CCNAME=${SPARK_CCACHE} java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m -cp '/etc/millrace/hadoop:/opt/millrace/spark/current/jars/*' org.apache.hadoop.fs.FsShell`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Puts the shared cluster back as the base config describes it: a no-op `up` (about 11 s) when it
 * already is. A test file that changes the cluster, or needs it as first brought up, calls this in
 * its beforeAll, so it does not depend on an earlier file having restored it.
 */
export async function ensureBaseCluster(): Promise<void> {
  const up = await cli(['up', '--json', '-c', CONFIG]);
  if (up.code !== 0) throw new Error(`up with the base config failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
}

/** Runs the built CLI as a subprocess, the way a user does. */
export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; asUser?: number; input?: string } = {}): Promise<CliResult> {
  const started = Date.now();
  const main = path.join(REPO, 'dist/cli/main.js');
  const [cmd, argv] = opts.asUser === undefined ? [process.execPath, [main, ...args]] : ['setpriv', [`--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--clear-groups', process.execPath, main, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv as string[], { env: opts.env ?? ENV, cwd: TEST_DIR });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20 * 60_000);
    child.on('error', reject);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** A direct SSH connection to a test node, for checks the CLI does not offer. */
export async function node(name: keyof typeof ADDRESSES): Promise<RemoteHost> {
  const inv = readInventory(CLUSTER);
  const n = inv.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no ${name} in the test inventory`);
  return connect(n, { knownHosts: clusterKnownHosts(CLUSTER) });
}

/**
 * Lets one connection the cluster's flow table does not have through its local firewall
 * (targets/local/firewall.ts), for a test that plays the network around the cluster (a jump host,
 * a corporate KDC, a client inside the VPC). `from` is an address or CIDR. Returns the undo; the
 * next `up` of the cluster drops it too.
 */
export function allowThroughFirewall(cluster: string, from: string, to: string, port: number): () => void {
  const element = `{ ${from} . ${to} . ${port} }`;
  const nft = (verb: 'add' | 'delete'): void => {
    execFileSync('nft', [verb, 'element', 'inet', firewallTable(cluster), 'allowed', element], { stdio: 'pipe' });
  };
  nft('add');
  return () => {
    try {
      nft('delete');
    } catch {
      // An up since has replaced the set: the element is gone already.
    }
  };
}

/** The connections 50-security makes on purpose for the firewall's negative test; zz-teardown allows only these. */
export const FIREWALL_CONTROLS = [
  { from: ADDRESSES['kafka-1'], to: ADDRESSES['hdfs-1'], port: 8020 },
  { from: ADDRESSES['kafka-1'], to: ADDRESSES['spark-1'], port: 8480 },
  { from: ADDRESSES['kafka-1'], to: ADDRESSES['hdfs-1'], port: 9600 },
];

/** 32-metrics' connection on purpose: a node that is not the monitor reaching a broker's metrics. */
export const METRICS_FIREWALL_CONTROL = { from: ADDRESSES['hdfs-1'], to: ADDRESSES['kafka-1'], port: portNumber('kafka', 'kafka-metrics') };

/** Every connection the tests make on purpose for the firewall to drop; zz-teardown allows only these. */
export const DELIBERATE_DENIALS = [...FIREWALL_CONTROLS, METRICS_FIREWALL_CONTROL];

export function caPem(): string {
  return fs.readFileSync(path.join(stateDir(), 'pki', 'ca.crt'), 'utf8');
}

export const BROKER = `${ADDRESSES['kafka-1']}:9093`;

/**
 * SIGKILL to the broker's JVM, the unit's main process (its launcher execs java): systemd
 * (Restart=on-failure) starts it again 5 s later. Not `systemctl kill` of the whole unit: systemd 252
 * then also signals the unit's cgroup, and that has failed once here with "Failed to send signal
 * SIGKILL to auxiliary processes: Input/output error" (exit 1) after the JVM was already dead.
 */
export const BROKER_SIGKILL = 'systemctl kill --kill-whom=main -s KILL millrace-kafka.service';

/**
 * Shell that prints "serving" once the broker's unit is active and its own JVM listens on 9093. By
 * the listener's pid, not just the port: the local nodes share the host's network namespace, and
 * another cluster's broker on its own address (a bench's, an experiment's) also listens on 9093.
 */
export const BROKER_SERVING = `pid=$(systemctl show -p MainPID --value millrace-kafka.service); systemctl is-active --quiet millrace-kafka.service && ss -ltnpH 'sport = :9093' | grep -q "pid=$pid," && echo serving || echo starting`;

/** Until kafka-1's broker serves (see BROKER_SERVING), over one SSH session; seconds it took. */
export async function untilBrokerServing(timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  const kafka = await node('kafka-1');
  try {
    await waitFor(async () => (await kafka.exec(BROKER_SERVING)).stdout.trim() === 'serving', { timeout: timeoutMs, what: "kafka-1's broker to serve on 9093" });
  } finally {
    await kafka.close();
  }
  return (Date.now() - started) / 1000;
}

/**
 * What kafkajs reports when a plaintext client talks to a TLS-only listener: the broker fails the
 * TLS handshake on the client's first bytes and closes the connection. A timeout is not a refusal.
 */
export const PLAINTEXT_REFUSED = /Closed connection|Connection error|ECONNRESET/;

/** A Kafka connection for a principal, with a client certificate from the test cluster's CA. */
export async function kafkaAs(principal: string | undefined, opts: { clientId?: string } = {}): Promise<KafkaConnection> {
  const tls = principal === undefined ? { caPem: caPem() } : await clientCredentials(CLUSTER, principal);
  return { brokers: [BROKER], clientId: opts.clientId ?? `itest-${principal ?? 'anonymous'}`, tls: { caPem: tls.caPem, ...('certPem' in tls ? { certPem: tls.certPem, keyPem: tls.keyPem } : {}) }, connectionTimeoutMs: 5000, retries: 1 };
}

/** Every file the run wrote about `up` from nothing: its log, and the process lists sampled meanwhile. */
export const UP_LOG = path.join(TEST_DIR, 'up-from-nothing.log');
export const UP_PS = path.join(TEST_DIR, 'up-from-nothing.ps.txt');

/**
 * Samples every process command line on this machine once a second. The local target's nodes
 * are containers on this machine, so their processes are all visible here.
 */
export function sampleProcessLists(file: string): () => number {
  let samples = 0;
  const take = (): void => {
    const lines: string[] = [];
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        if (cmd) lines.push(cmd);
      } catch {
        // The process ended between the listing and the read.
      }
    }
    fs.appendFileSync(file, `--- sample ${++samples} ${new Date().toISOString()}\n${lines.join('\n')}\n`);
  };
  take();
  const timer = setInterval(take, 1000);
  return () => {
    clearInterval(timer);
    take();
    return samples;
  };
}

export function randomName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What of this machine the nodes must leave alone: they share its network namespace. */
export const HOST_BEFORE = path.join(TEST_DIR, 'host-before-up.json');

export function hostNetworkFacts(): Record<string, unknown> {
  const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '(absent)');
  return {
    hostname: os.hostname(),
    etcHostname: read('/etc/hostname'),
    etcHosts: read('/etc/hosts'),
    resolvConf: read('/etc/resolv.conf'),
    // Loopback aliases come and go with the tests' listeners; the interfaces and their other addresses may not.
    interfaces: Object.fromEntries(Object.entries(os.networkInterfaces()).map(([name, addrs]) => [name, (addrs ?? []).map((a) => a.cidr).sort()])),
  };
}

/**
 * Rows a streaming ingest's events query has written, summed from its driver's progress lines
 * (spark-jobs/millrace_pipeline/streaming.py): what a test waits on, as cheap as an SSH command.
 * The verdict is always Spark's own count of the lake.
 */
export async function rowsWrittenByIngest(host: RemoteHost, driverLog: string): Promise<number> {
  const lines = parseProgressLines<{ output_rows?: number | null }>((await host.exec(progressLinesCommand(driverLog, 'events'))).stdout);
  return lines.reduce((sum, p) => sum + (p.output_rows ?? 0), 0);
}

/** The pipeline spec and the Spark jobs the integration tests submit. */
export const FLIGHTS_SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
export const JOB = (file: string): string => path.join(REPO, 'spark-jobs', file);

export interface SparkJob {
  id: string;
  name: string;
  state: string;
  /** The driver's working directory on the spark-master's node (driver.log is there). */
  workDir?: string;
}

/** The Spark applications `jobs --json` lists on `config`'s cluster. */
async function listJobs(config: string): Promise<SparkJob[]> {
  const r = await cli(['jobs', '--json', '-c', config]);
  if (r.code !== 0) throw new Error(`millrace jobs failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout) as SparkJob[];
}

/** Stops every Spark application named `name` that `jobs` lists (`jobs kill`), throwing with the CLI's reason if one refuses. */
export async function killJobsNamed(name: string, config = CONFIG): Promise<void> {
  for (const j of (await listJobs(config)).filter((x) => x.name === name)) {
    const killed = await cli(['jobs', 'kill', j.id, '-c', config]);
    if (killed.code !== 0) throw new Error(`jobs kill ${j.id} (${name}) failed (exit ${killed.code}):\n${killed.stderr.slice(-2000)}`);
  }
}

/** The running streaming ingest of the flights spec, as `jobs` lists it (with `config`: the shared cluster's by default). */
export async function runningIngest(config = CONFIG): Promise<SparkJob | undefined> {
  return (await listJobs(config)).find((j) => j.name === 'millrace-ingest-flights');
}

/**
 * Until the ingest job whose driver log this is has caught up: it wrote at least `atLeast` rows
 * since `before`, then none for 12 s (its trigger is 2 s); at most 10 minutes. The rows it wrote since `before`.
 */
export async function ingestCaughtUp(host: RemoteHost, driverLog: string, before = 0, atLeast = 1): Promise<number> {
  const deadline = Date.now() + 10 * 60_000;
  let last = -1;
  let unchangedSince = Date.now();
  for (;;) {
    const rows = await rowsWrittenByIngest(host, driverLog);
    if (rows !== last) [last, unchangedSince] = [rows, Date.now()];
    else if (Date.now() - unchangedSince >= 12_000 && rows - before >= atLeast) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  return last - before;
}

/** Until the ingest job has written rows beyond `before` (at most 2 minutes); whether it did. */
export async function ingestWrote(host: RemoteHost, driverLog: string, before: number): Promise<boolean> {
  for (const start = Date.now(); Date.now() - start < 120_000; await new Promise((r) => setTimeout(r, 1000))) {
    if ((await rowsWrittenByIngest(host, driverLog)) > before) return true;
  }
  return false;
}

/**
 * A fault in the middle of running ingest: `batch` flights (from row `skip` of the 3M file) are
 * produced at `rate`/s (default 1,000) under `source`; once ingest has written rows of them (nothing else produces
 * then) and while the producer still sends, `fault` runs; then the producer must finish with every
 * record acknowledged, and ingest catch up. The seconds from ingest's first write of the run to the
 * fault, and the rows ingest wrote since the start.
 */
export async function faultMidIngest(
  spark: RemoteHost,
  driverLog: string,
  run: { source: string; batch: number; skip: number; rate?: number },
  fault: () => Promise<void>,
): Promise<{ faultAfterSeconds: number; written: number }> {
  const before = await rowsWrittenByIngest(spark, driverLog);
  let produced = false;
  const producing = cli(['produce', '--json', '--spec', FLIGHTS_SPEC, '--source', 'vega:flights-3m.parquet', '--skip', String(run.skip), '--limit', String(run.batch), '--rate', String(run.rate ?? 1000), '--source-name', run.source, '-c', CONFIG]).finally(
    () => (produced = true),
  );
  const start = Date.now();
  if (!(await ingestWrote(spark, driverLog, before))) throw new Error(`ingest wrote no row of ${run.source} within 2 minutes of the producer's start (${driverLog})`);
  if (produced) throw new Error(`the producer of ${run.source} finished before ingest wrote its first rows: the fault would not be mid-stream`);
  const faultAfterSeconds = (Date.now() - start) / 1000;
  const faultStarted = Date.now();
  await fault();
  const faultSeconds = (Date.now() - faultStarted) / 1000;
  const done = await producing;
  if (done.code !== 0) throw new Error(`produce of ${run.source} failed (exit ${done.code}):\n${done.stderr.slice(-3000)}`);
  const sent = (JSON.parse(done.stdout) as { sent: number }).sent;
  if (sent !== run.batch) throw new Error(`produce of ${run.source} acknowledged ${sent} of ${run.batch} records`);
  const waited = Date.now();
  const written = await ingestCaughtUp(spark, driverLog, before, run.batch);
  // Where a slow run's time went, in CI's log. A full run on 2026-12-03 spent 10 minutes here
  // (58's DataNode kill) without saying where: a producer slower than its rate allows shows the
  // end of its stderr (a progress line every 5 s while it sends, then its summary).
  const expected = run.batch / (run.rate ?? 1000) + 120;
  const leftOpen = done.stderr.split('\n').filter((l) => /did not disconnect within/.test(l)).join('\n');
  const slow = (leftOpen ? `; ${leftOpen}` : '') + (done.seconds > expected ? `; SLOWER THAN ${expected.toFixed(0)} s, the end of its stderr:\n${done.stderr.trim().split('\n').slice(-15).join('\n')}` : '');
  console.log(`${run.source}: the producer took ${done.seconds.toFixed(0)} s (the fault ${faultAfterSeconds.toFixed(0)} s after ingest's first write of it, done in ${faultSeconds.toFixed(0)} s); ingest then caught up in ${((Date.now() - waited) / 1000).toFixed(0)} s with ${written} rows written since the start${slow}`);
  return { faultAfterSeconds, written };
}

export interface LakeCounts {
  events: number;
  distinct_ids: number;
  duplicate_ids: number;
}

/**
 * Rows of the lake whose ids start with `prefix`, counted by Spark (lake_stats.py); with lakeTotals,
 * the whole events table's too; with bySource, each source name's (ids `<source>#<n>`), from the same read.
 */
export async function lakeStats(prefix: string, options: { lakeTotals?: boolean; bySource?: boolean } = {}): Promise<LakeCounts & { lake?: LakeCounts; sources?: Record<string, LakeCounts> }> {
  const extra = [...(options.lakeTotals ? ['--lake-totals'] : []), ...(options.bySource ? ['--by-source'] : [])];
  // It takes 1-2 minutes; killed past 8, so a job that never gets an executor says why before the test's own timeout.
  const r = await cli(['submit', '--spec', FLIGHTS_SPEC, '--conf', 'spark.cores.max=1', JOB('lake_stats.py'), '-c', CONFIG, '--', '--id-prefix', prefix, ...extra], { timeoutMs: 8 * 60_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('MILLRACE_RESULT '));
  if (r.code !== 0 || !line) {
    const master = await sparkCores().catch((e: Error) => `could not be read: ${e.message}`);
    throw new Error(`lake_stats failed (exit ${r.code ?? 'killed'}) after ${r.seconds.toFixed(0)} s; the Spark master then: ${master}\n${r.stderr.slice(-3000)}`);
  }
  return JSON.parse(line.slice('MILLRACE_RESULT '.length)) as LakeCounts & { lake?: LakeCounts; sources?: Record<string, LakeCounts> };
}

/** The Spark master's workers and applications with their cores, read on spark-1: what a job that waits for an executor waits on. */
export async function sparkCores(): Promise<string> {
  const spark = await node('spark-1');
  try {
    const url = `https://${ADDRESSES['spark-1']}:${portNumber('spark-master', 'spark-master-https')}/json/`;
    const s = JSON.parse(await spark.execOrThrow(`curl -sSf --max-time 10 --cacert ${CA_PEM} '${url}'`, { what: "read the Spark master's status" })) as {
      workers: { host: string; state: string; cores: number; coresused: number }[];
      activeapps: { id: string; name: string; state: string; cores: number }[];
    };
    const workers = s.workers.map((w) => `${w.host} ${w.state} ${w.coresused}/${w.cores} cores used`).join(', ') || 'none';
    const apps = s.activeapps.map((a) => `${a.name} (${a.id}) ${a.state} with ${a.cores} cores`).join(', ') || 'none';
    return `workers: ${workers}; applications: ${apps}`;
  } finally {
    await spark.close();
  }
}

/** A DataNode as the NameNode's LiveNodes (JMX, over HTTPS on hdfs-1) has it. */
export interface LiveDataNode {
  /** ip:port, the address the NameNode knows it by (the source address of its registration). */
  xferaddr: string;
  numBlocks: number;
  adminState: string;
}

/** The NameNode's live DataNodes, read on hdfs-1 from its JMX servlet. */
export async function liveDataNodes(): Promise<LiveDataNode[]> {
  const hdfs = await node('hdfs-1');
  try {
    const url = `https://${ADDRESSES['hdfs-1']}:${portNumber('namenode', 'namenode-https')}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`;
    const out = await hdfs.execOrThrow(`curl -sSf --cacert ${CA_PEM} '${url}'`, { what: "read the NameNode's LiveNodes" });
    const info = (JSON.parse(out) as { beans: { LiveNodes: string }[] }).beans[0]!;
    return Object.values(JSON.parse(info.LiveNodes) as Record<string, LiveDataNode>).sort((a, b) => a.xferaddr.localeCompare(b.xferaddr));
  } finally {
    await hdfs.close();
  }
}

/** Prometheus on the monitor node (spark-1 on the test clusters), over HTTPS. */
export const PROMETHEUS = `https://${ADDRESSES['spark-1']}:${portNumber('monitor', 'prometheus')}`;

/** Prometheus's API, asked on the monitor node over HTTPS verified against the cluster CA. */
export async function prometheusApi<T>(apiPath: string): Promise<T> {
  const spark = await node('spark-1');
  try {
    const out = await spark.execOrThrow(`curl -sS --fail --max-time 20 --cacert ${CA_PEM} '${PROMETHEUS}${apiPath}'`);
    const body = JSON.parse(out) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`Prometheus ${apiPath}: ${out.slice(0, 300)}`);
    return body.data;
  } finally {
    await spark.close();
  }
}

export type PromSample = { metric: Record<string, string>; value: [number, string] };

/** An instant query's samples. */
export async function prometheusQuery(promql: string): Promise<PromSample[]> {
  return (await prometheusApi<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result;
}

/** Every query of the Grafana dashboard in examples/grafana, with its panel's title. */
export function dashboardQueries(): { title: string; expr: string }[] {
  const dashboard = JSON.parse(fs.readFileSync(path.join(REPO, 'examples/grafana/millrace-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
}

/** The dashboard's panels about the streaming jobs: they have data only while one runs (34-alerts runs one). */
export const isStreamingPanel = (q: { title: string }): boolean => q.title.startsWith('Streaming:');

/** The queries of `queries` that return no sample now, as "title: expr". */
export async function emptyQueries(queries: { title: string; expr: string }[]): Promise<string[]> {
  const empty: string[] = [];
  for (const q of queries) if (!(await prometheusQuery(q.expr)).length) empty.push(`${q.title}: ${q.expr}`);
  return empty;
}
