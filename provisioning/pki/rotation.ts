/**
 * Certificate rotation, as a plan of steps over the pki directory plus rolling passes that the
 * provisioner applies one node at a time (cli/commands/certs.ts runs them).
 *
 *   certs rotate           new node, service and client certificates from the same CA.
 *   certs rotate --ca      a new CA: first every node trusts the old and the new CA (pass "trust"),
 *                          then the new CA issues every certificate (pass "switch"). The old CA
 *                          stays trusted (pki/ca-previous.crt), so certificates it signed, clients'
 *                          included, keep working until
 *   certs rotate --finish  drops the old CA from every truststore (pass "finish").
 *
 * The files: ca.crt/ca.key is the issuing CA; ca-next.crt/key a staged one (between the trust
 * pass and the switch, also after an interrupted --ca); ca-previous.crt the one it replaced.
 * Every one of them present is in the trust bundle nodes and clients get (ClusterCa.caPem).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLIENT_OU, type ServiceOu } from '../../lib/principals';
import { CA_FILES, ClusterCa, createCa, DAY, LEAF_DIRS, MAX_LEAF_DAYS } from './cluster-ca';
import { pemCertificates } from './expiry';

export type RotationMode = 'leaves' | 'ca' | 'finish';

/** Which CAs exist in the pki directory, by role. */
export interface CaSet {
  current: boolean;
  next: boolean;
  previous: boolean;
}

export function caSet(pkiDir: string): CaSet {
  const has = (f: string): boolean => fs.existsSync(path.join(pkiDir, f));
  return { current: has(CA_FILES.current.cert) && has(CA_FILES.current.key), next: has(CA_FILES.next.cert) && has(CA_FILES.next.key), previous: has(CA_FILES.previous.cert) };
}

export type RotationStep =
  | { kind: 'stage-ca' }
  | { kind: 'promote-ca' }
  | { kind: 'drop-previous-ca' }
  | { kind: 'reissue' }
  /** A rolling pass: every node in turn gets the planned files and restarts what changed, healthy before the next. */
  | { kind: 'pass'; name: 'trust' | 'switch' | 'renew' | 'finish'; trust: ('old' | 'new' | 'current')[] };

export interface RotationPlan {
  mode: RotationMode;
  steps: RotationStep[];
}

/** Why a rotation cannot start from this state, with what to do instead. */
export class RotationRefused extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/**
 * The steps of a rotation from the CAs present. Pure. The trust list of each pass says which CAs
 * the nodes trust during it: with --ca, both the old and the new in both passes, so a node that
 * already presents a new certificate and one that still presents an old one trust each other.
 */
export function planRotation(cas: CaSet, mode: RotationMode): RotationPlan {
  if (!cas.current) throw new RotationRefused('the cluster has no CA to rotate', 'run `millrace up` first (or restore the pki directory from a backup)');
  if (mode === 'finish') {
    if (cas.next) throw new RotationRefused('a CA rotation is half done: the new CA is trusted but issues nothing yet', 'complete it with `millrace certs rotate --ca`, then run --finish');
    if (!cas.previous) throw new RotationRefused('no previous CA is trusted, so there is nothing to finish', 'a CA rotation (`millrace certs rotate --ca`) leaves one; `millrace status` lists the CAs');
    return { mode, steps: [{ kind: 'drop-previous-ca' }, { kind: 'pass', name: 'finish', trust: ['current'] }] };
  }
  if (mode === 'leaves') {
    if (cas.next) throw new RotationRefused('a CA rotation is half done: a new CA is staged', 'complete it with `millrace certs rotate --ca` (it uses the staged CA)');
    return { mode, steps: [{ kind: 'reissue' }, { kind: 'pass', name: 'renew', trust: cas.previous ? ['old', 'current'] : ['current'] }] };
  }
  if (cas.previous && !cas.next)
    throw new RotationRefused(
      'the previous CA rotation is not finished: its old CA is still trusted',
      'run `millrace certs rotate --finish` first (certificates of the old CA stop working then), then `millrace certs rotate --ca`',
    );
  return {
    mode,
    steps: [
      // An interrupted --ca left a staged CA: use it rather than a third one.
      ...(cas.next ? [] : [{ kind: 'stage-ca' as const }]),
      { kind: 'pass', name: 'trust', trust: ['old', 'new'] },
      { kind: 'promote-ca' },
      { kind: 'reissue' },
      { kind: 'pass', name: 'switch', trust: ['old', 'new'] },
    ],
  };
}

