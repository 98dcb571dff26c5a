/**
 * Java keystores are built on a node, from PEM files put there, by one script
 * (templates/host/keystores.sh): the services' stores during `up`, and an operator's PKCS#12
 * keystore and JKS truststore for `millrace credentials`. Passwords stay in files.
 */
import * as crypto from 'node:crypto';
import { cmd, q } from '../lib/shell';
import { render } from '../templates/render';
import type { RemoteHost } from './remote-host';
import type { KeyStoreSpec } from './service';

/** The alias of the key in a pkcs12 store millrace builds for a service. */
const SERVICE_KEY_ALIAS = 'millrace';

/** The keystores.sh context: every value the script passes to the shell, quoted. */
export function buildKeyStoresContext(stores: KeyStoreSpec[]): { stores: Record<'kind' | 'path' | 'pemPath' | 'passwordPath' | 'owner' | 'alias', string>[] } {
  return {
    stores: stores.map((k) => ({
      kind: q(k.kind),
      path: q(k.path),
      pemPath: q(k.pemPath),
      passwordPath: q(k.passwordPath),
      owner: q(k.owner),
      alias: q(k.alias ?? SERVICE_KEY_ALIAS),
    })),
  };
}

/** The script that builds these stores; it prints "changed: <path>" for each one it (re)built. */
export function keyStoreScript(stores: KeyStoreSpec[]): string {
  return render('host/keystores.sh', buildKeyStoresContext(stores));
}

/** A client identity as PEM: the key, its certificate chain, and the cluster CA. */
export interface ClientPem {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** What building an operator's Java stores puts on a node, and the script that builds them. Pure. */
export interface ClientStoresPlan {
  dir: string;
  uploads: { path: string; content: string }[];
  script: string;
  keystore: string;
  truststore: string;
}

export function planClientStores(principal: string, pem: ClientPem, password: string, dir = `/root/.millrace-credentials-${crypto.randomBytes(4).toString('hex')}`): ClientStoresPlan {
  const file = (name: string): string => `${dir}/${name}`;
  const common = { passwordPath: file('password'), owner: 'root', restarts: [] };
  const stores: KeyStoreSpec[] = [
    { kind: 'pkcs12', path: file('keystore.p12'), pemPath: file('key.pem'), alias: principal, ...common },
    { kind: 'truststore', path: file('truststore.jks'), pemPath: file('ca.pem'), ...common },
  ];
  return {
    dir,
    uploads: [
      { path: file('key.pem'), content: pem.keyPem + pem.certPem },
      { path: file('ca.pem'), content: pem.caPem },
      { path: file('password'), content: password },
      { path: file('keystores.sh'), content: keyStoreScript(stores) },
    ],
    script: file('keystores.sh'),
    keystore: file('keystore.p12'),
    truststore: file('truststore.jks'),
  };
}

/** Builds the stores on the node (with its openssl and keytool) and brings them back; leaves nothing behind. */
export async function buildClientStores(host: RemoteHost, plan: ClientStoresPlan): Promise<{ keystore: Buffer; truststore: Buffer }> {
  await host.execOrThrow(cmd('mkdir', '-m', '700', plan.dir));
  try {
    for (const u of plan.uploads) await host.putFile(u.path, u.content, { mode: 0o600 });
    await host.execOrThrow(cmd('sh', plan.script), { what: 'build the Java keystore and truststore' });
    return { keystore: await host.getFile(plan.keystore), truststore: await host.getFile(plan.truststore) };
  } finally {
    await host.exec(cmd('rm', '-rf', plan.dir));
  }
}
