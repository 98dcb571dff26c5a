/**
 * TLS material on a node: the cluster CA (PEM and a JKS truststore), and per service user a
 * copy of the node's key and certificate chain (PEM, and a PKCS#12 keystore for the JVM servers
 * that need one). Every service user gets its own copy, readable by that user only.
 */
import type { DirSpec, FileSpec, KeyStoreSpec, NodeContext, ServiceUser } from '../service';

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
    password: nodeSecrets(ctx).keystorePassword,
  };
}

function nodeSecrets(ctx: NodeContext): { keystorePassword: string; truststorePassword: string } {
  const s = ctx.cluster.secrets.nodes[ctx.node.name];
  if (!s) throw new Error(`no secrets planned for ${ctx.node.name}`);
  return s;
}

function material(ctx: NodeContext): { certPem: string; keyPem: string; caPem: string } {
  const tls = ctx.cluster.tls[ctx.node.name];
  if (!tls) throw new Error(`no TLS material planned for ${ctx.node.name}`);
  return tls;
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

/** The node's key and chain for one service user, as PEM and, if asked, as a PKCS#12 keystore. */
export function serviceKeyFiles(ctx: NodeContext, user: ServiceUser, restarts: string[], opts: { pkcs12: boolean }): { files: FileSpec[]; keyStores: KeyStoreSpec[] } {
  const p = serviceTlsPaths(ctx, user);
  const tls = material(ctx);
  const files: FileSpec[] = [{ path: p.pem, content: tls.keyPem + tls.certPem, mode: 0o600, owner: user, restarts, secret: true }];
  if (!opts.pkcs12) return { files, keyStores: [] };
  files.push({ path: p.passwordFile, content: p.password, mode: 0o600, owner: user, restarts: [], secret: true });
  return { files, keyStores: [{ path: p.keystore, kind: 'pkcs12', pemPath: p.pem, passwordPath: p.passwordFile, owner: user, restarts }] };
}
