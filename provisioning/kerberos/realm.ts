/**
 * Kerberos for HDFS, the KMS and Spark's access to them (kerberos.enabled): the realm, one
 * principal and keytab per service and node, krb5.conf, and how principals map to the users
 * Hadoop's permissions and the KMS ACLs name. Pure: no SSH, no disk (kdc.ts does the work).
 *
 * Principals are named by the node's private address (nn/10.0.1.5@REALM), the address every
 * client already connects to: Hadoop's `_HOST` and SPNEGO then need no reverse DNS, which a VPC,
 * a customer's network and the loopback testbed each answer differently. krb5.conf turns host
 * name canonicalization off for the same reason.
 */
import { durationSeconds, splitHostPort, type ClusterConfig } from '../../lib/config';
import type { InventoryNode } from '../../lib/inventory';
import type { Role } from '../../lib/roles';
import type { FileSpec } from '../service';

export interface KerberosFacts {
  realm: string;
  /** Where every node reaches the KDC: the kdc node's private address, or an existing KDC (kerberos.kdc). */
  kdc: { name: string; address: string; port: number };
  /** The node millrace runs the KDC on; absent with an existing KDC. */
  kdcNode?: InventoryNode;
  /** An existing KDC's kadmin server and the principal millrace administers it as (kerberos.admin). */
  admin?: { server: string; port: number; principal: string; passwordEnv: string };
  ticketLifetimeSeconds: number;
}

export const KEYTAB_DIR = '/etc/millrace/keytabs';
export const KRB5_CONF = '/etc/krb5.conf';
/** Where Spark's daemons, drivers and executors find the spark principal's ticket (renewed by a timer). */
export const SPARK_CCACHE = 'FILE:/var/lib/millrace/spark/krb5cc';
/** Delegation tokens (HDFS, KMS) for Spark executors on the node, kept fresh by the same timer. */
export const SPARK_TOKENS = '/var/lib/millrace/spark/hadoop.tokens';
/** The ticket cache millrace's own HDFS tools use as hdfs (a kinit from the node's keytab before each use). */
export const HDFS_TOOL_CCACHE = 'FILE:/var/lib/millrace/hdfs/tools.krb5cc';

export function realmFor(config: Pick<ClusterConfig, 'name' | 'kerberos'>): string {
  return config.kerberos.realm ?? `${config.name.toUpperCase()}.MILLRACE`;
}

export function kerberosFacts(config: ClusterConfig, nodes: InventoryNode[]): KerberosFacts | undefined {
  const kc = config.kerberos;
  if (!kc.enabled) return undefined;
  const realm = realmFor(config);
  const ticketLifetimeSeconds = durationSeconds(kc.ticketLifetime);
  if (kc.kdc !== undefined) {
    // The config's rules make sure an existing KDC comes with its admin principal.
    if (!kc.admin) throw new Error('kerberos.kdc without kerberos.admin');
    const kdc = splitHostPort(kc.kdc, 88);
    const server = splitHostPort(kc.admin.server ?? kdc.host, 749);
    return {
      realm,
      kdc: { name: `the KDC ${kc.kdc}`, address: kdc.host, port: kdc.port },
      admin: { server: server.host, port: server.port, principal: kc.admin.principal.includes('@') ? kc.admin.principal : `${kc.admin.principal}@${realm}`, passwordEnv: kc.admin.passwordEnv },
      ticketLifetimeSeconds,
    };
  }
  const node = nodes.find((n) => n.roles.includes('kdc'));
  if (!node) throw new Error('kerberos.enabled but no node has the kdc role (the config gives it to the namenode\'s node)');
  return { realm, kdc: { name: node.name, address: node.privateAddress, port: 88 }, kdcNode: node, ticketLifetimeSeconds };
}

/** The service part of each principal, and the OS user whose keytab holds it. */
export type PrincipalService = 'nn' | 'dn' | 'HTTP' | 'spark';
export interface KeytabSpec {
  service: PrincipalService;
  principal: string;
  path: string;
  owner: 'hdfs' | 'spark';
  /** The units that read it: a new keytab restarts them. */
  units: string[];
}

export function principal(service: PrincipalService, node: Pick<InventoryNode, 'privateAddress'>, realm: string): string {
  return `${service}/${node.privateAddress}@${realm}`;
}

const has = (node: InventoryNode, ...roles: Role[]): boolean => roles.some((r) => node.roles.includes(r));
// The Hadoop units by role (hadoop-conf.ts's HADOOP_UNITS, which imports this file).
const HADOOP_UNIT_OF: Partial<Record<Role, string>> = {
  namenode: 'millrace-hdfs-namenode.service',
  datanode: 'millrace-hdfs-datanode.service',
  kms: 'millrace-hadoop-kms.service',
};

