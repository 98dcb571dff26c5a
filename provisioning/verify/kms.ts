/**
 * The KMS's key ACLs, as the live file says and as the live KMS answers: only hdfs manages keys
 * and generates encrypted data keys, only spark decrypts them. The file is read from the KMS
 * node; the REST API is asked over TLS from there, with pseudo authentication (`user.name=`,
 * which is all the KMS has without Kerberos: the README says so). Every refusal (403) is paired
 * with the call that succeeds for the user the ACL names.
 */
import * as crypto from 'node:crypto';
import type { InventoryNode } from '../../lib/inventory';
import { q } from '../../lib/shell';
import { HDFS_TOOL_CCACHE, keytabsFor, negotiateCurl, SPARK_CCACHE } from '../kerberos/realm';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { hdfsToolLogin } from '../services/hdfs';
import { KMS_PORT, LAKE_KEY } from '../services/hadoop-conf';
import { CA_PEM } from '../services/tls-files';
import type { VerifyRow } from './types';

export const KMS_ACLS_XML = '/etc/millrace/kms/kms-acls.xml';
/** Who the ACLs name: hdfs (the NameNode) manages and generates, spark (applications) decrypts. */
const ADMIN = 'hdfs';
const DECRYPTER = 'spark';
/** A user no ACL names. */
export const KMS_STRANGER = 'millrace-verify-stranger';
/**
 * The user the KMS sees when the stranger calls: KMS_STRANGER by name without Kerberos; with it,
 * the KMS node's HTTP principal, which auth_to_local maps to the user HTTP.
 */
export const kmsStrangerUser = (facts: ClusterFacts): string => (facts.kerberos ? 'HTTP' : KMS_STRANGER);

/** A Hadoop configuration XML → its properties. */
export function parseHadoopXml(xml: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const m of xml.matchAll(/<property>([\s\S]*?)<\/property>/g)) {
    const name = /<name>([\s\S]*?)<\/name>/.exec(m[1]!)?.[1]?.trim();
    const value = /<value>([\s\S]*?)<\/value>/.exec(m[1]!)?.[1] ?? '';
    if (name) props[name] = value.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  }
  return props;
}

/** A Hadoop ACL value: `*`, or "user1,user2 group1,group2". */
export function parseAcl(value: string): { everyone: boolean; users: string[]; groups: string[] } {
  if (value.trim() === '*') return { everyone: true, users: [], groups: [] };
  const v = value.replace(/\s+$/, '');
  const at = v.search(/\s/);
  const split = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);
  return { everyone: false, users: split(at < 0 ? v : v.slice(0, at)), groups: split(at < 0 ? '' : v.slice(at)) };
}

/** Who may hold each operation: exactly these users (no groups), or at most these (`subset`). */
const KMS_OPS: Record<string, { users: string[]; subset?: boolean }> = {
  CREATE: { users: [ADMIN] },
  DELETE: { users: [ADMIN] },
  ROLLOVER: { users: [ADMIN] },
  GET: { users: [ADMIN] },
  GET_KEYS: { users: [ADMIN] },
  GET_METADATA: { users: [ADMIN, DECRYPTER], subset: true },
  SET_KEY_MATERIAL: { users: [ADMIN] },
  GENERATE_EEK: { users: [ADMIN] },
  DECRYPT_EEK: { users: [DECRYPTER] },
};
const KEY_OPS: Record<string, { users: string[]; subset?: boolean }> = {
  MANAGEMENT: { users: [ADMIN] },
  GENERATE_EEK: { users: [ADMIN] },
  DECRYPT_EEK: { users: [DECRYPTER] },
  READ: { users: [ADMIN, DECRYPTER], subset: true },
  ALL: { users: [], subset: true },
};

/**
 * What is wrong with a kms-acls.xml: an operation the KMS would open to everyone (a missing
 * hadoop.kms.acl.* is `*`), a user or group beyond the ones above, a whitelist that widens a key ACL.
 */
