/** Day-2 commands: status, ssh, exec, logs. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { HealthCheckError, UsageError } from '../../lib/errors';
import { Inventory, InventoryNode, readInventory } from '../../lib/inventory';
import { unsafeOverrides } from '../../lib/overrides';
import { mapSettled } from '../../lib/parallel';
import { ROLES, Role } from '../../lib/roles';
import { cmd } from '../../lib/shell';
import { clusterStateDir } from '../../lib/paths';
import { loadFacts, requireClusterState } from '../../provisioning/cluster-state';
import { formatCertificates, stateCertificates } from '../../provisioning/pki/expiry';
import { clusterKnownHosts, JUMP_HOST_PIN, knownHostsLine } from '../../provisioning/known-hosts';
import { jumpHostLabel } from '../../provisioning/remote-host';
import { servicesFor } from '../../provisioning/registry';
import type { HealthReport } from '../../provisioning/service';
import { withHosts } from '../bootstrap';
import { configFor, globals, output } from '../context';
import { registerCopyFile } from './copy-file';

interface ServiceStatus {
  node: string;
  service: string;
  healthy: boolean;
  checks: HealthReport['checks'];
}

export function registerOps(program: Command): void {
  program
    .command('status')
    .description('check every service on every node: systemd state, port, a protocol-level check, and its security state')
    .addHelpText('after', '\nExits 0 only when everything is healthy, 1 otherwise, so scripts can wait on it.')
    .action(async function (this: Command) {
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const statuses = await collectStatus(config, inventory);
      const bad = statuses.filter((s) => !s.healthy);
      // Certificate expiry, from the cluster state (read only); `verify` checks the live ones.
      const certificates = stateCertificates(path.join(clusterStateDir(config.name), 'pki'));
      output(this, `${formatStatus(statuses)}\n\n${formatCertificates(certificates)}`, { cluster: config.name, healthy: bad.length === 0, services: statuses, certificates });
      if (bad.length)
        throw new HealthCheckError(`${bad.length} of ${statuses.length} services unhealthy: ${bad.map((s) => `${s.service} on ${s.node}`).join(', ')}`, {
          hint: 'look at a service with `millrace logs <node> <service>`, or re-run `millrace up` to converge',
        });
    });

  program
    .command('ssh <node> [command...]')
    .description('open a shell on a node, or run a command there as the login user (host key pinned by millrace; through the bastion when there is one)')
    .action(function (this: Command, nodeName: string, words: string[] = []) {
      const config = configFor(this);
      const node = findNode(readInventory(config.name), nodeName);
      const status = sshSession(config, node, words);
      if (status !== 0 && status !== null && status !== 130) throw new UsageError(`ssh to ${node.name} exited with ${status}`);
    });

  program
    .command('exec <where> [command...]')
    .description('run a command as root on a node, on every node with a role, or on all nodes, streaming its output')
    .addHelpText(
      'after',
      '\nOutput is shown as it arrives. With several nodes each line starts with the node\'s name (`kafka-1 | ...`);\n' +
        'with one node it is passed through as it is. With --json nothing is streamed: one result per node\n' +
        '({node, code, stdout, stderr}) is printed at the end. Exits 1 if the command failed on any node, naming them.',
    )
    .action(async function (this: Command, where: string, words: string[]) {
      if (!words.length) throw new UsageError('no command given', { hint: 'put the command after --, e.g. `millrace exec all -- uptime`' });
      const json = !!globals(this).json;
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const nodes = selectNodes(inventory, where);
      const command = words.join(' ');
      const width = Math.max(...nodes.map((n) => n.name.length));
      const results = await withHosts(config, { ...inventory, nodes }, async (hosts) =>
        mapSettled(nodes, 8, (n) => n.name, async (n) => {
          if (json) return hosts.get(n.name)!.exec(command);
          const prefix = nodes.length > 1 ? `${n.name.padEnd(width)} | ` : '';
          const out = new LinePrefixer(prefix, (s) => process.stdout.write(s));
          const err = new LinePrefixer(prefix, (s) => process.stderr.write(s));
          try {
            return await hosts.get(n.name)!.exec(command, { onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) });
          } finally {
            out.end();
            err.end();
          }
        }),
      );
      const rows = results.map((r) =>
        r.ok ? { node: r.where, code: r.value.code, stdout: r.value.stdout, stderr: r.value.stderr } : { node: r.where, code: null, stdout: '', stderr: '', error: r.error instanceof Error ? r.error.message : String(r.error) },
      );
      if (json) output(this, '', rows);
      const failed = rows.filter((r) => r.code !== 0);
      const why = (r: (typeof rows)[number]): string => ('error' in r ? `error: ${r.error}` : r.code === null ? 'killed by a signal' : `exit ${r.code}`);
      const others = rows.length - failed.length;
      if (failed.length)
        throw new HealthCheckError(`the command failed on ${failed.map((r) => `${r.node} (${why(r)})`).join(', ')}${others ? `; it succeeded on ${others} other node${others === 1 ? '' : 's'}` : ''}`);
    });

  registerCopyFile(program);

  program
    .command('forget-host <node>')
    .description("forget a node's pinned SSH host key, after rebuilding the node on purpose")
    .addHelpText('after', '\nThe next `up` or `status` pins the key the node offers then. Never do this for a key change you did not cause.')
    .action(function (this: Command, nodeName: string) {
      const config = configFor(this);
      const pins = clusterKnownHosts(config.name);
      const pin = pins.get(nodeName);
      if (!pin) throw new UsageError(`no pinned host key for "${nodeName}" in cluster ${config.name}`, { hint: 'nothing to forget; check the node name with `millrace status`' });
      pins.forget(nodeName);
      output(this, `forgot ${nodeName}'s host key ${pin.fingerprint} (${pin.address})`, { node: nodeName, fingerprint: pin.fingerprint });
    });

  program
    .command('logs <node> [service]')
    .description("show a service's log from the node's journal (all millrace services if none named)")
    .option('-n, --lines <n>', 'how many lines', '100')
    .option('-f, --follow', 'keep following')
    .action(async function (this: Command, nodeName: string, service: string | undefined, opts: { lines: string; follow?: boolean }) {
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const node = findNode(inventory, nodeName);
      const units = servicesFor(node.roles)
        .filter((s) => !service || s.id === service || s.id.endsWith(service))
        .map((s) => s.unit);
      if (!units.length) throw new UsageError(`${node.name} runs no service "${service}"`, { hint: `its services: ${servicesFor(node.roles).map((s) => s.id).join(', ')}` });
      // The journal is root's to read; the command runs through the same privilege seam as `up`.
      const remote = cmd('journalctl', '--no-pager', '-n', String(Number(opts.lines) || 100), ...(opts.follow ? ['-f'] : []), ...units.flatMap((u) => ['-u', u]));
      const r = await withHosts(config, { ...inventory, nodes: [node] }, (hosts) =>
        hosts.get(node.name)!.exec(remote, { onStdout: (s) => process.stdout.write(s), onStderr: (s) => process.stderr.write(s) }),
      );
      if (r.code !== 0) throw new HealthCheckError(`${node.name}: journalctl exited with ${r.code ?? 'a signal'}`);
    });
}

async function collectStatus(config: ClusterConfig, inventory: Inventory): Promise<ServiceStatus[]> {
  // status only reads: a lost CA or secret is named before any connection, and never re-made.
  requireClusterState(config.name, inventory);
  const perNode = await withHosts(config, inventory, async (hosts) => {
    const facts = await loadFacts(config, inventory);
    return mapSettled(inventory.nodes, 8, (n) => n.name, async (node) =>
      Promise.all(
        servicesFor(node.roles).map(async (s): Promise<ServiceStatus> => {
          const host = hosts.get(node.name)!;
          const ctx = { cluster: facts, node, peers: hosts };
          const h = await s.healthCheck(host, ctx);
          // The security state counts as health: a cluster millrace calls healthy is a secure one.
          const security = s.securityChecks ? await s.securityChecks(host, ctx).catch((e: Error) => [{ name: 'security state', ok: false, detail: e.message }]) : [];
          const checks = [...h.checks, ...security];
          return { node: node.name, service: s.id, healthy: checks.every((c) => c.ok), checks };
        }),
      ),
    );
  });
  const services = perNode.flatMap((r) =>
    r.ok ? r.value : [{ node: r.where, service: 'ssh', healthy: false, checks: [{ name: 'ssh', ok: false, detail: String((r.error as Error).message ?? r.error) }] }],
  );
  // An acknowledged unsafe override weakens security on purpose: never healthy while it is set.
  const unsafe = unsafeOverrides(config);
  if (unsafe.length)
    services.push({
      node: 'cluster',
      service: 'config',
      healthy: false,
      checks: unsafe.map((u) => ({ name: 'acknowledged unsafe override', ok: false, detail: `${u.service}.overrides ${u.key} (${u.service}.unsafe): ${u.why}` })),
    });
  return services;
}

function formatStatus(statuses: ServiceStatus[]): string {
  const w = [Math.max(4, ...statuses.map((s) => s.node.length)), Math.max(7, ...statuses.map((s) => s.service.length))];
  const lines = statuses.flatMap((s) => [
    `${s.node.padEnd(w[0]!)}  ${s.service.padEnd(w[1]!)}  ${s.healthy ? 'healthy' : 'UNHEALTHY'}`,
    ...s.checks.map((c) => `${' '.repeat(w[0]! + w[1]! + 4)}${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`),
  ]);
  const bad = statuses.filter((s) => !s.healthy).length;
  return [`${'NODE'.padEnd(w[0]!)}  ${'SERVICE'.padEnd(w[1]!)}  STATE`, ...lines, '', bad ? `${bad} of ${statuses.length} services unhealthy` : `all ${statuses.length} services healthy`].join('\n');
}

function findNode(inventory: Inventory, name: string): InventoryNode {
  const node = inventory.nodes.find((n) => n.name === name);
  if (!node) throw new UsageError(`no node named "${name}" in cluster ${inventory.cluster}`, { hint: `nodes: ${inventory.nodes.map((n) => n.name).join(', ')}` });
  return node;
}

/** `all`, a role, or a node name; a role no node has is an error, not an empty selection. */
export function selectNodes(inventory: Inventory, where: string): InventoryNode[] {
  if (where === 'all') return inventory.nodes;
  if ((ROLES as readonly string[]).includes(where)) {
    const nodes = inventory.nodes.filter((n) => n.roles.includes(where as Role));
    if (!nodes.length) throw new UsageError(`no node of cluster ${inventory.cluster} has the role ${where}`, { hint: `nodes: ${inventory.nodes.map((n) => `${n.name} (${n.roles.join(', ')})`).join('; ')}` });
    return nodes;
  }
  const node = inventory.nodes.find((n) => n.name === where);
  if (!node)
    throw new UsageError(`no node named "${where}" in cluster ${inventory.cluster}`, { hint: `name a node (${inventory.nodes.map((n) => n.name).join(', ')}), a role (${ROLES.join(', ')}) or all` });
  return [node];
}

