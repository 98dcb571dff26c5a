/** Hadoop KMS: the key server behind HDFS encryption zones (issue 4 uses it for the lake). */
import { portNumber, ROLE_PORTS } from '../../lib/roles';
import { q } from '../../lib/shell';
import { sortedProperties } from '../../templates/render';
import type { RemoteHost } from '../remote-host';
import type { FileSpec, HealthReport, NodeContext, Service } from '../service';
import { authToLocal, keytabsFor } from '../kerberos/realm';
import { HADOOP_CONF, HADOOP_UNITS, hadoopConfFiles, hadoopJvmOpts, hadoopSecurity, hadoopServerTls, KMS_PORT, LAKE_KEY } from './hadoop-conf';
import { CA_PEM } from './tls-files';
import { hadoopXml, launcherFiles, report, unitAndPortChecks } from './java-service';
import { jmxExporter } from './metrics';

const KMS_CONF = '/etc/millrace/kms';
const KMS_DATA = '/var/lib/millrace/kms';
/** Looked up on the classpath by name, so it lives in KMS_CONF. */
const PASSWORD_FILE = 'kms.keystore.password';

export function buildKmsSite(ctx: NodeContext): Record<string, string | number | boolean> {
  return {
    'hadoop.kms.key.provider.uri': `jceks://file@${KMS_DATA}/kms.keystore`,
    'hadoop.security.keystore.java-keystore-provider.password-file': PASSWORD_FILE,
    'hadoop.kms.http.host': ctx.node.privateAddress,
    'hadoop.kms.http.port': KMS_PORT,
    'hadoop.kms.ssl.enabled': true,
    ...kmsAuthentication(ctx),
    'hadoop.kms.cache.enable': true,
  };
}

/** SPNEGO with the node's HTTP principal when kerberos.enabled; else pseudo (the client names its user). */
function kmsAuthentication(ctx: NodeContext): Record<string, string> {
  const k = ctx.cluster.kerberos;
  if (!k) return { 'hadoop.kms.authentication.type': 'simple' };
  const http = keytabsFor(ctx.node, k.realm).find((x) => x.service === 'HTTP')!;
  return {
    'hadoop.kms.authentication.type': 'kerberos',
    'hadoop.kms.authentication.kerberos.keytab': http.path,
    'hadoop.kms.authentication.kerberos.principal': http.principal,
    'hadoop.kms.authentication.kerberos.name.rules': authToLocal(k.realm),
  };
}

/** The users behind the zone: the NameNode asks for new keys as hdfs; applications decrypt as spark. */
const KEY_ADMIN = 'hdfs';
const KEY_USER = 'spark';

/**
 * KMS ACLs: only hdfs manages keys and generates encrypted data keys, only spark decrypts them.
 * Without Kerberos the KMS takes the user a client names (see the README's security table).
 */
export function buildKmsAcls(): Record<string, string> {
  return {
    'hadoop.kms.acl.CREATE': KEY_ADMIN,
    'hadoop.kms.acl.DELETE': KEY_ADMIN,
    'hadoop.kms.acl.ROLLOVER': KEY_ADMIN,
    'hadoop.kms.acl.GET': KEY_ADMIN,
    'hadoop.kms.acl.GET_KEYS': KEY_ADMIN,
    'hadoop.kms.acl.GET_METADATA': `${KEY_ADMIN},${KEY_USER}`,
    'hadoop.kms.acl.SET_KEY_MATERIAL': KEY_ADMIN,
    'hadoop.kms.acl.GENERATE_EEK': KEY_ADMIN,
    'hadoop.kms.acl.DECRYPT_EEK': KEY_USER,
    'default.key.acl.MANAGEMENT': KEY_ADMIN,
    'default.key.acl.GENERATE_EEK': KEY_ADMIN,
    'default.key.acl.DECRYPT_EEK': KEY_USER,
    'default.key.acl.READ': `${KEY_ADMIN},${KEY_USER}`,
    [`key.acl.${LAKE_KEY}.MANAGEMENT`]: KEY_ADMIN,
    [`key.acl.${LAKE_KEY}.GENERATE_EEK`]: KEY_ADMIN,
    [`key.acl.${LAKE_KEY}.DECRYPT_EEK`]: KEY_USER,
    [`key.acl.${LAKE_KEY}.READ`]: `${KEY_ADMIN},${KEY_USER}`,
  };
}

