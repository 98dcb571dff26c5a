/**
 * `verify`: certificate expiry, from what the nodes really use. Each TLS port's certificate is
 * read live (the handshake, from the node itself); a certificate file on the node (a service's
 * key files, the pipeline's Kafka client certificate, the trusted CAs) is read where no port
 * shows it. One row per distinct certificate, failing under EXPIRY_FAIL_DAYS days.
 */
import type { InventoryNode } from '../../lib/inventory';
import { hasPublicAddress, portsFor } from '../../lib/roles';
import { q } from '../../lib/shell';
import { expiryVerdict, pemCertificates } from '../pki/expiry';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { isController } from '../services/kafka';
import { SPARK_KAFKA_KEYSTORE } from '../services/spark';
import { CA_PEM, TLS_DIR } from '../services/tls-files';
import type { VerifyRow } from './types';

/** Where a certificate was seen: "port 9093" or a file path. */
export interface SeenCertificate {
  source: string;
  live: boolean;
  pem: string;
}

const MARK = '=== millrace-cert ';

/** One command that prints every TLS port's presented certificate and the certificate files, each after a marker line. */
export function readCertificatesCommand(node: InventoryNode, kafkaVoter?: boolean): string {
  const ports = portsFor(node.roles, { publicAddress: hasPublicAddress(node), kafkaVoter }).filter((p) => p.protocol === 'tls' && !p.onDemand);
  const live = ports.map(
    (p) =>
      `echo ${q(`${MARK}live port ${p.port}`)}; timeout 10 openssl s_client -connect ${q(`${node.privateAddress}:${p.port}`)} </dev/null 2>/dev/null | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'`,
  );
  // Files: only the certificates, never a key line (the sed keeps the certificate blocks alone).
  const files = `for f in ${q(CA_PEM)} ${q(TLS_DIR)}/*/node.pem ${q(SPARK_KAFKA_KEYSTORE)}; do [ -f "$f" ] || continue; echo "${MARK}file $f"; sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$f"; done`;
  return [...live, files].join('\n');
}

export function parseCertificateDump(out: string): SeenCertificate[] {
  const seen: SeenCertificate[] = [];
  for (const part of out.split(MARK).slice(1)) {
    const nl = part.indexOf('\n');
    const head = nl < 0 ? part : part.slice(0, nl);
    const body = nl < 0 ? '' : part.slice(nl + 1);
    const [kind, ...rest] = head.trim().split(' ');
    seen.push({ source: rest.join(' '), live: kind === 'live', pem: body });
  }
  return seen;
}

/**
 * Rows from what a node showed. The leaf a port presents is the first certificate of the
 * handshake; a file's leaf is its first certificate, except the CA bundle whose every
 * certificate is a CA. The same certificate seen in several places is one row, live first.
 */
export function certificateRows(nodeName: string, seen: SeenCertificate[], now = Date.now()): VerifyRow[] {
  const bySerial = new Map<string, { subject: string; notAfter: Date; isCa: boolean; live: string[]; files: string[] }>();
  const unread: string[] = [];
  for (const s of seen) {
    const certs = pemCertificates(s.pem);
    if (!certs.length) {
      if (s.live) unread.push(s.source);
      continue;
    }
    const isBundle = !s.live && s.source === CA_PEM;
    for (const c of isBundle ? certs : certs.slice(0, 1)) {
      const key = `${c.issuer}/${c.serialNumber}`;
      const entry = bySerial.get(key) ?? { subject: c.subject, notAfter: c.notAfter, isCa: isBundle, live: [], files: [] };
      (s.live ? entry.live : entry.files).push(s.source);
      bySerial.set(key, entry);
    }
  }
  const rows: VerifyRow[] = [...bySerial.entries()].map(([key, e]) => {
    const v = expiryVerdict(e.notAfter, now);
    const where = [...e.live, ...e.files.filter(() => !e.live.length)].join(', ');
    return {
      check: `certificate expiry: ${e.isCa ? 'CA ' : ''}${e.subject}`,
      target: nodeName,
      ok: v.ok,
      detail: `${v.detail}; serial ${key.split('/').pop()}; ${e.live.length ? 'presented on' : 'file'} ${where}`,
    };
  });
  for (const source of unread)
    rows.push({ check: `certificate expiry: ${source}`, target: nodeName, ok: false, detail: `no certificate could be read from ${source} (the service is down, or does not speak TLS there)` });
  return rows;
}

export async function verifyCertificates(facts: ClusterFacts, hosts: Map<string, RemoteHost>, now = Date.now()): Promise<VerifyRow[]> {
  const perNode = await Promise.all(
    facts.nodes.map(async (node) => {
      const host = hosts.get(node.name);
      if (!host) return [{ check: 'certificate expiry', target: node.name, ok: false, detail: 'no connection to the node' }];
      const r = await host.exec(readCertificatesCommand(node, isController(facts, node)));
      return certificateRows(node.name, parseCertificateDump(r.stdout), now);
    }),
  );
  return perNode.flat();
}
