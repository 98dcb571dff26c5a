/** HDFS NameNode and DataNode. */
import type { Logger } from 'pino';
import { ROLE_PORTS, portNumber } from '../../lib/roles';
import { waitFor } from '../../lib/retry';
import { cmd, q } from '../../lib/shell';
import { type RemoteHost, runAs } from '../remote-host';
import type { FileSpec, HealthReport, NodeContext, Service, StepOutcome } from '../service';
import {
  DFS_EXCLUDE,
  excludeWith,
  HADOOP_CONF,
  HADOOP_UNITS,
  HDFS_DATA,
  hadoopClasspath,
  hadoopConfFiles,
  hadoopJvmOpts,
  hadoopServerTls,
  namenodeConfFiles,
  NAMENODE_CONF,
  KMS_PORT,
  kmsUri,
  LAKE,
  LAKE_KEY,
  NAMENODE_RPC_PORT,
  parseExclude,
} from './hadoop-conf';
import { JAVA_TOOL, lastLine, launcherFiles, report, unitAndPortChecks } from './java-service';
import { jmxExporter } from './metrics';
import { CA_PEM } from './tls-files';
import { HDFS_TOOL_CCACHE, keytabsFor, negotiateCurl } from '../kerberos/realm';

/**
 * Runs a Hadoop tool class as the hdfs superuser on the node. With Kerberos it first gets a ticket
 * from the node's NameNode or DataNode keytab (both principals map to hdfs) into a cache of its own.
 */
export function hdfsTool(ctx: NodeContext, mainClass: string, ...args: string[]): string {
  const java = cmd(...JAVA_TOOL, '-Xmx256m', '-cp', hadoopClasspath(ctx.cluster).join(':'), `-Dhadoop.log.dir=/tmp`, mainClass, ...args);
  const login = hdfsToolLogin(ctx);
  return login ? `${login} && ${runAs('hdfs', `env KRB5CCNAME=${HDFS_TOOL_CCACHE} ${java}`)}` : runAs('hdfs', java);
}

/** DFSAdmin (the `hdfs dfsadmin` tool) as hdfs on a NameNode or DataNode node. */
export function dfsAdmin(ctx: NodeContext, ...args: string[]): string {
  return hdfsTool(ctx, 'org.apache.hadoop.hdfs.tools.DFSAdmin', ...args);
}

/** kinit as hdfs from the node's nn or dn keytab into the tools' cache; undefined without Kerberos. */
export function hdfsToolLogin(ctx: NodeContext): string | undefined {
  const k = ctx.cluster.kerberos;
  if (!k) return undefined;
  const kt = keytabsFor(ctx.node, k.realm).find((x) => x.service === 'nn' || x.service === 'dn');
  if (!kt) throw new Error(`${ctx.node.name} has no hdfs keytab: HDFS tools run as hdfs on namenode or datanode nodes`);
  return runAs('hdfs', cmd('kinit', '-k', '-t', kt.path, '-c', HDFS_TOOL_CCACHE, kt.principal));
}

/** curl options that authenticate to the KMS: SPNEGO with the tools' ticket (Kerberos), or the pseudo user name. */
function kmsCurlAuth(ctx: NodeContext, user: string): { prefix: string; query: string } {
  const login = hdfsToolLogin(ctx);
  return login ? { prefix: `${login} && ${negotiateCurl(HDFS_TOOL_CCACHE)}`, query: '' } : { prefix: 'curl', query: `?user.name=${user}` };
}

const FS_SHELL = 'org.apache.hadoop.fs.FsShell';

/** Directories every HDFS has: a world-writable, sticky /tmp, and /user for home directories. */
const HDFS_BASE_DIRS = [
  { path: '/tmp', mode: '1777' },
  { path: '/user', mode: '755' },
];
/** The lake belongs to the pipeline's user: Spark applications run as `spark`. */
export const LAKE_OWNER = 'spark';
/** The lake's mode: the owner reads and writes, its group reads, others nothing (`verify` checks it). */
export const LAKE_MODE = '750';

const CRYPTO_ADMIN = 'org.apache.hadoop.hdfs.tools.CryptoAdmin';

/** Zones as `hdfs crypto -listZones` prints them: path and key name per line. */
export function parseZones(out: string): { path: string; key: string }[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 2 && w[0]!.startsWith('/'))
    .map((w) => ({ path: w[0]!, key: w[1]! }));
}