/** Makes the next CA (not yet issuing). */
export async function stageNextCa(pkiDir: string, clusterName: string): Promise<void> {
  await createCa(pkiDir, CA_FILES.next, clusterName);
}

/** The next CA becomes the issuing one; the old one is kept as a trust anchor only, its key deleted. */
export function promoteNextCa(pkiDir: string): void {
  const f = (n: string): string => path.join(pkiDir, n);
  fs.copyFileSync(f(CA_FILES.current.cert), f(CA_FILES.previous.cert));
  fs.chmodSync(f(CA_FILES.previous.cert), 0o644);
  // Key first: at no point may two files hold the issuing key, nor may ca.crt and ca.key disagree for long.
  fs.renameSync(f(CA_FILES.next.key), f(CA_FILES.current.key));
  fs.renameSync(f(CA_FILES.next.cert), f(CA_FILES.current.cert));
}

export function dropPreviousCa(pkiDir: string): void {
  fs.rmSync(path.join(pkiDir, CA_FILES.previous.cert), { force: true });
}

/** A client certificate kept in the state directory, and how long it was issued for. */
export interface TrackedClient {
  principal: string;
  days: number;
  expired: boolean;
}

/** The client certificates in the pki directory, with their lifetimes (the 1-day backdating removed). */
export function trackedClients(pkiDir: string, now = Date.now()): TrackedClient[] {
  const dir = path.join(pkiDir, LEAF_DIRS[CLIENT_OU]);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.crt'))
    .sort()
    .flatMap((f) => {
      const [cert] = pemCertificates(fs.readFileSync(path.join(dir, f), 'utf8'));
      if (!cert) return [];
      const span = Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY) - 1;
      return [{ principal: f.slice(0, -4), days: Math.min(MAX_LEAF_DAYS, Math.max(1, span)), expired: cert.notAfter.getTime() <= now }];
    });
}

/**
 * Removes every node and service certificate (and key) from the pki directory, so the next
 * loadFacts issues new ones. Client certificates are reissued in place by reissueClients.
 */
export function retireNodeCertificates(pkiDir: string): string[] {
  const removed: string[] = [];
  for (const ou of Object.keys(LEAF_DIRS) as (ServiceOu | typeof CLIENT_OU)[]) {
    if (ou === CLIENT_OU) continue;
    const dir = path.join(pkiDir, LEAF_DIRS[ou]);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.crt') || x.endsWith('.key'))) {
      fs.rmSync(path.join(dir, f));
      if (f.endsWith('.crt')) removed.push(`${ou} ${f.slice(0, -4)}`);
    }
  }
  return removed.sort();
}

/**
 * New certificates (and keys) for the tracked clients that have not expired, each for as long as
 * its predecessor was issued. An expired one is left as it is: renewing it would revive a
 * certificate its owner let lapse.
 */
export async function reissueClients(ca: ClusterCa, pkiDir: string): Promise<{ reissued: TrackedClient[]; skipped: TrackedClient[] }> {
  const clients = trackedClients(pkiDir);
  const reissued: TrackedClient[] = [];
  for (const c of clients.filter((x) => !x.expired)) {
    await ca.issue({ name: c.principal, usage: 'client', dnsNames: [], ipAddresses: [], days: c.days, fresh: true });
    reissued.push(c);
  }
  return { reissued, skipped: clients.filter((x) => x.expired) };
}
