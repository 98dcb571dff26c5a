/**
 * Which ports each node should listen on (from lib/roles.ts, the one place ports are declared),
 * which it does listen on (from `ss` on the node), and how each one answers: a TLS handshake
 * verified against the cluster CA, or an HTTP redirect to HTTPS.
 */
import type { InventoryNode } from '../../lib/inventory';
import { hasPublicAddress, portsFor, PortSpec } from '../../lib/roles';
import { q } from '../../lib/shell';
import type { RemoteHost } from '../remote-host';
import { CA_PEM } from '../services/tls-files';
import type { VerifyRow } from './types';

export interface Listener {
  address: string;
  port: number;
  /** The owning process is visible from the node (ss -p names it). */
  owned: boolean;
}

/** `ss -Hltnp` output → listening sockets; IPv4-mapped IPv6 addresses become plain IPv4. */
export function parseListeners(ssOutput: string): Listener[] {
  return ssOutput.split('\n').flatMap((line) => {
    const local = line.trim().split(/\s+/)[3];
    const m = local ? /^(?:\[(?:::ffff:)?([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(local) : null;
    if (!m) return [];
    const address = (m[1] ?? m[2] ?? '').replace(/%.*$/, '');
    return [{ address: address === '*' ? '0.0.0.0' : address, port: Number(m[3]), owned: /users:\(\(/.test(line) }];
  });
}

const WILDCARD = new Set(['0.0.0.0', '::']);

/**
 * Ports reachable on the node's address: bound to it, or bound to every address by a process of
 * the node's own. A wildcard socket whose process the node cannot see belongs to whatever shares
 * its network (the local target's nodes share this machine's), and is listed apart.
 */
export function reachableOn(listeners: Listener[], address: string): { open: number[]; foreign: number[] } {
  const sorted = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
  const mine = listeners.filter((l) => l.address === address || (WILDCARD.has(l.address) && l.owned));
  const foreign = listeners.filter((l) => WILDCARD.has(l.address) && !l.owned);
  return { open: sorted(mine.map((l) => l.port)), foreign: sorted(foreign.map((l) => l.port)) };
}

/** The node's ports, 9095 included only where it has a public address. */
const declaredPorts = (node: InventoryNode, kafkaVoter?: boolean): PortSpec[] => portsFor(node.roles, { publicAddress: hasPublicAddress(node), kafkaVoter });

export interface PortVerdict {
  unexpected: number[];
  missing: PortSpec[];
}

/** Compares what listens with what the node's roles declare; on-demand ranges may be open or not. */
export function comparePorts(node: InventoryNode, open: number[], kafkaVoter?: boolean): PortVerdict {
  const specs = declaredPorts(node, kafkaVoter);
  const declared = (p: number): boolean => specs.some((s) => p >= s.port && p <= (s.toPort ?? s.port));
  return {
    unexpected: open.filter((p) => !declared(p)),
    missing: specs.filter((s) => !s.onDemand && !open.includes(s.port)),
  };
}

/** A node's ports: exactly the declared ones, and each TLS one verified, each redirect pointing to HTTPS. */
export async function verifyNodePorts(host: RemoteHost, node: InventoryNode, kafkaVoter?: boolean): Promise<VerifyRow[]> {
  const address = node.privateAddress;
  const { open, foreign } = reachableOn(parseListeners(await host.execOrThrow('ss -Hltnp')), address);
  const verdict = comparePorts(node, open, kafkaVoter);
  const rows: VerifyRow[] = [
    {
      check: 'ports: only the declared ones listen',
      target: node.name,
      ok: verdict.unexpected.length === 0 && verdict.missing.length === 0,
      detail: [
        `listening: ${open.join(', ') || 'none'}`,
        verdict.unexpected.length ? `NOT DECLARED: ${verdict.unexpected.join(', ')}` : '',
        verdict.missing.length ? `not listening: ${verdict.missing.map((s) => `${s.port} (${s.name})`).join(', ')}` : '',
        foreign.length ? `ignored, not this node's processes (shared network): ${foreign.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    },
  ];
  for (const spec of declaredPorts(node).filter((s) => !s.onDemand && open.includes(s.port))) {
    if (spec.protocol === 'tls') rows.push(await tlsRow(host, node, spec));
    if (spec.protocol === 'https-redirect') rows.push(await redirectRow(host, node, spec));
  }
  // A port nobody declared may speak anything; say whether it is plaintext.
  for (const port of verdict.unexpected) rows.push({ ...(await tlsRow(host, node, { name: 'undeclared', port } as PortSpec)), check: `port ${port} (undeclared) speaks TLS` });
  return rows;
}

async function tlsRow(host: RemoteHost, node: InventoryNode, spec: Pick<PortSpec, 'name' | 'port'>): Promise<VerifyRow> {
  const target = `${node.privateAddress}:${spec.port}`;
  const r = await host.exec(
    `timeout 10 openssl s_client -connect ${q(target)} -CAfile ${q(CA_PEM)} -verify_return_error -verify_ip ${q(node.privateAddress)} -brief </dev/null 2>&1`,
  );
  const protocol = /Protocol version: (\S+)/.exec(r.stdout)?.[1];
  const ok = /Verification: OK/.test(r.stdout) && !!protocol;
  return {
    check: `port ${spec.port} (${spec.name}) speaks TLS`,
    target: node.name,
    ok,
    detail: ok ? `${protocol}, certificate verified against the cluster CA` : `no verified TLS handshake: ${lastMeaningful(r.stdout)}`,
  };
}

async function redirectRow(host: RemoteHost, node: InventoryNode, spec: PortSpec): Promise<VerifyRow> {
  const r = await host.exec(`curl -sS -o /dev/null --max-time 5 -w '%{http_code} %{redirect_url}' ${q(`http://${node.privateAddress}:${spec.port}/`)}`);
  const [code, location] = r.stdout.trim().split(' ');
  const ok = /^30[1278]$/.test(code ?? '') && (location ?? '').startsWith('https://');
  return { check: `port ${spec.port} (${spec.name}) only redirects to HTTPS`, target: node.name, ok, detail: ok ? `${code} → ${location}` : `HTTP ${code ?? '?'} ${location ?? r.stderr.trim()}` };
}

function lastMeaningful(out: string): string {
  return (
    out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-1)[0] ?? 'no answer'
  ).slice(0, 160);
}
