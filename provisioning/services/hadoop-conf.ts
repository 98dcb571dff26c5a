/**
 * Hadoop configuration shared by the NameNode, DataNode and KMS on a node: one HADOOP_CONF_DIR,
 * rendered once per node from cluster facts, restarting whichever Hadoop units the node runs.
 */
import type { InventoryNode } from '../../lib/inventory';
import { portNumber } from '../../lib/roles';
import { render, sortedProperties } from '../../templates/render';
import { authToLocal, keytabsFor, principal } from '../kerberos/realm';
import type { ClusterFacts, FileSpec, KeyStoreSpec, NodeContext } from '../service';
import { hadoopXml } from './java-service';
import { serviceKeyFiles, serviceTlsPaths, TRUSTSTORE, trustFiles } from './tls-files';

export const HADOOP_CONF = '/etc/millrace/hadoop';
/** The NameNode's own hdfs-site.xml and hadoop-policy.xml (Kerberos only), first on its classpath. */
export const NAMENODE_CONF = '/etc/millrace/hadoop/namenode';
export const HDFS_DATA = '/var/lib/millrace/hdfs';
/**
 * The NameNode's exclude file: DataNodes being decommissioned (provisioning/hdfs-decommission.ts).
 * State, not config: the decommission writes it and `up` never overwrites it.
 */
export const DFS_EXCLUDE = `${HDFS_DATA}/dfs.exclude`;
export const NAMENODE_RPC_PORT = portNumber('namenode', 'namenode-rpc');
export const KMS_PORT = portNumber('kms', 'kms-https');
/** The encryption zone at the lake root, and the KMS key behind it. */
export const LAKE = '/lake';
export const LAKE_KEY = 'lake';

export const HADOOP_UNITS = {
  namenode: 'millrace-hdfs-namenode.service',
  datanode: 'millrace-hdfs-datanode.service',
  kms: 'millrace-hadoop-kms.service',
} as const;

