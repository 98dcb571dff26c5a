/**
 * TLS material on a node: the cluster CA (PEM and a JKS truststore), and per service user its key
 * and certificate chain (PEM, and a PKCS#12 keystore for the JVM servers that need one), readable
 * by that user only. Kafka gets the broker identity (OU=kafka-broker, a Kafka super user) and Spark
 * its own (OU=spark, no Kafka rights); the other services share the node's (OU=node). A service's
 * key exists only on the nodes that run that service.
 */
import type { DirSpec, FileSpec, KeyStoreSpec, NodeContext, ServiceUser, TlsPem } from '../service';

export const TLS_DIR = '/etc/millrace/tls';
export const CA_PEM = `${TLS_DIR}/ca.pem`;
export const TRUSTSTORE = `${TLS_DIR}/truststore.jks`;
const TRUSTSTORE_PASSWORD = `${TLS_DIR}/truststore.password`;

export interface ServiceTls {
  /** Private key then certificate chain, PEM (Kafka reads this directly). */
  pem: string;
  keystore: string;
  passwordFile: string;
  password: string;
}

export function serviceTlsPaths(ctx: NodeContext, user: ServiceUser): ServiceTls {
  const dir = `${TLS_DIR}/${user}`;
  return {
    pem: `${dir}/node.pem`,
    keystore: `${dir}/keystore.p12`,
    passwordFile: `${dir}/keystore.password`,
    // Spark's is the cluster's: executors get the driver's TLS settings, password included, on every node.
    password: user === 'spark' ? ctx.cluster.secrets.sparkKeystorePassword : nodeSecrets(ctx).keystorePassword,
  };
}

function nodeSecrets(ctx: NodeContext): { keystorePassword: string; truststorePassword: string } {
  const s = ctx.cluster.secrets.nodes[ctx.node.name];
  if (!s) throw new Error(`no secrets planned for ${ctx.node.name}`);
  return s;
}

function material(ctx: NodeContext): TlsPem {
  const tls = ctx.cluster.tls[ctx.node.name];
  if (!tls) throw new Error(`no TLS material planned for ${ctx.node.name}`);
  return tls;
}

/** The identity a service user's key files hold on this node. */
export function identityFor(ctx: NodeContext, user: ServiceUser): TlsPem {
  const tls = ctx.cluster.tls[ctx.node.name];
  if (!tls) throw new Error(`no TLS material planned for ${ctx.node.name}`);
  if (user === 'kafka' || user === 'spark') {
    const own = tls[user];
    if (!own) throw new Error(`no ${user} certificate planned for ${ctx.node.name}: it runs no ${user} service`);
    return own;
  }
  return { certPem: tls.certPem, keyPem: tls.keyPem, caPem: tls.caPem };
}

export function tlsDirectories(users: ServiceUser[]): DirSpec[] {
  return [{ path: TLS_DIR, mode: '755', owner: 'root:root' }, ...users.map((u) => ({ path: `${TLS_DIR}/${u}`, mode: '700', owner: `${u}:${u}` }))];
}

/** The CA as PEM and as a JKS truststore (Java clients of HTTPS servers: KMS, web UIs). */
export function trustFiles(ctx: NodeContext, restarts: string[]): { files: FileSpec[]; keyStores: KeyStoreSpec[] } {
  return {
    files: [
      { path: CA_PEM, content: material(ctx).caPem, mode: 0o644, owner: 'root', restarts },
      { path: TRUSTSTORE_PASSWORD, content: nodeSecrets(ctx).truststorePassword, mode: 0o600, owner: 'root', restarts: [], secret: true },
    ],
    keyStores: [{ path: TRUSTSTORE, kind: 'truststore', pemPath: CA_PEM, passwordPath: TRUSTSTORE_PASSWORD, owner: 'root', restarts }],
  };
}

/** A service user's key and chain (identityFor), as PEM and, if asked, as a PKCS#12 keystore. */
export function serviceKeyFiles(ctx: NodeContext, user: ServiceUser, restarts: string[], opts: { pkcs12: boolean }): { files: FileSpec[]; keyStores: KeyStoreSpec[] } {
  const p = serviceTlsPaths(ctx, user);
  const tls = identityFor(ctx, user);
  const files: FileSpec[] = [{ path: p.pem, content: tls.keyPem + tls.certPem, mode: 0o600, owner: user, restarts, secret: true }];
  if (!opts.pkcs12) return { files, keyStores: [] };
  files.push({ path: p.passwordFile, content: p.password, mode: 0o600, owner: user, restarts: [], secret: true });
  return { files, keyStores: [{ path: p.keystore, kind: 'pkcs12', pemPath: p.pem, passwordPath: p.passwordFile, owner: user, restarts }] };
}