export function kmsAclProblems(props: Record<string, string>): string[] {
  const problems: string[] = [];
  const check = (name: string, value: string | undefined, want: { users: string[]; subset?: boolean }, missingMeansEveryone: boolean): void => {
    if (value === undefined) {
      if (missingMeansEveryone) problems.push(`${name} is not set, so the KMS allows everyone`);
      return;
    }
    const acl = parseAcl(value);
    if (acl.everyone) return void problems.push(`${name} is * (everyone)`);
    if (acl.groups.length) problems.push(`${name} names groups: ${acl.groups.join(',')}`);
    const extra = acl.users.filter((u) => !want.users.includes(u));
    if (extra.length) problems.push(`${name} allows ${extra.join(',')} (only ${want.users.join(',') || 'nobody'})`);
    const lacking = want.subset ? [] : want.users.filter((u) => !acl.users.includes(u));
    if (lacking.length) problems.push(`${name} does not allow ${lacking.join(',')}`);
  };
  for (const [op, want] of Object.entries(KMS_OPS)) check(`hadoop.kms.acl.${op}`, props[`hadoop.kms.acl.${op}`], want, true);
  for (const [name, value] of Object.entries(props)) {
    const key = /^(?:default\.key\.acl|whitelist\.key\.acl|key\.acl\.(.+))\.([A-Z_]+)$/.exec(name);
    if (!key) continue;
    const want = KEY_OPS[key[2]!];
    if (!want) problems.push(`${name}: unknown key operation`);
    // A whitelist entry adds to every key's ACL: it may only repeat what the key ACLs give.
    else check(name, value, name.startsWith('whitelist.') ? { users: want.users, subset: true } : want, false);
  }
  for (const op of ['MANAGEMENT', 'GENERATE_EEK', 'DECRYPT_EEK']) {
    if (props[`key.acl.${LAKE_KEY}.${op}`] === undefined && props[`default.key.acl.${op}`] === undefined) problems.push(`neither key.acl.${LAKE_KEY}.${op} nor default.key.acl.${op} is set`);
  }
  return problems;
}

export function kmsAclFileRow(node: string, xml: string): VerifyRow {
  const problems = kmsAclProblems(parseHadoopXml(xml));
  return {
    check: `KMS: ${KMS_ACLS_XML}: only ${ADMIN} manages keys and generates data keys, only ${DECRYPTER} decrypts`,
    target: node,
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `every operation limited to the users named (${Object.keys(KMS_OPS).length} KMS operations, key ACLs for ${LAKE_KEY} and the defaults)`,
  };
}

/** HTTP status codes of the live calls. */
export interface KmsProbe {
  listKeys: Record<string, number>;
  generate: Record<string, number>;
  decrypt: Record<string, number>;
}

export function kmsProbeRows(node: string, p: KmsProbe): VerifyRow[] {
  const show = (r: Record<string, number>): string =>
    Object.entries(r)
      .map(([u, c]) => `${u} ${c}`)
      .join(', ');
  const refused = (c: number | undefined): boolean => c === 403;
  const manage = p.listKeys[ADMIN] === 200 && p.generate[ADMIN] === 200 && [DECRYPTER, KMS_STRANGER].every((u) => refused(p.listKeys[u]) && refused(p.generate[u]));
  const decrypt = p.decrypt[DECRYPTER] === 200 && [ADMIN, KMS_STRANGER].every((u) => refused(p.decrypt[u]));
  return [
    {
      check: `KMS: only ${ADMIN} lists keys and generates data keys (403 for ${DECRYPTER} and a stranger; ${ADMIN} 200, the control)`,
      target: node,
      ok: manage,
      detail: `list keys: ${show(p.listKeys)}; generate: ${show(p.generate)}`,
    },
    {
      check: `KMS: only ${DECRYPTER} decrypts a data key (403 for ${ADMIN} and a stranger; ${DECRYPTER} 200, the control)`,
      target: node,
      ok: decrypt,
      detail: `decrypt: ${show(p.decrypt)}`,
    },
  ];
}

interface Eek {
  versionName: string;
  iv: string;
  encryptedKeyVersion: { material: string };
}

/** How one user reaches the KMS: from which node, with which curl (pseudo user name or SPNEGO with a ticket). */
interface KmsCaller {
  host: RemoteHost;
  /** Shell text before the curl arguments: `curl`, or a kinit then `KRB5CCNAME=… curl --negotiate -u :`. */
  curl: string;
  /** Query parameter naming the user (pseudo authentication), or none (Kerberos). */
  userParam?: string;
  cleanup?: string;
}

/**
 * Who calls the KMS as each user. Without Kerberos, the KMS node, naming the user (`user.name=`).
 * With Kerberos, each with a real ticket: hdfs from the NameNode's node (its nn keytab), spark
 * from the spark-master node (the spark principal's cache), and the stranger on the KMS node as
 * its HTTP principal, which maps to the user HTTP, which no ACL names.
 */
