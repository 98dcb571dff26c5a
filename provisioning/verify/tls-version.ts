/**
 * The minimum TLS version on every TLS port: a TLS 1.0 and a TLS 1.1 handshake are refused by
 * the server, and a TLS 1.2 one completes. Run with openssl on the node itself (every TLS port is
 * reachable there, whatever the flow table lets the operator reach).
 *
 * OpenSSL 3 refuses TLS 1.0/1.1 on its own at its default security level (the client gives up
 * before or during the handshake: "no protocols available", "legacy sigalg disallowed"), which
 * would look like a refusal. So the old handshakes are offered with `-cipher DEFAULT@SECLEVEL=0`,
 * each answer is classified by who ended it (a protocol-version alert or a close from the server
 * is the server's refusal; a client-side error proves nothing and fails the row), and a control
 * on each node shows that this client does complete a TLS 1.1 handshake with a server that allows
 * it (a throwaway `openssl s_server -tls1_1` on the node's 127.0.0.1, on a port of the kernel's choosing:
 * never on the node's address, where the ports rows running meanwhile would see an undeclared port).
 */
import type { InventoryNode } from '../../lib/inventory';
import { hasPublicAddress, portsFor, PortSpec } from '../../lib/roles';
import { q } from '../../lib/shell';
import type { RemoteHost } from '../remote-host';
import { CA_PEM, TLS_DIR } from '../services/tls-files';
import type { VerifyRow } from './types';

export type TlsVersion = 'tls1' | 'tls1_1' | 'tls1_2';
const LABEL: Record<TlsVersion, string> = { tls1: 'TLS 1.0', tls1_1: 'TLS 1.1', tls1_2: 'TLS 1.2' };

/** How a handshake ended: completed (with the protocol), refused by the server, or inconclusive (the client's own doing, or no answer). */
export type Handshake = { result: 'accepted'; protocol: string } | { result: 'refused'; why: string } | { result: 'inconclusive'; why: string };

const SERVER_REFUSALS: [RegExp, string][] = [
  [/alert protocol version/i, 'protocol_version alert'],
  [/alert handshake failure/i, 'handshake_failure alert'],
  [/alert insufficient security/i, 'insufficient_security alert'],
  [/SSL alert number (\d+)/i, 'alert $1'],
  [/unexpected eof while reading|Connection reset by peer|errno=104/i, 'the server closed the connection'],
  // The server answered with a newer version than the one offered.
  [/unsupported protocol|wrong version number/i, 'the server answered with another version'],
];
const CLIENT_SIDE = /no protocols available|legacy sigalg disallowed|no ciphers available|Connection refused|errno=111|timed out/i;

/** openssl s_client -brief output → what happened. */
export function classifyHandshake(out: string): Handshake {
  const protocol = /Protocol version: (\S+)/.exec(out)?.[1];
  if (protocol && /CONNECTION ESTABLISHED/.test(out)) return { result: 'accepted', protocol };
  const client = CLIENT_SIDE.exec(out);
  if (client) return { result: 'inconclusive', why: client[0] };
  for (const [re, why] of SERVER_REFUSALS) {
    const m = re.exec(out);
    if (m) return { result: 'refused', why: why.replace('$1', m[1] ?? '') };
  }
  return { result: 'inconclusive', why: lastLine(out) };
}

function lastLine(out: string): string {
  return (
    out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? 'no output'
  ).slice(0, 160);
}

/** The s_client command for one version; TLS 1.2 with a client certificate where the port wants one. */
export function handshakeCommand(address: string, port: number, version: TlsVersion, clientPem?: string): string {
  const old = version === 'tls1_2' ? '' : ' -cipher DEFAULT@SECLEVEL=0';
  const cert = clientPem ? ` -cert ${q(clientPem)} -key ${q(clientPem)}` : '';
  return `timeout 10 openssl s_client -connect ${q(`${address}:${port}`)} -${version}${old}${cert} -CAfile ${q(CA_PEM)} -brief </dev/null 2>&1`;
}

/** The node's TLS ports, opened all the time (not a running application's), with 9095 only where it exists. */
export function tlsPorts(node: InventoryNode, kafkaVoter?: boolean): PortSpec[] {
  return portsFor(node.roles, { publicAddress: hasPublicAddress(node), kafkaVoter }).filter((s) => s.protocol === 'tls' && !s.onDemand);
}

