/** `millrace list`: every cluster in the state directory, its target, nodes, age and health at a glance. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../lib/errors';
import { flowAllowed } from '../../lib/flows';
import { InventoryNode, operatorUsesClientListener, parseInventory } from '../../lib/inventory';
import { millraceHome } from '../../lib/paths';
import { ROLE_PORTS } from '../../lib/roles';
import { output } from '../context';
import { formatTable } from '../table';

export type Health = 'healthy' | 'degraded' | 'down' | 'no nodes' | 'unknown';

export interface ClusterSummary {
  name: string;
  target: string | null;
  nodes: number;
  createdAt: string | null;
  health: Health;
  /** Ports that answered, of those probed. */
  open: number;
  probed: number;
  /** Why the health is unknown or what did not answer. */
  detail?: string;
  stateDir: string;
}

/**
 * What a quick TCP probe from here can reach: each node's SSH port, and, where the node's private
 * address is the one we reach it at (local, most static clusters), the service ports the flow
 * table opens to the operator (the web UIs, and Kafka's CLIENT listener, which millrace's own
 * clients use while the node has no public address). Other ports are closed to the operator by the
 * security groups and the local firewall: probing them would call every such cluster degraded. On
 * AWS the private addresses are inside the VPC, so only SSH is probed.
 */
export function probeTargets(node: InventoryNode, nodes: readonly InventoryNode[] = [node]): { host: string; port: number; what: string }[] {
  const targets = [{ host: node.sshAddress, port: node.sshPort, what: `${node.name} ssh` }];
  if (node.privateAddress !== node.sshAddress) return targets;
  const clientListener = operatorUsesClientListener(nodes);
  const operatorReaches = (name: string, port: number): boolean => (name === 'kafka-client' && clientListener) || flowAllowed('operator', node.roles, port) !== undefined;
  for (const role of node.roles)
    for (const p of ROLE_PORTS[role])
      if (!p.onDemand && !p.publicOnly && p.toPort === undefined && operatorReaches(p.name, p.port)) targets.push({ host: node.privateAddress, port: p.port, what: `${node.name} ${p.name}` });
  return [...new Map(targets.map((t) => [`${t.host}:${t.port}`, t])).values()];
}

export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function summarize(dir: string, timeoutMs: number): Promise<ClusterSummary> {
  const name = path.basename(dir);
  const base = { name, stateDir: dir, open: 0, probed: 0 };
  const file = path.join(dir, 'inventory.json');
  if (!fs.existsSync(file)) return { ...base, target: null, nodes: 0, createdAt: null, health: 'no nodes', detail: 'no inventory: never up, or down' };
  let inventory;
  try {
    inventory = parseInventory(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  } catch (error) {
    return { ...base, target: null, nodes: 0, createdAt: null, health: 'unknown', detail: `unreadable inventory: ${(error as Error).message.split('\n')[0]}` };
  }
  // One probe per address and port, however many nodes share it.
  const seen = new Set<string>();
  const targets = inventory.nodes.flatMap((n) => probeTargets(n, inventory.nodes)).filter((t) => !seen.has(`${t.host}:${t.port}`) && !!seen.add(`${t.host}:${t.port}`));
  const results = await Promise.all(targets.map(async (t) => ({ ...t, ok: await tcpOpen(t.host, t.port, timeoutMs) })));
  const open = results.filter((r) => r.ok).length;
  const closed = results.filter((r) => !r.ok).map((r) => r.what);
  const health: Health = targets.length === 0 ? 'no nodes' : open === targets.length ? 'healthy' : open === 0 ? 'down' : 'degraded';
  return {
    ...base,
    target: inventory.target,
    nodes: inventory.nodes.length,
    createdAt: inventory.createdAt,
    health,
    open,
    probed: targets.length,
    ...(closed.length ? { detail: `not answering: ${closed.slice(0, 4).join(', ')}${closed.length > 4 ? `, +${closed.length - 4}` : ''}` } : {}),
  };
}

function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  const ago = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return `${iso.replace(/\.\d+Z$/, 'Z')} (${ago} ago)`;
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list the clusters in the state directory ($MILLRACE_HOME/clusters): target, nodes, creation time, health at a glance')
    .option('--timeout <ms>', 'how long each port probe waits', '800')
    .addHelpText(
      'after',
      "\nHealth is a quick TCP probe of each node's SSH and of the service ports open to the operator (on aws, SSH only): healthy when all\nanswer, degraded when some do, down when none does. `millrace status` checks every service for real.",
    )
    .action(async function (this: Command, opts: { timeout: string }) {
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000) {
        throw new UsageError(`--timeout "${opts.timeout}" is not a number of milliseconds between 1 and 10000`, { hint: 'e.g. --timeout 500' });
      }
      const root = path.join(millraceHome(), 'clusters');
      const dirs = fs.existsSync(root)
        ? fs
            .readdirSync(root, { withFileTypes: true })
            .filter((d) => d.isDirectory())
            .map((d) => path.join(root, d.name))
            .sort()
        : [];
      const clusters = await Promise.all(dirs.map((d) => summarize(d, timeoutMs)));
      const human = clusters.length
        ? formatTable([
            ['NAME', 'TARGET', 'NODES', 'CREATED', 'HEALTH'],
            ...clusters.map((c) => [c.name, c.target ?? '-', String(c.nodes), age(c.createdAt), `${c.health}${c.probed ? ` (${c.open}/${c.probed} ports)` : ''}${c.detail ? `: ${c.detail}` : ''}`]),
          ])
        : `no clusters in ${root}\nnext: \`millrace up\` creates one`;
      output(this, human, clusters);
    });
}