function kmsCallers(facts: ClusterFacts, hosts: Map<string, RemoteHost>, kms: InventoryNode): Record<string, KmsCaller> {
  const kmsHost = hosts.get(kms.name)!;
  const k = facts.kerberos;
  if (!k) return Object.fromEntries([ADMIN, DECRYPTER, KMS_STRANGER].map((u) => [u, { host: kmsHost, curl: 'curl', userParam: `user.name=${u}` }]));
  const spark = facts.sparkMaster ?? facts.sparkWorkers[0];
  const http = keytabsFor(kms, k.realm).find((x) => x.service === 'HTTP')!;
  const strangerCache = `FILE:/tmp/millrace-verify-${crypto.randomBytes(6).toString('hex')}.krb5cc`;
  return {
    [ADMIN]: { host: hosts.get(facts.namenode.name)!, curl: `${hdfsToolLogin({ cluster: facts, node: facts.namenode })} && ${negotiateCurl(HDFS_TOOL_CCACHE)}` },
    ...(spark ? { [DECRYPTER]: { host: hosts.get(spark.name)!, curl: negotiateCurl(SPARK_CCACHE) } } : {}),
    [KMS_STRANGER]: { host: kmsHost, curl: `kinit -k -t ${q(http.path)} -c ${strangerCache} ${q(http.principal)} && ${negotiateCurl(strangerCache)}`, cleanup: `rm -f ${q(strangerCache.slice(5))}` },
  };
}

export async function probeKms(facts: ClusterFacts, hosts: Map<string, RemoteHost>, kms: InventoryNode): Promise<KmsProbe> {
  const base = `https://${kms.privateAddress}:${KMS_PORT}/kms/v1`;
  const callers = kmsCallers(facts, hosts, kms);
  const url = (path: string, c: KmsCaller): string => (c.userParam ? `${base}${path}${path.includes('?') ? '&' : '?'}${c.userParam}` : `${base}${path}`);
  // The status code only: a decrypted data key never leaves the calling node's curl (-o /dev/null).
  const status = async (user: string, method: 'GET' | 'POST', path: string, body?: string): Promise<number> => {
    const c = callers[user];
    if (!c) return 0;
    const out = body === undefined ? '-o /dev/null' : '-o /dev/null -H "Content-Type: application/json" --data-binary @' + q(body);
    const r = await c.host.exec(`${c.curl} -sS --max-time 20 --cacert ${q(CA_PEM)} -X ${method} ${out} -w '%{http_code}' ${q(url(path, c))}`);
    return Number(r.stdout.trim()) || 0;
  };
  const users = [ADMIN, DECRYPTER, KMS_STRANGER];
  const listKeys: Record<string, number> = {};
  const generate: Record<string, number> = {};
  const decrypt: Record<string, number> = {};
  try {
    for (const u of users) listKeys[u] = await status(u, 'GET', '/keys/names');
    for (const u of users) if (u !== ADMIN) generate[u] = await status(u, 'GET', `/key/${LAKE_KEY}/_eek?eek_op=generate&num_keys=1`);
    // An encrypted data key, as the NameNode gets one for a new file: its JSON is not secret (the key in it is encrypted).
    const admin = callers[ADMIN]!;
    const gen = await admin.host.exec(`${admin.curl} -sS --max-time 20 --cacert ${q(CA_PEM)} -w '\\n%{http_code}' ${q(url(`/key/${LAKE_KEY}/_eek?eek_op=generate&num_keys=1`, admin))}`);
    const lines = gen.stdout.trim().split('\n');
    generate[ADMIN] = Number(lines.pop()) || 0;
    let eek: Eek | undefined;
    try {
      eek = (JSON.parse(lines.join('\n')) as Eek[])[0];
    } catch {
      eek = undefined;
    }
    if (!eek) return { listKeys, generate, decrypt: Object.fromEntries(users.map((u) => [u, 0])) };
    const bodyFile = `/tmp/millrace-verify-eek-${crypto.randomBytes(6).toString('hex')}.json`;
    const body = JSON.stringify({ name: LAKE_KEY, iv: eek.iv, material: eek.encryptedKeyVersion.material });
    const bodyHosts = [...new Set(users.flatMap((u) => (callers[u] ? [callers[u]!.host] : [])))];
    try {
      for (const h of bodyHosts) await h.putFile(bodyFile, body, { mode: 0o600, owner: 'root' });
      for (const u of [DECRYPTER, ADMIN, KMS_STRANGER]) decrypt[u] = await status(u, 'POST', `/keyversion/${encodeURIComponent(eek.versionName)}/_eek?eek_op=decrypt`, bodyFile);
    } finally {
      for (const h of bodyHosts) await h.exec(`rm -f ${q(bodyFile)}`);
    }
    return { listKeys, generate, decrypt };
  } finally {
    for (const c of Object.values(callers)) if (c.cleanup) await c.host.exec(c.cleanup);
  }
}

export async function verifyKms(facts: ClusterFacts, hosts: Map<string, RemoteHost>, kms: InventoryNode): Promise<VerifyRow[]> {
  const xml = await hosts.get(kms.name)!.execOrThrow(`cat ${q(KMS_ACLS_XML)}`, { what: `read ${KMS_ACLS_XML}` });
  return [kmsAclFileRow(kms.name, xml), ...kmsProbeRows(kms.name, await probeKms(facts, hosts, kms))];
}