/**
 * The lake's encryption zone: a KMS key, then the zone on an empty /lake, then its owner. Done
 * once the NameNode has left safemode; checked first on every `up`.
 */
async function ensureLakeZone(host: RemoteHost, ctx: NodeContext, log: Logger): Promise<string | undefined> {
  const zones = parseZones(await host.execOrThrow(hdfsTool(ctx, CRYPTO_ADMIN, '-listZones'), { what: 'list encryption zones' }));
  if (zones.some((z) => z.path === LAKE)) return undefined;
  const kms = ctx.cluster.kms;
  const provider = kmsUri(ctx.cluster);
  if (!kms || !provider) throw new Error('the lake needs a KMS: give one node the kms role');
  // The KMS may be on another node that is still starting.
  const auth = kmsCurlAuth(ctx, 'hdfs');
  const keysUrl = `https://${kms.privateAddress}:${KMS_PORT}/kms/v1/keys/names${auth.query}`;
  const names = await waitFor(
    async () => {
      const r = await host.exec(`${auth.prefix} -sS --fail --max-time 5 --cacert ${q(CA_PEM)} ${q(keysUrl)}`);
      return r.code === 0 ? (JSON.parse(r.stdout) as string[]) : undefined;
    },
    { timeout: 180_000, interval: 2000, what: `the KMS on ${kms.name} to answer over HTTPS`, hint: `look at \`millrace logs ${kms.name} hadoop-kms\`` },
  );
  if (!names.includes(LAKE_KEY)) {
    log.info({ keyName: LAKE_KEY }, 'creating the lake key in the KMS');
    await host.execOrThrow(hdfsTool(ctx, 'org.apache.hadoop.crypto.key.KeyShell', 'create', LAKE_KEY, '-size', '256', '-provider', provider), { what: `create the KMS key "${LAKE_KEY}"` });
  }
  log.info({ path: LAKE }, 'creating the encryption zone');
  await host.execOrThrow(
    [
      hdfsTool(ctx, FS_SHELL, '-mkdir', '-p', LAKE),
      hdfsTool(ctx, CRYPTO_ADMIN, '-createZone', '-keyName', LAKE_KEY, '-path', LAKE),
      hdfsTool(ctx, FS_SHELL, '-chown', `${LAKE_OWNER}:${LAKE_OWNER}`, LAKE),
      hdfsTool(ctx, FS_SHELL, '-chmod', LAKE_MODE, LAKE),
    ].join(' && '),
    { what: `create the encryption zone ${LAKE}` },
  );
  return `encryption zone ${LAKE} (key ${LAKE_KEY})`;
}

/** The NameNode's exclude file, as addresses (none when it is missing). */
export async function readExclude(host: RemoteHost): Promise<string[]> {
  return parseExclude((await host.exec(`cat ${q(DFS_EXCLUDE)} 2>/dev/null`)).stdout);
}

/** Writes the exclude file (root owns it; hdfs reads it) and makes the NameNode re-read it. */
export async function writeExclude(host: RemoteHost, ctx: NodeContext, content: string): Promise<void> {
  await host.putFile(DFS_EXCLUDE, content, { mode: 0o644 });
  await host.execOrThrow(dfsAdmin(ctx, '-refreshNodes'), { what: 'make the NameNode re-read its exclude file' });
}

/**
 * A DataNode of the config is never excluded: a node added at the address of one removed earlier
 * would otherwise be decommissioned as soon as it registers. Says what it changed, if anything.
 */
export async function readmitConfiguredDataNodes(host: RemoteHost, ctx: NodeContext, log: Logger): Promise<string | undefined> {
  const excluded = await readExclude(host);
  const readmitted = excluded.filter((a) => ctx.cluster.datanodes.some((d) => d.privateAddress === a));
  if (!readmitted.length) return undefined;
  await writeExclude(host, ctx, excludeWith(excluded, [], readmitted));
  log.info({ readmitted }, 'took DataNodes of the config out of the exclude file');
  return `readmitted DataNode ${readmitted.join(', ')}`;
}