/** The exclude file's addresses (one per line; blank lines and comments ignored). Pure. */
export function parseExclude(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** The exclude file with `add` in it and `remove` out of it, in a stable order. Pure. */
export function excludeWith(current: readonly string[], add: readonly string[], remove: readonly string[] = []): string {
  const set = new Set([...current, ...add].filter((a) => !remove.includes(a)));
  return [...set].sort().map((a) => `${a}\n`).join('');
}

export function defaultFs(facts: ClusterFacts): string {
  return `hdfs://${facts.namenode.privateAddress}:${NAMENODE_RPC_PORT}`;
}

export function kmsUri(facts: ClusterFacts): string | undefined {
  return facts.kms ? `kms://https@${facts.kms.privateAddress}:${KMS_PORT}/kms` : undefined;
}

/** Hadoop's security settings: Kerberos with privacy on every RPC when kerberos.enabled, else simple. */
export function hadoopSecurity(facts: ClusterFacts): Record<string, string | boolean> {
  const k = facts.kerberos;
  if (!k) return { 'hadoop.security.authentication': 'simple', 'hadoop.security.authorization': false };
  return {
    'hadoop.security.authentication': 'kerberos',
    'hadoop.security.authorization': true,
    'hadoop.rpc.protection': 'privacy',
    'hadoop.security.auth_to_local': authToLocal(k.realm),
    // A JVM logged in from a ticket cache (Spark's daemons, drivers and executors) runs this with
    // -R before its ticket ends, then re-reads the cache. millrace's timer is the cache's only
    // writer (templates/spark/credentials.py), so the JVMs only re-read it: no second writer
    // racing the timer, and no renewal that fails where the ticket's renewable life is its life.
    'hadoop.kerberos.kinit.command': '/bin/true',
  };
}

/**
 * The KMS client's retries. Its default is one try per KMS, and there is one KMS, so a KMS restart
 * (any `up` that changes the Hadoop config restarts it) failed every client that needed a key in
 * those seconds: a streaming query writing to the lake terminated. Now a call waits for it, with
 * sleeps doubling from 1 s up to 10 s, for about six minutes.
 */
export const KMS_CLIENT_RETRIES = {
  'hadoop.security.kms.client.failover.max.retries': 40,
  'hadoop.security.kms.client.failover.sleep.base.millis': 1000,
  'hadoop.security.kms.client.failover.sleep.max.millis': 10_000,
} as const;

export function buildCoreSite(facts: ClusterFacts): Record<string, string | number | boolean> {
  const kms = kmsUri(facts);
  return {
    'fs.defaultFS': defaultFs(facts),
    ...hadoopSecurity(facts),
    ...(kms ? { 'hadoop.security.key.provider.path': kms, ...KMS_CLIENT_RETRIES } : {}),
  };
}

/**
 * The Kerberos part of hdfs-site.xml. Clients accept any DataNode principal of the realm
 * (`.pattern`), so they need no reverse DNS to name the DataNode they reach. The NameNode's own
 * copy (`forNameNode`) leaves dfs.datanode.kerberos.principal out: with it, the NameNode would
 * check a DataNode's principal against the reverse-DNS name of its address; without it, the
 * service ACL (hadoop-policy.xml) still admits only principals that map to hdfs.
 */
export function hdfsKerberos(facts: ClusterFacts, node: InventoryNode, forNameNode: boolean): Record<string, string | boolean> {
  const k = facts.kerberos;
  if (!k) return {};
  const keytab = (svc: string): string | undefined => keytabsFor(node, k.realm).find((x) => x.service === svc)?.path;
  const nnKeytab = keytab('nn');
  const dnKeytab = keytab('dn');
  const http = keytabsFor(node, k.realm).find((x) => x.service === 'HTTP');
  return {
    'dfs.namenode.kerberos.principal': principal('nn', facts.namenode, k.realm),
    'dfs.namenode.kerberos.principal.pattern': `nn/*@${k.realm}`,
    ...(nnKeytab ? { 'dfs.namenode.keytab.file': nnKeytab } : {}),
    ...(forNameNode ? {} : { 'dfs.datanode.kerberos.principal': `dn/_HOST@${k.realm}` }),
    'dfs.datanode.kerberos.principal.pattern': `dn/*@${k.realm}`,
    ...(dnKeytab ? { 'dfs.datanode.keytab.file': dnKeytab } : {}),
    ...(http ? { 'dfs.web.authentication.kerberos.principal': http.principal, 'dfs.web.authentication.kerberos.keytab': http.path } : {}),
    'dfs.data.transfer.protection': 'privacy',
  };
}

export function buildHdfsSite(facts: ClusterFacts, node: InventoryNode, forNameNode = false): Record<string, string | number | boolean> {
  const nn = facts.namenode.privateAddress;
  const here = node.privateAddress;
  return {
    ...hdfsKerberos(facts, node, forNameNode),
    'dfs.namenode.name.dir': `${HDFS_DATA}/name`,
    'dfs.namenode.rpc-address': `${nn}:${NAMENODE_RPC_PORT}`,
    // Web UIs and WebHDFS over HTTPS only.
    'dfs.http.policy': 'HTTPS_ONLY',
    'dfs.namenode.https-address': `${nn}:${portNumber('namenode', 'namenode-https')}`,
    'dfs.datanode.https.address': `${here}:${portNumber('datanode', 'datanode-https')}`,
    // Block data in transit: encrypted with keys the NameNode hands out with block access tokens,
    // which works without Kerberos (Hadoop RPC itself does not; see the README's security table).
    'dfs.block.access.token.enable': true,
    'dfs.encrypt.data.transfer': true,
    'dfs.encrypt.data.transfer.cipher.suites': 'AES/CTR/NoPadding',
    'dfs.encrypt.data.transfer.cipher.key.bitlength': 256,
    // Nodes are addressed by IP; reverse DNS for loopback or VPC addresses is not guaranteed.
    'dfs.namenode.datanode.registration.ip-hostname-check': false,
    'dfs.datanode.data.dir': `${HDFS_DATA}/data`,
    // The NameNode records a DataNode by the source address of its registration (on the local
    // target too: targets/local/source-address.ts). DataNodes also announce their own address as
    // their host name, and clients and peers connect by that name, not by a reverse lookup.
    'dfs.datanode.hostname': here,
    'dfs.client.use.datanode.hostname': true,
    'dfs.datanode.use.datanode.hostname': true,
    'dfs.datanode.address': `${here}:${portNumber('datanode', 'datanode-transfer')}`,
    'dfs.datanode.ipc.address': `${here}:${portNumber('datanode', 'datanode-ipc')}`,
    'dfs.replication': Math.min(3, facts.datanodes.length),
    'dfs.hosts.exclude': DFS_EXCLUDE,
    'dfs.permissions.enabled': true,
    'dfs.permissions.superusergroup': 'hdfs',
    'dfs.namenode.safemode.extension': 0,
    // A client closing a file asks the NameNode to complete it, which succeeds once a DataNode has
    // reported the last block; until then the client sleeps and asks again, first after 400 ms by
    // default. Each streaming micro-batch closes several files one after another (its Parquet
    // files, the sink's log, the offsets and commits), and about half of those closes paid the
    // 400 ms: produce → lake at 2,000 events/s went from p50 3.5 s / p99 7.8 s to 2.0 s / 3.4 s
    // with these two. The polls start at 25 ms, and as many of them (doubling) add up to about the
    // default's 12 s before a close fails.
    'dfs.client.block.write.locateFollowingBlock.initial.delay.ms': 25,
    'dfs.client.block.write.locateFollowingBlock.retries': 9,
  };
}

/** The Hadoop daemons on a node: a change to the shared config restarts each of them. */
export function hadoopUnitsOn(node: InventoryNode): string[] {
  return [
    ...(node.roles.includes('namenode') ? [HADOOP_UNITS.namenode] : []),
    ...(node.roles.includes('datanode') ? [HADOOP_UNITS.datanode] : []),
    ...(node.roles.includes('kms') ? [HADOOP_UNITS.kms] : []),
  ];
}

/** The truststore that Hadoop clients (of the KMS, of the HTTPS UIs) use; no password needed to read it. */
export function buildSslClient(): Record<string, string> {
  return { 'ssl.client.truststore.location': TRUSTSTORE, 'ssl.client.truststore.type': 'jks' };
}

/** The keystore of Hadoop's HTTPS servers (NameNode, DataNode, KMS); holds its password, so 0600. */
export function buildSslServer(ctx: NodeContext): Record<string, string> {
  const p = serviceTlsPaths(ctx, 'hdfs');
  return {
    'ssl.server.keystore.location': p.keystore,
    'ssl.server.keystore.type': 'pkcs12',
    'ssl.server.keystore.password': p.password,
    'ssl.server.keystore.keypassword': p.password,
    'ssl.server.truststore.location': TRUSTSTORE,
    'ssl.server.truststore.type': 'jks',
  };
}

/** ssl-server.xml (for a daemon's conf dir) with the keystore it names. */
export function hadoopServerTls(ctx: NodeContext, confDir: string, restarts: string[]): { files: FileSpec[]; keyStores: KeyStoreSpec[] } {
  const key = serviceKeyFiles(ctx, 'hdfs', restarts, { pkcs12: true });
  const trust = trustFiles(ctx, restarts);
  return {
    files: [
      ...key.files,
      ...trust.files,
      { path: `${confDir}/ssl-server.xml`, content: hadoopXml('ssl-server', sortedProperties(buildSslServer(ctx))), mode: 0o600, owner: 'hdfs', restarts, secret: true },
    ],
    keyStores: [...key.keyStores, ...trust.keyStores],
  };
}

/** core-site.xml, hdfs-site.xml, ssl-client.xml and log4j.properties for this node (clients read them too). */
export function hadoopConfFiles(facts: ClusterFacts, node: InventoryNode): FileSpec[] {
  const restarts = hadoopUnitsOn(node);
  const overrides = facts.config.hdfs.overrides;
  const ctx = { cluster: facts, node };
  return [
    ...trustFiles(ctx, restarts).files,
    { path: `${HADOOP_CONF}/ssl-client.xml`, content: hadoopXml('ssl-client', sortedProperties(buildSslClient())), mode: 0o644, owner: 'root', restarts },
    { path: `${HADOOP_CONF}/core-site.xml`, content: hadoopXml('core-site', sortedProperties(buildCoreSite(facts))), mode: 0o644, owner: 'root', restarts },
    {
      path: `${HADOOP_CONF}/hdfs-site.xml`,
      content: hadoopXml('hdfs-site', sortedProperties(buildHdfsSite(facts, node), overrides)),
      mode: 0o644,
      owner: 'root',
      restarts,
    },
    { path: `${HADOOP_CONF}/log4j.properties`, content: render('hadoop/log4j.properties', {}), mode: 0o644, owner: 'root', restarts },
  ];
}

/**
 * Service-level authorization (Kerberos only): the DataNode protocols admit only principals that
 * map to hdfs; the other protocols keep Hadoop's default (any authenticated principal), with HDFS
 * permissions and the KMS ACLs deciding what each may do.
 */
export function buildHadoopPolicy(): Record<string, string> {
  return {
    'security.datanode.protocol.acl': 'hdfs',
    'security.inter.datanode.protocol.acl': 'hdfs',
    'security.refresh.policy.protocol.acl': 'hdfs',
    'security.refresh.user.mappings.protocol.acl': 'hdfs',
  };
}

/** The NameNode's own config directory (Kerberos only): see hdfsKerberos. */
export function namenodeConfFiles(facts: ClusterFacts, node: InventoryNode): FileSpec[] {
  if (!facts.kerberos) return [];
  const restarts = [HADOOP_UNITS.namenode];
  return [
    {
      path: `${NAMENODE_CONF}/hdfs-site.xml`,
      content: hadoopXml('hdfs-site', sortedProperties(buildHdfsSite(facts, node, true), facts.config.hdfs.overrides)),
      mode: 0o644,
      owner: 'root',
      restarts,
    },
    { path: `${NAMENODE_CONF}/hadoop-policy.xml`, content: hadoopXml('hadoop-policy', sortedProperties(buildHadoopPolicy())), mode: 0o644, owner: 'root', restarts },
  ];
}

/** The install root is on the classpath for webapps/, which Hadoop's HTTP servers look up there. */
export function hadoopClasspath(facts: ClusterFacts): string[] {
  return [HADOOP_CONF, facts.home.hadoop, `${facts.home.hadoop}/lib/*`];
}

export function hadoopJvmOpts(facts: ClusterFacts, heap: string, logName: string): string[] {
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-Djava.net.preferIPv4Stack=true',
    `-Dlog4j.configuration=file:${HADOOP_CONF}/log4j.properties`,
    `-Dhadoop.log.dir=/var/log/millrace/hadoop`,
    `-Dhadoop.log.file=${logName}.log`,
    `-Dhadoop.home.dir=${facts.home.hadoop}`,
  ];
}
