/**
 * The cluster CA: one per cluster, its key 0600 in the cluster state directory. It signs a
 * certificate per node and service identity (SANs: the node's names and addresses) and per client
 * principal. The OU says which: OU=client for clients, OU=kafka-broker / spark / node for a node's
 * services (lib/principals.ts maps them to Kafka principals). A client certificate never carries
 * a service OU, so no client can take a broker's identity.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { checkPrincipal, CLIENT_OU, PRINCIPAL_NAME, SERVICE_OUS, type ServiceOu } from '../../lib/principals';
import { x509, type X509 } from './x509';

type CryptoKey = crypto.webcrypto.CryptoKey;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;


const ALG: crypto.webcrypto.EcKeyGenParams & crypto.webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
export const DAY = 24 * 3600 * 1000;
const CA_DAYS = 3650;
/** Node (server) certificates, and the clients millrace uses itself (admin, pipeline), unless asked otherwise. */
export const LEAF_DAYS = 825;
/**
 * Client certificates `millrace credentials` hands out: short-lived by default, so a lost or
 * leaked one stops working within a month without revocation (there is no CRL or OCSP), and
 * re-running `credentials` is all a client's owner does to renew.
 */
export const CLIENT_DAYS_DEFAULT = 30;
/** No leaf outlives this: the CA/Browser Forum's old limit, which Apple's TLS stack still enforces. */
export const MAX_LEAF_DAYS = 825;
/** Leaf certificates are reissued when they are this close to expiry, or a third of their lifetime for short ones. */
const RENEW_BEFORE_DAYS = 30;

/** The CA's files in the pki directory: the issuing CA, a staged next one, and the one it replaced (still trusted). */
export const CA_FILES = {
  current: { cert: 'ca.crt', key: 'ca.key' },
  next: { cert: 'ca-next.crt', key: 'ca-next.key' },
  previous: { cert: 'ca-previous.crt' },
} as const;

export interface Issued {
  /** PEM certificate chain: leaf then CA. */
  certPem: string;
  /** PKCS#8 PEM private key. */
  keyPem: string;
  caPem: string;
  /** True when this call made a new certificate. */
  created: boolean;
}

export interface LeafRequest {
  /** File stem and CN, e.g. the node name or a client principal. */
  name: string;
  dnsNames: string[];
  ipAddresses: string[];
  usage: 'server' | 'client';
  /** A server certificate's identity (default node); a client's is always OU=client. */
  ou?: ServiceOu;
  /** Validity in days (default LEAF_DAYS, at most MAX_LEAF_DAYS). */
  days?: number;
  /** Always make a new certificate, even if the stored one still fits. */
  fresh?: boolean;
}

/** Certificates `millrace credentials` handed out (their keys are not kept). */
export const HANDED_OUT_DIR = 'handed-out';

/** Where a leaf's files live under the CA directory, by identity. */
export const LEAF_DIRS: Record<ServiceOu | typeof CLIENT_OU, string> = { node: 'hosts', 'kafka-broker': 'kafka-broker', spark: 'spark', client: 'clients' };

/**
 * A leaf's subject. Encoded O, OU, CN, so Java (and Kafka's principal mapping) reads it in
 * RFC 2253 order as CN=<name>,OU=<ou>,O=millrace.
 */
export function leafSubject(req: Pick<LeafRequest, 'name' | 'usage' | 'ou'>): string {
  const ou = leafOu(req);
  if (req.usage === 'client') checkPrincipal(req.name);
  else if (!PRINCIPAL_NAME.test(req.name)) throw new Error(`"${req.name}" cannot be a certificate name`);
  return `O=millrace, OU=${ou}, CN=${req.name}`;
}

function leafOu(req: Pick<LeafRequest, 'usage' | 'ou'>): ServiceOu | typeof CLIENT_OU {
  if (req.usage === 'client') {
    // A client certificate with a service OU would carry that service's identity.
    if (req.ou !== undefined) throw new Error(`a client certificate cannot carry OU=${req.ou}`);
    return CLIENT_OU;
  }
  const ou = req.ou ?? 'node';
  if (!SERVICE_OUS.includes(ou)) throw new Error(`unknown service OU ${String(ou)}`);
  return ou;
}