export const namenodeService: Service = {
  id: 'hdfs-namenode',
  role: 'namenode',
  unit: HADOOP_UNITS.namenode,
  user: 'hdfs',
  component: 'hadoop',
  ports: ROLE_PORTS.namenode,
  directories: () => [
    { path: HADOOP_CONF, mode: '755', owner: 'root:root' },
    { path: HDFS_DATA, mode: '750', owner: 'hdfs:hdfs' },
    { path: `${HDFS_DATA}/name`, mode: '700', owner: 'hdfs:hdfs' },
  ],
  files: (ctx: NodeContext): FileSpec[] => [
    ...hadoopConfFiles(ctx.cluster, ctx.node),
    ...namenodeConfFiles(ctx.cluster, ctx.node),
    ...hadoopServerTls(ctx, HADOOP_CONF, [HADOOP_UNITS.namenode]).files,
    ...hdfsMetrics(ctx, 'namenode').files,
    ...launcherFiles({
      name: 'millrace-hdfs-namenode',
      description: `HDFS NameNode (${ctx.node.name})`,
      user: 'hdfs',
      mainClass: 'org.apache.hadoop.hdfs.server.namenode.NameNode',
      classpath: [...(ctx.cluster.kerberos ? [NAMENODE_CONF] : []), ...hadoopClasspath(ctx.cluster)],
      jvmOpts: [...hadoopJvmOpts(ctx.cluster, ctx.cluster.memory.namenodeHeap, 'namenode'), ...hdfsMetrics(ctx, 'namenode').jvmOpts],
      args: [],
    }),
  ],
  keyStores: (ctx: NodeContext) => hadoopServerTls(ctx, HADOOP_CONF, [HADOOP_UNITS.namenode]).keyStores,
  async initialize(host: RemoteHost, ctx: NodeContext, log: Logger): Promise<StepOutcome> {
    // The exclude file must exist before the NameNode starts (it reads dfs.hosts.exclude then);
    // once made, only a decommission changes it.
    const r = await host.execOrThrow(
      `if ! test -f ${q(DFS_EXCLUDE)}; then install -m 644 /dev/null ${q(DFS_EXCLUDE)} && echo exclude-made; fi; test -f ${q(`${HDFS_DATA}/name/current/VERSION`)} && echo formatted || true`,
      { what: "check the NameNode's state" },
    );
    const made = r.includes('exclude-made') ? ['made the DataNode exclude file'] : [];
    if (r.includes('formatted')) return made.length ? { changed: true, detail: made.join(', ') } : { changed: false };
    log.info('formatting the NameNode');
    await host.execOrThrow(
      hdfsTool(ctx, 'org.apache.hadoop.hdfs.server.namenode.NameNode', '-format', '-nonInteractive', '-clusterid', `CID-millrace-${ctx.cluster.config.name}`),
      { what: 'format the NameNode' },
    );
    return { changed: true, detail: ['formatted the NameNode', ...made].join(', ') };
  },
  async postStart(host: RemoteHost, ctx: NodeContext, log: Logger): Promise<StepOutcome> {
    const made: string[] = [];
    const readmitted = await readmitConfiguredDataNodes(host, ctx, log);
    if (readmitted) made.push(readmitted);
    const created: string[] = [];
    // All there (every `up` but the first): one JVM asks for all of them.
    const stat = await host.exec(hdfsTool(ctx, FS_SHELL, '-stat', '%F', ...HDFS_BASE_DIRS.map((d) => d.path)));
    const all = stat.code === 0 && stat.stdout.trim().split('\n').filter((l) => l.trim() === 'directory').length === HDFS_BASE_DIRS.length;
    for (const dir of all ? [] : HDFS_BASE_DIRS) {
      if ((await host.exec(hdfsTool(ctx, FS_SHELL, '-test', '-d', dir.path))).code === 0) continue;
      await host.execOrThrow(`${hdfsTool(ctx, FS_SHELL, '-mkdir', '-p', dir.path)} && ${hdfsTool(ctx, FS_SHELL, '-chmod', dir.mode, dir.path)}`, { what: `create ${dir.path} in HDFS` });
      created.push(dir.path);
    }
    if (created.length) log.info({ directories: created }, 'created HDFS directories');
    const zone = await ensureLakeZone(host, ctx, log);
    if (zone) created.push(zone);
    if (created.length) made.push(`created ${created.join(', ')}`);
    return made.length ? { changed: true, detail: made.join('; ') } : { changed: false };
  },
  async securityChecks(host: RemoteHost, ctx: NodeContext): Promise<HealthReport['checks']> {
    const r = await host.exec(hdfsTool(ctx, CRYPTO_ADMIN, '-listZones'));
    const zone = parseZones(r.stdout).find((z) => z.path === LAKE);
    return [{ name: 'encryption zone', ok: !!zone, detail: zone ? `${zone.path} (key ${zone.key})` : `no zone at ${LAKE}${r.code ? `: ${lastLine(r.stderr)}` : ''}` }];
  },
  async healthCheck(host: RemoteHost, ctx: NodeContext): Promise<HealthReport> {
    const checks = await unitAndPortChecks(host, HADOOP_UNITS.namenode, ctx.node.privateAddress, NAMENODE_RPC_PORT);
    if (checks.every((c) => c.ok)) {
      // One JVM for both (each is seconds on a small node, in every `up` and `status`): the report
      // starts with "Safe mode is ON" while the NameNode is in it (DFSAdmin#report).
      const report = await host.exec(dfsAdmin(ctx, '-report', '-live'));
      const liveLine = /Live datanodes \((\d+)\)/.exec(report.stdout);
      const answered = report.code === 0 && !!liveLine;
      const on = /^Safe mode is ON/m.test(report.stdout);
      checks.push({ name: 'safemode', ok: answered && !on, detail: !answered ? lastLine(report.stderr || report.stdout) : on ? 'on' : 'off' });
      const live = Number(liveLine?.[1] ?? 0);
      const want = ctx.cluster.datanodes.length;
      checks.push({ name: 'live DataNodes', ok: live >= want, detail: `${live} of ${want}` });
    }
    return report(checks);
  },
};