/** The keytabs a node needs: one per principal, each only on the nodes that run its service. */
export function keytabsFor(node: InventoryNode, realm: string): KeytabSpec[] {
  const unit = (r: Role): string[] => (node.roles.includes(r) ? [HADOOP_UNIT_OF[r]!] : []);
  const out: KeytabSpec[] = [];
  if (has(node, 'namenode')) out.push({ service: 'nn', principal: principal('nn', node, realm), path: `${KEYTAB_DIR}/nn.keytab`, owner: 'hdfs', units: unit('namenode') });
  if (has(node, 'datanode')) out.push({ service: 'dn', principal: principal('dn', node, realm), path: `${KEYTAB_DIR}/dn.keytab`, owner: 'hdfs', units: unit('datanode') });
  // SPNEGO: the KMS's REST API, and the NameNode's and DataNodes' web endpoints (WebHDFS).
  if (has(node, 'namenode', 'datanode', 'kms'))
    out.push({ service: 'HTTP', principal: principal('HTTP', node, realm), path: `${KEYTAB_DIR}/http.keytab`, owner: 'hdfs', units: [...unit('namenode'), ...unit('datanode'), ...unit('kms')] });
  if (has(node, 'spark-master', 'spark-worker'))
    out.push({
      service: 'spark',
      principal: principal('spark', node, realm),
      path: `${KEYTAB_DIR}/spark.keytab`,
      owner: 'spark',
      units: ['millrace-spark-kinit.service'],
    });
  return out;
}

/** Every principal of the cluster, for the KDC. */
export function clusterPrincipals(nodes: InventoryNode[], realm: string): string[] {
  return [...new Set(nodes.flatMap((n) => keytabsFor(n, realm).map((k) => k.principal)))].sort();
}

/**
 * Principal → short user name, for HDFS permissions and the KMS ACLs: the NameNode's and
 * DataNodes' principals are hdfs, Spark's is spark; anything else of the realm is its first
 * component (HTTP, a person's name), which no ACL names; other realms are refused.
 */
export function authToLocal(realm: string): string {
  const r = realm.replace(/\./g, '\\.');
  return [`RULE:[2:$1@$0](nn@${r})s/.*/hdfs/`, `RULE:[2:$1@$0](dn@${r})s/.*/hdfs/`, `RULE:[2:$1@$0](spark@${r})s/.*/spark/`, 'DEFAULT'].join('\n');
}

/** krb5.conf for every node of a kerberized cluster: the KDC over TCP, no DNS lookups or canonicalization. */
export function krb5Conf(k: KerberosFacts): string {
  return [
    '# Rendered by millrace. Changes here are overwritten by the next `millrace up`.',
    '[libdefaults]',
    `  default_realm = ${k.realm}`,
    '  dns_lookup_realm = false',
    '  dns_lookup_kdc = false',
    '  dns_canonicalize_hostname = false',
    '  rdns = false',
    '  udp_preference_limit = 1',
    `  ticket_lifetime = ${k.ticketLifetimeSeconds}s`,
    `  renew_lifetime = ${k.ticketLifetimeSeconds}s`,
    '  forwardable = false',
    '  permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96',
    '',
    '[realms]',
    `  ${k.realm} = {`,
    `    kdc = ${k.kdc.address}:${k.kdc.port}`,
    ...(k.admin ? [`    admin_server = ${k.admin.server}:${k.admin.port}`] : []),
    '  }',
    '',
  ].join('\n');
}

/** The KDC's own config: listens on the node's private address only; tickets live ticketLifetime. */
export function kdcConf(k: KerberosFacts): string {
  const address = k.kdcNode?.privateAddress ?? k.kdc.address;
  return [
    '# Rendered by millrace. Changes here are overwritten by the next `millrace up`.',
    '[kdcdefaults]',
    `  kdc_listen = ${address}:88`,
    `  kdc_tcp_listen = ${address}:88`,
    '',
    '[realms]',
    `  ${k.realm} = {`,
    '    database_name = /var/lib/krb5kdc/principal',
    '    key_stash_file = /etc/krb5kdc/stash',
    '    acl_file = /etc/krb5kdc/kadm5.acl',
    `    max_life = ${k.ticketLifetimeSeconds}s`,
    `    max_renewable_life = ${k.ticketLifetimeSeconds}s`,
    '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
    '    default_principal_flags = +preauth',
    '  }',
    '',
    // Debian's unit makes / read-only for the KDC: it logs to the journal.
    '[logging]',
    '  kdc = SYSLOG:INFO:DAEMON',
    '',
  ].join('\n');
}

/** /etc/krb5.conf as a file the provisioner keeps; the KDC's copy (kdc.ts) is the same content. */
export function krb5ConfFile(k: KerberosFacts, restarts: string[]): FileSpec {
  return { path: KRB5_CONF, content: krb5Conf(k), mode: 0o644, owner: 'root', restarts };
}

/** `curl` with SPNEGO from a ticket cache (the KMS, WebHDFS): shell text before curl's own arguments. */
export function negotiateCurl(cache: string): string {
  return `KRB5CCNAME=${cache} curl --negotiate -u :`;
}

/** Whether a node runs anything that talks to HDFS or the KMS, and so needs krb5.conf and the client tools. */
export function needsKerberosClient(node: InventoryNode): boolean {
  return has(node, 'namenode', 'datanode', 'kms', 'spark-master', 'spark-worker', 'kdc');
}