/**
 * Every CA a node or client must trust: the issuing one, plus during a rotation the previous or
 * the staged next one, oldest first (previous, current, next). So the bundle's text is the same in
 * both passes of a CA rotation (old then new), and its files change only when its set does.
 */
export function trustBundle(cas: X509.X509Certificate[]): string {
  const unique = [...new Map(cas.map((c) => [c.serialNumber + c.subject, c])).values()];
  return unique.map((c) => c.toString('pem') + '\n').join('');
}

export class ClusterCa {
  private constructor(
    private readonly dir: string,
    private readonly cert: X509.X509Certificate,
    private readonly key: CryptoKey,
    /** Trusted besides the issuing CA during a rotation: the previous CA and the staged next one. */
    private readonly rotation: { previous?: X509.X509Certificate; next?: X509.X509Certificate } = {},
  ) {}

  /** What a node or client trusts: the issuing CA and, during a rotation, the other one (PEM bundle). */
  get caPem(): string {
    return trustBundle([this.rotation.previous, this.cert, this.rotation.next].filter((c): c is X509.X509Certificate => !!c));
  }

  /** The issuing CA alone (PEM). */
  get issuingCaPem(): string {
    return this.cert.toString('pem') + '\n';
  }

  get certificate(): X509.X509Certificate {
    return this.cert;
  }