/** Kafka's listeners require a client certificate: the broker's own, on its node. */
export function clientPemFor(spec: Pick<PortSpec, 'authentication'>, node: InventoryNode): string | undefined {
  return /mutual TLS/.test(spec.authentication) && node.roles.includes('kafka') ? `${TLS_DIR}/kafka/node.pem` : undefined;
}

export interface PortVersions {
  port: number;
  name: string;
  tls1: Handshake;
  tls1_1: Handshake;
  tls1_2: Handshake;
}

export async function probePort(host: RemoteHost, address: string, port: number, clientPem?: string): Promise<Omit<PortVersions, 'name'>> {
  const one = async (v: TlsVersion): Promise<Handshake> => classifyHandshake((await host.exec(handshakeCommand(address, port, v, clientPem))).stdout);
  return { port, tls1: await one('tls1'), tls1_1: await one('tls1_1'), tls1_2: await one('tls1_2') };
}

/** Whether a port passes: both old versions refused by the server, TLS 1.2 completed. */
export function portVerdict(p: Omit<PortVersions, 'name'>): { ok: boolean; detail: string } {
  const said = (v: TlsVersion): string => {
    const h = p[v];
    return `${LABEL[v]} ${h.result === 'accepted' ? `accepted (${h.protocol})` : h.result === 'refused' ? `refused (${h.why})` : `inconclusive (${h.why})`}`;
  };
  const ok = p.tls1.result === 'refused' && p.tls1_1.result === 'refused' && p.tls1_2.result === 'accepted';
  return { ok, detail: `${p.port}: ${(['tls1', 'tls1_1', 'tls1_2'] as const).map(said).join(', ')}` };
}

export function tlsVersionRow(node: string, ports: PortVersions[]): VerifyRow {
  const verdicts = ports.map((p) => ({ p, ...portVerdict(p) }));
  const bad = verdicts.filter((v) => !v.ok);
  return {
    check: 'TLS: every TLS port refuses TLS 1.0 and 1.1 and completes TLS 1.2',
    target: node,
    ok: ports.length > 0 && bad.length === 0,
    detail: ports.length === 0 ? 'no TLS port listening' : bad.length ? bad.map((v) => v.detail).join('; ') : `${ports.map((p) => `${p.port} (${p.name})`).join(', ')}: 1.0 and 1.1 refused by the server, 1.2 completed`,
  };
}

/**
 * The control: a TLS 1.1-only openssl server on the node (a throwaway self-signed key), and the
 * same client command. It must complete: then a refusal above is the server's, not this client's.
 * Prints the client's output.
 */
export function controlScript(address = '127.0.0.1'): string {
  return `set -u
d=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$d"' EXIT; pid=
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/k" -out "$d/c" -subj /CN=millrace-verify-control -days 1 >/dev/null 2>&1
openssl s_server -accept ${q(address)}:0 -cert "$d/c" -key "$d/k" -tls1_1 -cipher DEFAULT@SECLEVEL=0 -www -naccept 1 >"$d/log" 2>&1 </dev/null &
pid=$!
port=
for i in $(seq 50); do port=$(sed -n 's/^ACCEPT .*:\\([0-9]*\\)$/\\1/p' "$d/log"); [ -n "$port" ] && break; sleep 0.1; done
[ -n "$port" ] || { echo "the control server did not start: $(tail -1 "$d/log")"; exit 0; }
timeout 10 openssl s_client -connect ${q(address)}:$port -tls1_1 -cipher DEFAULT@SECLEVEL=0 -brief </dev/null 2>&1
`;
}

export function controlRow(node: string, out: string): VerifyRow {
  const h = classifyHandshake(out);
  const ok = h.result === 'accepted' && /TLSv1\.1/.test(h.protocol);
  return {
    check: 'TLS: this client completes TLS 1.1 with a server that allows it (control)',
    target: node,
    ok,
    detail: ok ? `openssl s_client ${h.protocol} with a throwaway TLS 1.1 server: the refusals are the servers'` : `the client could not: ${h.result === 'accepted' ? h.protocol : h.why} (the refusals prove nothing)`,
  };
}

export async function verifyTlsVersions(host: RemoteHost, node: InventoryNode, listening?: number[], kafkaVoter?: boolean): Promise<VerifyRow[]> {
  const specs = tlsPorts(node, kafkaVoter).filter((s) => !listening || listening.includes(s.port));
  const ports: PortVersions[] = [];
  for (const s of specs) ports.push({ name: s.name, ...(await probePort(host, node.privateAddress, s.port, clientPemFor(s, node))) });
  const control = await host.exec(controlScript());
  return [controlRow(node.name, control.stdout), tlsVersionRow(node.name, ports)];
}