export const datanodeService: Service = {
  id: 'hdfs-datanode',
  role: 'datanode',
  unit: HADOOP_UNITS.datanode,
  user: 'hdfs',
  component: 'hadoop',
  ports: ROLE_PORTS.datanode,
  directories: () => [
    { path: HADOOP_CONF, mode: '755', owner: 'root:root' },
    { path: HDFS_DATA, mode: '750', owner: 'hdfs:hdfs' },
    // The DataNode refuses to start unless its data directory is exactly 700.
    { path: `${HDFS_DATA}/data`, mode: '700', owner: 'hdfs:hdfs' },
  ],
  files: (ctx: NodeContext): FileSpec[] => [
    ...hadoopConfFiles(ctx.cluster, ctx.node),
    ...hadoopServerTls(ctx, HADOOP_CONF, [HADOOP_UNITS.datanode]).files,
    ...hdfsMetrics(ctx, 'datanode').files,
    ...launcherFiles({
      name: 'millrace-hdfs-datanode',
      description: `HDFS DataNode (${ctx.node.name})`,
      user: 'hdfs',
      mainClass: 'org.apache.hadoop.hdfs.server.datanode.DataNode',
      classpath: hadoopClasspath(ctx.cluster),
      jvmOpts: [...hadoopJvmOpts(ctx.cluster, ctx.cluster.memory.datanodeHeap, 'datanode'), ...hdfsMetrics(ctx, 'datanode').jvmOpts],
      args: [],
    }),
  ],
  keyStores: (ctx: NodeContext) => hadoopServerTls(ctx, HADOOP_CONF, [HADOOP_UNITS.datanode]).keyStores,
  async healthCheck(host: RemoteHost, ctx: NodeContext): Promise<HealthReport> {
    return report(await unitAndPortChecks(host, HADOOP_UNITS.datanode, ctx.node.privateAddress, portNumber('datanode', 'datanode-transfer')));
  },
};

/** The NameNode's or DataNode's metrics endpoint (the JMX exporter, with the hdfs user's keystore). */
function hdfsMetrics(ctx: NodeContext, daemon: 'namenode' | 'datanode'): ReturnType<typeof jmxExporter> {
  return jmxExporter(ctx, {
    id: daemon,
    user: 'hdfs',
    port: portNumber(daemon, `${daemon}-metrics`),
    home: ctx.cluster.home.hadoop,
    restarts: [HADOOP_UNITS[daemon]],
    // The exporter skips string attributes: safe mode (FSState "safeMode") as hadoop_namenode_safemode 1 or 0, for its alert.
    ...(daemon === 'namenode' ? { rules: NAMENODE_SAFEMODE_RULES } : {}),
  });
}

const NAMENODE_SAFEMODE_RULES = [
  { pattern: 'Hadoop<service=NameNode, name=FSNamesystemState><>FSState: safeMode', name: 'hadoop_namenode_safemode', value: 1, type: 'GAUGE' },
  { pattern: 'Hadoop<service=NameNode, name=FSNamesystemState><>FSState: (?!safeMode).*', name: 'hadoop_namenode_safemode', value: 0, type: 'GAUGE' },
];
