/**
 * Guarded overrides: the keys of `kafka.overrides`, `hdfs.overrides` and `spark.overrides` that can
 * switch off or weaken a promise of the README's Security section (TLS and client certificates,
 * the authorizer and its super users, Spark's secret and encryption, HDFS's encrypted block
 * transfer, permissions, HTTPS-only UIs, the KMS and its ACLs, secret redaction). Such a key is
 * refused unless the config acknowledges it by name in `<service>.unsafe`; then `up` warns and
 * `millrace verify` fails naming it, so a cluster with one is never reported secure.
 *
 * A pattern is the exact key, or a glob where `*` stands for any characters (dots included).
 * Matching is case-sensitive, as Kafka, Hadoop and Spark read their properties.
 */

/** The config sections with `overrides` (and `unsafe`); a new section is one more entry here. */
export const OVERRIDE_SERVICES = ['kafka', 'hdfs', 'spark'] as const;
export type OverrideService = (typeof OVERRIDE_SERVICES)[number];

export interface CriticalRule {
  pattern: string;
  /** What setting it can undo, in a few words: "the TLS of the Kafka listeners". */
  why: string;
}

const rules = (why: string, ...patterns: string[]): CriticalRule[] => patterns.map((pattern) => ({ pattern, why }));

/** server.properties: listeners, TLS, client authentication, the authorizer and who bypasses it. */
const KAFKA: CriticalRule[] = [
  ...rules(
    'it decides which listeners exist and which protocol each speaks (all are TLS with client certificates)',
    'listeners',
    'advertised.listeners',
    'listener.security.protocol.map',
    'inter.broker.listener.name',
    'controller.listener.names',
    'security.*',
  ),
  ...rules('it changes the TLS of the Kafka listeners: protocols, keystores, client certificates, how a certificate maps to a principal', 'ssl.*', 'listener.name.*.ssl.*'),
  ...rules('it configures SASL logins, which millrace does not guard (clients authenticate with certificates)', 'sasl.*', 'listener.name.*sasl.*', 'delegation.token.*'),
  ...rules('it decides who a client is (the principal its certificate maps to)', 'principal.builder.class', 'listener.name.*.principal.builder.class'),
  ...rules('it changes the authorizer, which denies what no ACL allows', 'authorizer.class.name', 'allow.everyone.if.no.acl.found'),
  ...rules('it decides who bypasses every ACL', 'super.users'),
  ...rules('it protects the passwords Kafka keeps in its metadata', 'password.encoder.*'),
];

/** Hadoop's properties (hdfs-site.xml; Spark's HDFS clients through spark.hadoop.*). */
const HADOOP: CriticalRule[] = [
  ...rules(
    "it changes Hadoop's security settings: authentication, authorization, group mapping, the key provider",
    'hadoop.security.*',
    'hadoop.rpc.protection',
    'hadoop.proxyuser.*',
  ),
  ...rules('it changes the encryption or authentication of block transfer', 'dfs.encrypt.*', 'dfs.data.transfer.*', 'dfs.trustedchannel.resolver.class', 'dfs.block.access.*'),
  ...rules('it changes the HTTPS-only web UIs and WebHDFS or their TLS', 'dfs.http.policy', 'dfs.https.*', 'dfs.client.https.*', 'dfs.client.*ssl*', 'hadoop.ssl.*', 'ssl.server.*', 'ssl.client.*', 'hadoop.http.*', 'dfs.web.authentication.*'),
  ...rules("it changes the lake's encryption zone keys or the KMS and its ACLs", 'dfs.encryption.*', 'hadoop.kms.*', 'key.acl.*', 'default.key.acl.*', 'whitelist.key.acl.*'),
  ...rules('it changes HDFS permissions and who may bypass them', 'dfs.permissions*', 'dfs.namenode.acls.enabled', 'dfs.namenode.inode.attributes.provider.class', 'dfs.cluster.administrators', 'dfs.datanode.data.dir.perm', 'fs.permissions.umask-mode'),
];

/** spark-defaults.conf: the shared secret, RPC and disk encryption, TLS, UI ACLs. */
const SPARK: CriticalRule[] = [
  ...rules("it changes Spark's authentication with the cluster secret", 'spark.authenticate*', 'spark.network.sasl.*'),
  ...rules("it changes Spark's encryption of RPC or local disk I/O", 'spark.network.crypto.*', 'spark.io.encryption.*'),
  ...rules("it changes the TLS of Spark's daemons and UIs", 'spark.ssl.*'),
  ...rules(
    "it changes who may view or act on Spark's UIs and applications",
    'spark.acls.*',
    'spark.admin.acls*',
    'spark.modify.acls*',
    'spark.ui.*acls*',
    'spark.history.ui.*acls*',
    'spark.ui.killEnabled',
    'spark.ui.filters',
    'spark.user.groups.mapping',
    'spark.master.ui.decommission.allow.mode',
  ),
  ...rules("it turns on the master's REST submission server, which has no authentication", 'spark.master.rest.*'),
  ...rules('it changes which secrets Spark redacts from its UI and logs', 'spark.redaction.*'),
];

export const CRITICAL_OVERRIDES: Record<OverrideService, CriticalRule[]> = { kafka: KAFKA, hdfs: HADOOP, spark: SPARK };

const globCache = new Map<string, RegExp>();
function globRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    globCache.set(pattern, re);
  }
  return re;
}

/** Whether `key` is `pattern` (exact), or matches it as a glob when it holds a `*`. */
export function matchesPattern(pattern: string, key: string): boolean {
  return pattern.includes('*') ? globRegExp(pattern).test(key) : pattern === key;
}

export interface CriticalMatch {
  /** The rule's pattern that matched, e.g. "ssl.*". */
  pattern: string;
  why: string;
}

/** Why an override key is security-critical for a section, or undefined when it is not. */
export function criticalOverride(service: OverrideService, key: string): CriticalMatch | undefined {
  const rule = CRITICAL_OVERRIDES[service].find((r) => matchesPattern(r.pattern, key));
  if (rule) return { pattern: rule.pattern, why: rule.why };
  // Spark hands spark.hadoop.* to the Hadoop clients of its jobs (HDFS, the KMS).
  const hadoop = /^spark\.hadoop\.(.+)$/.exec(key);
  if (service === 'spark' && hadoop) {
    const inner = criticalOverride('hdfs', hadoop[1]!);
    if (inner) return { pattern: `spark.hadoop.${inner.pattern}`, why: `${inner.why} (Spark passes spark.hadoop.* to its jobs' HDFS clients)` };
  }
  return undefined;
}

export interface UnsafeOverride {
  service: OverrideService;
  key: string;
  why: string;
}

type OverrideSections = Record<OverrideService, { overrides: Record<string, unknown>; unsafe?: string[] }>;

/**
 * The security-critical overrides a validated config carries, all of them acknowledged (an
 * unacknowledged one does not pass validation): for `up`'s warning and `verify`'s failures.
 */
export function unsafeOverrides(config: OverrideSections): UnsafeOverride[] {
  return OVERRIDE_SERVICES.flatMap((service) =>
    Object.keys(config[service].overrides).flatMap((key) => {
      const critical = criticalOverride(service, key);
      return critical ? [{ service, key, why: critical.why }] : [];
    }),
  );
}
