/**
 * Certificate expiry: what a certificate is (subject, serial, validity) and how close it is to
 * its end. `status` lists the state directory's certificates with it; `verify` fails a live
 * certificate with less than EXPIRY_FAIL_DAYS left.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import 'reflect-metadata';
import { x509, type X509 } from './x509';
import { CA_FILES, DAY, HANDED_OUT_DIR, LEAF_DIRS } from './cluster-ca';

/** `verify` fails a certificate with less than this many days left: time to run `certs rotate` calmly. */
export const EXPIRY_FAIL_DAYS = 14;

export interface CertInfo {
  /** What it is: "CA", "CA (previous)", "kafka-broker kafka-1", "client admin". */
  what: string;
  subject: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Whole days left (negative once expired). */
  daysLeft: number;
  /** The file or port it was read from. */
  source: string;
}

/** Every certificate in a PEM text, in order. */
export function pemCertificates(pem: string): X509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new (x509().X509Certificate)(b));
}

export function daysLeft(notAfter: Date, now = Date.now()): number {
  return Math.floor((notAfter.getTime() - now) / DAY);
}

export function certInfo(cert: X509.X509Certificate, what: string, source: string, now = Date.now()): CertInfo {
  return {
    what,
    subject: cert.subject,
    serial: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    daysLeft: daysLeft(cert.notAfter, now),
    source,
  };
}

/** The verdict on a certificate's remaining life: fails under EXPIRY_FAIL_DAYS, and once expired. */
export function expiryVerdict(notAfter: Date, now = Date.now(), failDays = EXPIRY_FAIL_DAYS): { ok: boolean; detail: string } {
  const ms = notAfter.getTime() - now;
  const left = ms / DAY;
  const when = notAfter.toISOString().replace(/\.\d+Z$/, 'Z');
  if (ms <= 0) return { ok: false, detail: `EXPIRED on ${when}` };
  if (left < failDays) return { ok: false, detail: `expires in ${left < 1 ? `${Math.max(1, Math.round(ms / 3_600_000))} hour(s)` : `${Math.floor(left)} day(s)`} (${when}), under ${failDays} days: run \`millrace certs rotate\`` };
  return { ok: true, detail: `expires in ${Math.floor(left)} days (${when})` };
}

/**
 * The certificates in a cluster's pki directory, read only: the CAs (issuing, staged next,
 * previous), every node and service certificate, and every client certificate kept there.
 */
export function stateCertificates(pkiDir: string, now = Date.now()): CertInfo[] {
  const out: CertInfo[] = [];
  const read = (file: string, what: string): void => {
    if (!fs.existsSync(file)) return;
    const [cert] = pemCertificates(fs.readFileSync(file, 'utf8'));
    if (cert) out.push(certInfo(cert, what, file, now));
  };
  read(path.join(pkiDir, CA_FILES.current.cert), 'CA');
  read(path.join(pkiDir, CA_FILES.next.cert), 'CA (next, staged)');
  read(path.join(pkiDir, CA_FILES.previous.cert), 'CA (previous, still trusted)');
  for (const [ou, sub] of [...Object.entries(LEAF_DIRS), ['handed out to', HANDED_OUT_DIR] as const]) {
    const dir = path.join(pkiDir, sub);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.crt')).sort()) read(path.join(dir, f), `${ou} ${f.slice(0, -4)}`);
  }
  return out;
}

export function formatCertificates(certs: CertInfo[], now = Date.now()): string {
  const w = Math.max(11, ...certs.map((c) => c.what.length));
  const lines = certs.map((c) => {
    const v = expiryVerdict(new Date(c.notAfter), now);
    return `${c.what.padEnd(w)}  ${v.ok ? ' ' : '!'} ${v.detail.replace(/: run .*$/, '')}  serial ${c.serial}`;
  });
  return [`${'CERTIFICATE'.padEnd(w)}    EXPIRY`, ...lines].join('\n');
}