/**
 * Cuts streamed output into whole lines and writes each with a prefix (the node's name), so
 * lines from several nodes never interleave mid-line. With an empty prefix, chunks pass through
 * as they come.
 */
export class LinePrefixer {
  private pending = '';
  constructor(
    private readonly prefix: string,
    private readonly write: (s: string) => void,
  ) {}

  push(chunk: string): void {
    if (!this.prefix) return this.write(chunk);
    const text = this.pending + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      this.pending = text;
      return;
    }
    this.pending = text.slice(cut + 1);
    this.write(text.slice(0, cut).split('\n').map((l) => `${this.prefix}${l}\n`).join(''));
  }

  /** The last line, if it had no newline. */
  end(): void {
    if (this.pending) this.write(`${this.prefix}${this.pending}\n`);
    this.pending = '';
  }
}

/**
 * ssh arguments that trust only the keys millrace pinned: the node's and, with a jump host, the
 * jump host's. The jump hop is written as a ProxyCommand (`ssh -W`) rather than -J so that it
 * takes the same key, known-hosts file and strict checking as the node (-J would read the
 * user's own ssh config and known_hosts for the jump host).
 */
export function sshArgs(config: ClusterConfig, node: InventoryNode, dir: string): string[] {
  const pins = clusterKnownHosts(config.name);
  const pin = pins.get(node.name);
  if (!pin?.key) throw new UsageError(`no pinned host key for ${node.name} yet`, { hint: 'run `millrace up` (or `millrace status`) once to connect and pin it' });
  const lines = [knownHostsLine(node.sshAddress, node.sshPort, Buffer.from(pin.key, 'base64'))];
  const jump = node.jumpHost;
  const jumpPin = jump ? pins.get(JUMP_HOST_PIN) : undefined;
  if (jump && !jumpPin?.key)
    throw new UsageError(`no pinned host key for the ${jumpHostLabel(jump)} yet`, { hint: 'run `millrace up` (or `millrace status`) once to connect through it and pin it' });
  if (jump && jumpPin?.key) lines.push(knownHostsLine(jump.address, jump.port, Buffer.from(jumpPin.key, 'base64')));
  const file = path.join(dir, 'known_hosts');
  fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  const common = ['-i', node.privateKeyPath, '-o', `UserKnownHostsFile=${file}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes'];
  const proxy = jump
    ? ['-o', `ProxyCommand=${[
        'ssh', ...common.map(sshQuote), '-o', 'BatchMode=yes', '-p', String(jump.port), '-W', '%h:%p', '--', sshQuote(`${jump.user}@${jump.address}`),
      ].join(' ')}`]
    : [];
  return [...common, ...proxy, '-p', String(node.sshPort), `${node.sshUser}@${node.sshAddress}`];
}

/**
 * An ssh session to a node on this terminal (or on this process's stdin and stdout), running
 * `words` there (the login shell when none); `tty` asks for a terminal on the node (-t) or for
 * none (-T). Returns ssh's exit status (the remote command's), null after a signal.
 */
export function sshSession(config: ClusterConfig, node: InventoryNode, words: string[], options: { tty?: boolean } = {}): number | null {
  // The pinned known_hosts file lives only as long as the ssh session.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-ssh-'));
  try {
    const tty = options.tty === undefined ? [] : [options.tty ? '-t' : '-T'];
    return spawnSync('ssh', [...tty, ...sshArgs(config, node, dir), ...(words.length ? ['--', ...words] : [])], { stdio: 'inherit' }).status;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Quotes a word for the shell ssh runs a ProxyCommand with (and doubles %, ssh's own escape). */
function sshQuote(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `'${escaped.replace(/'/g, "'\\''")}'`;
}