export const kmsService: Service = {
  id: 'hadoop-kms',
  role: 'kms',
  unit: HADOOP_UNITS.kms,
  user: 'hdfs',
  component: 'hadoop',
  ports: ROLE_PORTS.kms,
  directories: () => [
    { path: HADOOP_CONF, mode: '755', owner: 'root:root' },
    { path: KMS_CONF, mode: '750', owner: 'root:hdfs' },
    { path: KMS_DATA, mode: '700', owner: 'hdfs:hdfs' },
  ],
  files: (ctx: NodeContext): FileSpec[] => [
    ...hadoopConfFiles(ctx.cluster, ctx.node),
    ...hadoopServerTls(ctx, KMS_CONF, [HADOOP_UNITS.kms]).files,
    ...kmsMetrics(ctx).files,
    { path: `${KMS_CONF}/kms-site.xml`, content: hadoopXml('kms-site', sortedProperties(buildKmsSite(ctx))), mode: 0o644, owner: 'root', restarts: [HADOOP_UNITS.kms] },
    // The KMS reads core-site.xml from its own config directory, and fails without one.
    {
      path: `${KMS_CONF}/core-site.xml`,
      content: hadoopXml('core-site', sortedProperties(hadoopSecurity(ctx.cluster))),
      mode: 0o644,
      owner: 'root',
      restarts: [HADOOP_UNITS.kms],
    },
    { path: `${KMS_CONF}/kms-acls.xml`, content: hadoopXml('kms-acls', sortedProperties(buildKmsAcls())), mode: 0o644, owner: 'root', restarts: [HADOOP_UNITS.kms] },
    {
      path: `${KMS_CONF}/${PASSWORD_FILE}`,
      content: ctx.cluster.secrets.kmsKeystorePassword,
      mode: 0o600,
      owner: 'hdfs',
      restarts: [HADOOP_UNITS.kms],
      secret: true,
    },
    ...launcherFiles({
      name: 'millrace-hadoop-kms',
      description: `Hadoop KMS (${ctx.node.name})`,
      user: 'hdfs',
      mainClass: 'org.apache.hadoop.crypto.key.kms.server.KMSWebServer',
      // A classpath of its own: from Maven the KMS is 3.4.x with Jersey 1 (see artifacts/catalog.ts).
      classpath: [KMS_CONF, `${ctx.cluster.home.hadoop}/kms/lib/*`],
      jvmOpts: [
        ...hadoopJvmOpts(ctx.cluster, ctx.cluster.memory.kmsHeap, 'kms'),
        `-Dkms.config.dir=${KMS_CONF}`,
        // Hadoop 3.4's KMS needs these on Java 17 (HADOOP-19310).
        '--add-opens=java.base/java.lang=ALL-UNNAMED',
        '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
        '--add-opens=java.base/java.util=ALL-UNNAMED',
        ...kmsMetrics(ctx).jvmOpts,
      ],
      args: [],
      env: { HADOOP_CONF_DIR: KMS_CONF, KMS_CONFIG: KMS_CONF },
    }),
  ],
  keyStores: (ctx: NodeContext) => hadoopServerTls(ctx, KMS_CONF, [HADOOP_UNITS.kms]).keyStores,
  async healthCheck(host: RemoteHost, ctx: NodeContext): Promise<HealthReport> {
    const checks = await unitAndPortChecks(host, HADOOP_UNITS.kms, ctx.node.privateAddress, KMS_PORT);
    if (checks.every((c) => c.ok)) {
      // With Kerberos, a request without a ticket must be answered 401 (SPNEGO required).
      const kerberos = !!ctx.cluster.kerberos;
      const url = `https://${ctx.node.privateAddress}:${KMS_PORT}/kms/v1/keys/names${kerberos ? '' : '?user.name=hdfs'}`;
      const r = await host.exec(`curl -sS -o /dev/null -w '%{http_code}' --cacert ${q(CA_PEM)} ${q(url)}`);
      const want = kerberos ? '401' : '200';
      checks.push({ name: kerberos ? 'KMS REST (HTTPS) asks for Kerberos' : 'KMS REST (HTTPS)', ok: r.stdout.trim() === want, detail: `HTTP ${r.stdout.trim() || r.stderr.trim()}` });
    }
    return report(checks);
  },
};

/** The KMS's metrics endpoint (the JMX exporter, with the hdfs user's keystore). */
function kmsMetrics(ctx: NodeContext): ReturnType<typeof jmxExporter> {
  return jmxExporter(ctx, { id: 'kms', user: 'hdfs', port: portNumber('kms', 'kms-metrics'), home: ctx.cluster.home.hadoop, restarts: [HADOOP_UNITS.kms] });
}
