/**
 * The cluster CA: one per cluster, its key 0600 in the cluster state directory. It signs a
 * certificate per host (SANs: the node's names and addresses) and per client principal.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKey = crypto.webcrypto.CryptoKey;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG: crypto.webcrypto.EcKeyGenParams & crypto.webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 24 * 3600 * 1000;
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** Leaf certificates are reissued when they are this close to expiry. */
const RENEW_BEFORE_DAYS = 30;

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
}

export class ClusterCa {
  private constructor(
    private readonly dir: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
  ) {}

  get caPem(): string {
    return this.cert.toString('pem') + '\n';
  }

  /** Loads the CA from dir/ca.crt + dir/ca.key, creating it on first use. */
  static async open(dir: string, clusterName: string): Promise<ClusterCa> {
    const certFile = path.join(dir, 'ca.crt');
    const keyFile = path.join(dir, 'ca.key');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
      const cert = new x509.X509Certificate(fs.readFileSync(certFile, 'utf8'));
      const key = await importKey(fs.readFileSync(keyFile, 'utf8'));
      return new ClusterCa(dir, cert, key);
    }
    const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=millrace ${clusterName} CA, O=millrace`,
      keys,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + CA_DAYS * DAY),
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    fs.writeFileSync(keyFile, await exportKey(keys.privateKey), { mode: 0o600 });
    fs.writeFileSync(certFile, cert.toString('pem') + '\n', { mode: 0o644 });
    return new ClusterCa(dir, cert, keys.privateKey);
  }

  /** Returns the leaf for a request, reusing the stored one while its names match and it is valid. */
  async issue(req: LeafRequest): Promise<Issued> {
    const leafDir = path.join(this.dir, req.usage === 'server' ? 'hosts' : 'clients');
    const certFile = path.join(leafDir, `${req.name}.crt`);
    const keyFile = path.join(leafDir, `${req.name}.key`);
    fs.mkdirSync(leafDir, { recursive: true, mode: 0o700 });
    if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
      const existing = new x509.X509Certificate(fs.readFileSync(certFile, 'utf8'));
      if (this.stillFits(existing, req))
        return { certPem: this.chain(existing), keyPem: fs.readFileSync(keyFile, 'utf8'), caPem: this.caPem, created: false };
    }
    const keys = (await crypto.webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const names: x509.JsonGeneralName[] = [
      ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...req.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ];
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${req.name}, O=millrace`,
      issuer: this.cert.subject,
      publicKey: keys.publicKey,
      signingKey: this.key,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + LEAF_DAYS * DAY),
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension(
          req.usage === 'server' ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth],
        ),
        ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    const keyPem = await exportKey(keys.privateKey);
    fs.writeFileSync(keyFile, keyPem, { mode: 0o600 });
    fs.writeFileSync(certFile, cert.toString('pem') + '\n', { mode: 0o644 });
    return { certPem: this.chain(cert), keyPem, caPem: this.caPem, created: true };
  }

  private chain(leaf: x509.X509Certificate): string {
    return leaf.toString('pem') + '\n' + this.caPem;
  }

  private stillFits(cert: x509.X509Certificate, req: LeafRequest): boolean {
    if (cert.issuer !== this.cert.subject) return false;
    if (cert.notAfter.getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY) return false;
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const have = (san?.names.toJSON() ?? []).map((n) => `${n.type}:${n.value}`).sort();
    const want = [...req.dnsNames.map((v) => `dns:${v}`), ...req.ipAddresses.map((v) => `ip:${v}`)].sort();
    return JSON.stringify(have) === JSON.stringify(want);
  }
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

/** Splits a node's addresses into SAN IPs and DNS names. */
export function sanFor(names: string[], addresses: (string | undefined)[]): { dnsNames: string[]; ipAddresses: string[] } {
  const all = [...new Set([...names, ...addresses.filter((a): a is string => !!a)])];
  return { dnsNames: all.filter((a) => net.isIP(a) === 0), ipAddresses: all.filter((a) => net.isIP(a) !== 0) };
}