  /** Loads the CA from dir/ca.crt + dir/ca.key, creating it on first use, with the rotation's other CAs. */
  static async open(dir: string, clusterName: string): Promise<ClusterCa> {
    const certFile = path.join(dir, CA_FILES.current.cert);
    const keyFile = path.join(dir, CA_FILES.current.key);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const load = (f: string): X509.X509Certificate | undefined => (fs.existsSync(path.join(dir, f)) ? new (x509().X509Certificate)(fs.readFileSync(path.join(dir, f), 'utf8')) : undefined);
    const others = { previous: load(CA_FILES.previous.cert), next: load(CA_FILES.next.cert) };
    if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
      const cert = new (x509().X509Certificate)(fs.readFileSync(certFile, 'utf8'));
      const key = await importKey(fs.readFileSync(keyFile, 'utf8'));
      return new ClusterCa(dir, cert, key, others);
    }
    const made = await createCa(dir, CA_FILES.current, clusterName);
    return new ClusterCa(dir, made.cert, made.key, others);
  }

  /** Returns the leaf for a request, reusing the stored one while its names match and it is valid (unless `fresh`). */
  async issue(req: LeafRequest): Promise<Issued> {
    const subject = leafSubject(req);
    const leafDir = path.join(this.dir, LEAF_DIRS[leafOu(req)]);
    const certFile = path.join(leafDir, `${req.name}.crt`);
    const keyFile = path.join(leafDir, `${req.name}.key`);
    fs.mkdirSync(leafDir, { recursive: true, mode: 0o700 });
    if (!req.fresh && fs.existsSync(certFile) && fs.existsSync(keyFile)) {
      const existing = new (x509().X509Certificate)(fs.readFileSync(certFile, 'utf8'));
      if (this.stillFits(existing, req, subject))
        return { certPem: this.chain(existing), keyPem: fs.readFileSync(keyFile, 'utf8'), caPem: this.caPem, created: false };
    }
    const { cert, keyPem } = await this.makeLeaf(req, subject);
    fs.writeFileSync(keyFile, keyPem, { mode: 0o600 });
    fs.writeFileSync(certFile, cert.toString('pem') + '\n', { mode: 0o644 });
    return { certPem: this.chain(cert), keyPem, caPem: this.caPem, created: true };
  }

  /**
   * A new client certificate for someone else to hold (`millrace credentials`): the key is
   * returned and never stored; the certificate is kept in handed-out/<principal>.crt so `status`
   * can show when it expires. Always new, so each call starts its full validity.
   */
  async issueHandedOut(req: Omit<LeafRequest, 'usage' | 'ou' | 'fresh'>): Promise<Issued> {
    const full: LeafRequest = { ...req, usage: 'client' };
    const { cert, keyPem } = await this.makeLeaf(full, leafSubject(full));
    const dir = path.join(this.dir, HANDED_OUT_DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, `${req.name}.crt`), cert.toString('pem') + '\n', { mode: 0o644 });
    return { certPem: this.chain(cert), keyPem, caPem: this.caPem, created: true };
  }

  private async makeLeaf(req: LeafRequest, subject: string): Promise<{ cert: X509.X509Certificate; keyPem: string }> {
    const days = req.days ?? LEAF_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > MAX_LEAF_DAYS) throw new Error(`a certificate's validity must be 1 to ${MAX_LEAF_DAYS} days, not ${days}`);
    const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const names: X509.JsonGeneralName[] = [
      ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...req.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ];
    const cert = await x509().X509CertificateGenerator.create({
      subject,
      issuer: this.cert.subject,
      publicKey: keys.publicKey,
      signingKey: this.key,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + days * DAY),
      signingAlgorithm: ALG,
      extensions: [
        new (x509().BasicConstraintsExtension)(false, undefined, true),
        new (x509().KeyUsagesExtension)(x509().KeyUsageFlags.digitalSignature | x509().KeyUsageFlags.keyAgreement, true),
        new (x509().ExtendedKeyUsageExtension)(
          req.usage === 'server' ? [x509().ExtendedKeyUsage.serverAuth, x509().ExtendedKeyUsage.clientAuth] : [x509().ExtendedKeyUsage.clientAuth],
        ),
        ...(names.length ? [new (x509().SubjectAlternativeNameExtension)(names)] : []),
        await x509().AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    return { cert, keyPem: await exportKey(keys.privateKey) };
  }

  /** The leaf and the CA that issued it: a server presents only its own chain, whatever it trusts. */
  private chain(leaf: X509.X509Certificate): string {
    return leaf.toString('pem') + '\n' + this.issuingCaPem;
  }

  private stillFits(cert: X509.X509Certificate, req: LeafRequest, subject: string): boolean {
    if (cert.issuer !== this.cert.subject) return false;
    // A certificate of an earlier identity scheme (no OU) is reissued.
    if (cert.subject !== new (x509().Name)(subject).toString()) return false;
    if (cert.notAfter.getTime() - Date.now() < renewBeforeMs(cert)) return false;
    const san = cert.getExtension(x509().SubjectAlternativeNameExtension);
    const have = (san?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`).sort();
    const want = [...req.dnsNames.map((v) => `dns:${v}`), ...req.ipAddresses.map((v) => `ip:${v}`)].sort();
    return JSON.stringify(have) === JSON.stringify(want);
  }
}

/** How close to its expiry a stored leaf is reissued: 30 days, or a third of a shorter lifetime. */
export function renewBeforeMs(cert: Pick<X509.X509Certificate, 'notBefore' | 'notAfter'>): number {
  return Math.min(RENEW_BEFORE_DAYS * DAY, (cert.notAfter.getTime() - cert.notBefore.getTime()) / 3);
}

/** Makes a self-signed CA (10 years), its key 0600, at dir/<files>. */
export async function createCa(dir: string, files: { cert: string; key: string }, clusterName: string): Promise<{ cert: X509.X509Certificate; key: CryptoKey }> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509().X509CertificateGenerator.createSelfSigned({
    name: `CN=millrace ${clusterName} CA, O=millrace`,
    keys,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + CA_DAYS * DAY),
    signingAlgorithm: ALG,
    extensions: [
      new (x509().BasicConstraintsExtension)(true, 0, true),
      new (x509().KeyUsagesExtension)(x509().KeyUsageFlags.keyCertSign | x509().KeyUsageFlags.cRLSign, true),
      await x509().SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  fs.writeFileSync(path.join(dir, files.key), await exportKey(keys.privateKey), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, files.cert), cert.toString('pem') + '\n', { mode: 0o644 });
  return { cert, key: keys.privateKey };
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', key));
  return x509().PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509().PemConverter.decodeFirst(pem);
  return crypto.webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

/** Splits a node's addresses into SAN IPs and DNS names. */
export function sanFor(names: string[], addresses: (string | undefined)[]): { dnsNames: string[]; ipAddresses: string[] } {
  const all = [...new Set([...names, ...addresses.filter((a): a is string => !!a)])];
  return { dnsNames: all.filter((a) => net.isIP(a) === 0), ipAddresses: all.filter((a) => net.isIP(a) !== 0) };
}
