/**
 * The local target: one systemd-nspawn container per node, booted with systemd, sharing this
 * machine's network namespace. Each node has its own loopback address: every service on it
 * (sshd included) binds only to that address, and the connections it opens to other nodes leave
 * from it (./source-address.ts), as each EC2 instance's leave from its own.
 *
 * The nodes boot the way EC2 instances boot: cloud-init with the cluster's user-data (the very
 * text the AWS stack gives its instances) creates the login user with the operator's key and
 * passwordless sudo, root logins are refused, and each node has a blank data disk (a loop device
 * over a sparse file) that the provisioner formats and mounts, as it does an EBS volume. And they are
 * firewalled as instances are by their security groups (./firewall.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { bootedNodeUser, type ClusterConfig } from '../../lib/config';
import { HostUnreachableError, MillraceError } from '../../lib/errors';
import { Inventory, InventoryNode, inventoryPath, readInventory, removeInventory, writeInventory } from '../../lib/inventory';
import { mapAll } from '../../lib/parallel';
import { cacheDir, clusterStateDir } from '../../lib/paths';
import { run } from '../../lib/process';
import { sleep } from '../../lib/retry';
import { clusterKnownHosts, KnownHosts } from '../../provisioning/known-hosts';
import { connect } from '../../provisioning/remote-host';
import { renderUserData } from '../../templates/cloud-init';
import { render } from '../../templates/render';
import { clusterSshKey } from '../ssh-key';
import type { DeleteResult, NodeState, Report, Target, TargetCapabilities, UpOptions } from '../target';
import { applyFirewall, firewallTable, removeFirewall } from './firewall';
import { ensureImage } from './image';
import { installSourceAddress, sourceAddressShim } from './source-address';

const DEBIAN_MIRROR = process.env.MILLRACE_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
/** Each node's data disk: sparse, so it costs only what is written to it. */
export const LOCAL_DATA_VOLUME_BYTES = 8 * 1024 ** 3;
const SEED = 'var/lib/cloud/seed/nocloud';
/** Marks a rootfs as complete: a half-made one is made again. */
const NODE_MARKER = 'etc/millrace-node';

export function nodesDir(cluster: string): string {
  return path.join(clusterStateDir(cluster), 'nodes');
}

/** Fails early, with what to do, where the local target cannot work. */
export function checkLocalPrerequisites(): void {
  if (process.platform !== 'linux')
    throw new MillraceError(`the local target needs Linux (this is ${process.platform})`, {
      hint: 'use the static target with existing SSH hosts, or the aws target',
    });
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new MillraceError('the local target needs root: it boots systemd-nspawn containers', {
      hint: 'run it as root (e.g. `sudo millrace up --target local`), or use the static or aws target',
    });
  for (const tool of ['systemd-nspawn', 'debootstrap', 'ssh-keygen', 'losetup', 'cc', 'nft', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      throw new MillraceError(`the local target needs ${tool}, which is not installed`, {
        hint: 'install systemd-container, debootstrap, openssh-client, util-linux, gcc and nftables (scripts/setup.sh does: apt-get install -y systemd-container debootstrap openssh-client util-linux gcc libc6-dev nftables)',
      });
    }
  }
}

interface NodeFiles {
  dir: string;
  rootfs: string;
  pidFile: string;
  log: string;
  /** The sparse file behind the node's data disk. */
  disk: string;
}

function nodeFiles(cluster: string, node: string): NodeFiles {
  const dir = path.join(nodesDir(cluster), node);
  return { dir, rootfs: path.join(dir, 'rootfs'), pidFile: path.join(dir, 'nspawn.pid'), log: path.join(dir, 'nspawn.log'), disk: path.join(dir, 'data.img') };
}

function machineName(cluster: string, node: string): string {
  return `millrace-${cluster}-${node}`.slice(0, 64);
}

export class LocalTarget implements Target {
  readonly name = 'local' as const;
  readonly capabilities: TargetCapabilities = { ownsNodes: true, dataVolume: true, plan: false, needsRootHere: true };

  constructor(private readonly config: ClusterConfig) {}

  async checkPrerequisites(): Promise<void> {
    checkLocalPrerequisites();
  }

  /** Creates (or reuses) and boots every node, waits until its login user can sudo, and writes the inventory. */
  async createNodes(report: Report, opts: UpOptions = {}): Promise<Inventory> {
    checkLocalPrerequisites();
    await opts.beforeChanges?.();
    const config = this.config;
    const key = clusterSshKey(config);
    const user = bootedNodeUser(config);
    const image = await ensureImage(DEBIAN_MIRROR, report);
    const shim = await sourceAddressShim();
    const userData = renderUserData(config.name, user, key.publicKey);
    const aptCache = path.join(cacheDir(), 'apt-archives');
    fs.mkdirSync(path.join(aptCache, 'partial'), { recursive: true });
    const known = clusterKnownHosts(config.name);
    // The nodes' security groups, before any node boots or changes, so nothing runs unfiltered. A
    // node that leaves keeps its flows until it is gone: what still runs on it (a drained broker
    // that is stopped with the node) is not cut off mid-shutdown.
    const leaving = leavingNodes(config);
    report(`firewall: the flow table on ${config.nodes.length} node addresses (nftables table ${firewallTable(config.name)})`);
    await applyFirewall(withLeavingNodes(config, leaving), clusterStateDir(config.name), { keepPrevious: true });
    const nodes = await mapAll('starting local nodes', config.nodes, 4, (n) => n.name, async (n) => {
      const address = n.address!;
      const files = nodeFiles(config.name, n.name);
      if (!fs.existsSync(path.join(files.rootfs, NODE_MARKER))) {
        report(`${n.name}: creating rootfs`);
        await createRootfs(image, files, { name: n.name, address, machine: machineName(config.name, n.name), userData }, known);
      }
      // On every up, so a node made by an older millrace gets it too (at its next boot for its daemons).
      installSourceAddress(files.rootfs, address, shim);
      const disk = await attachDisk(files);
      const booting = !isRunning(files);
      if (booting) {
        await assertAddressFree(n.name, address);
        report(`${n.name}: booting`);
        boot(files, machineName(config.name, n.name), aptCache, disk);
      }
      const node: InventoryNode = {
        name: n.name,
        roles: n.roles,
        sshAddress: address,
        sshPort: 22,
        sshUser: user,
        privateKeyPath: key.privateKeyPath,
        privateAddress: address,
        // Only for a NAT in front of the node (tests put a TCP forwarder there); nothing binds it.
        ...(n.publicAddress ? { publicAddress: n.publicAddress } : {}),
        id: machineName(config.name, n.name),
        dataVolume: { sizeBytes: LOCAL_DATA_VOLUME_BYTES, deviceTypes: ['loop'] },
      };
      if (booting) report(`${n.name}: waiting until ${user} can log in and sudo (cloud-init makes the user)`);
      await waitForLogin(node, files, known, report);
      return node;
    });
    // A node the config no longer has goes, as Terraform destroys an instance removed from the stack
    // (`up` has drained its broker first).
    const gone = (await this.listNodes()).map((n) => n.name).filter((name) => !config.nodes.some((n) => n.name === name));
    await mapAll('removing local nodes', gone, 4, (n) => n, (name) => removeNode(config.name, name, report));
    if (leaving.length) await applyFirewall(config, clusterStateDir(config.name), { keepPrevious: true });
    const inventory: Inventory = { cluster: config.name, target: 'local', createdAt: new Date().toISOString(), nodes };
    writeInventory(inventory);
    return inventory;
  }

  /** Every node runs the new config: the flows only the last table had (firewall.ts, keepPrevious) close. */
  async afterBootstrap(): Promise<void> {
    await applyFirewall(this.config, clusterStateDir(this.config.name));
  }

  async warmCache(report: Report): Promise<Record<string, string>> {
    return { image: await ensureImage(DEBIAN_MIRROR, report) };
  }

  async listNodes(): Promise<NodeState[]> {
    const dir = nodesDir(this.config.name);
    const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    return names.map((name) => ({ name, state: isRunning(nodeFiles(this.config.name, name)) ? 'running' : 'stopped', id: machineName(this.config.name, name) }));
  }

  /** Stops every node (by its recorded PID), detaches its disk and removes its files. */
  async deleteNodes(report: Report): Promise<DeleteResult> {
    checkLocalPrerequisites();
    const cluster = this.config.name;
    const names = (await this.listNodes()).map((n) => n.name);
    await mapAll('stopping local nodes', names, 4, (n) => n, (name) => removeNode(cluster, name, report));
    await removeFirewall(cluster);
    removeInventory(cluster);
    return { removed: names, left: [] };
  }

  describe(): string {
    return `${this.config.nodes.length} systemd-nspawn nodes on this machine`;
  }
}

/** The nodes of the last inventory that the config no longer has (with their roles and addresses). */
function leavingNodes(config: ClusterConfig): InventoryNode[] {
  if (!fs.existsSync(inventoryPath(config.name))) return [];
  return readInventory(config.name).nodes.filter((n) => !config.nodes.some((c) => c.name === n.name));
}

/** The config with the leaving nodes still in it, for the firewall only. */
function withLeavingNodes(config: ClusterConfig, leaving: InventoryNode[]): ClusterConfig {
  if (!leaving.length) return config;
  const extra = leaving.map((n) => ({ ...config.nodes[0]!, name: n.name, roles: n.roles, address: n.privateAddress, publicAddress: n.publicAddress }));
  return { ...config, nodes: [...config.nodes, ...extra] };
}

interface RootfsSpec {
  name: string;
  address: string;
  machine: string;
  userData: string;
}

/**
 * A copy of the image with what a platform gives an instance: the NoCloud seed (the cluster's
 * user-data, and this node's instance id and hostname), plus the two things a local node needs
 * that an EC2 instance does not: sshd bound to the node's address, and a host key made here and
 * pinned before first contact.
 */
async function createRootfs(image: string, files: NodeFiles, spec: RootfsSpec, known: KnownHosts): Promise<void> {
  fs.rmSync(files.rootfs, { recursive: true, force: true });
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  await run('cp', ['-a', '--reflink=auto', image, files.rootfs], { hint: 'check free disk space in the millrace state directory' });
  const r = (p: string): string => path.join(files.rootfs, p);
  fs.mkdirSync(r(SEED), { recursive: true, mode: 0o755 });
  // A new instance id per rootfs: cloud-init runs its once-per-instance modules on first boot only.
  const instanceId = `${spec.machine}-${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(r(`${SEED}/meta-data`), render('local/meta-data', { instanceId, hostname: spec.name }), { mode: 0o600 });
  fs.writeFileSync(r(`${SEED}/user-data`), spec.userData, { mode: 0o600 });
  fs.writeFileSync(r('etc/ssh/sshd_config.d/50-millrace-local.conf'), render('local/sshd-listen.conf', { address: spec.address }));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${spec.name}`, '-f', r('etc/ssh/ssh_host_ed25519_key')], { hint: 'install openssh-client' });
  const pub = fs.readFileSync(r('etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').split(' ')[1] ?? '';
  known.pin(spec.name, `${spec.address}:22`, Buffer.from(pub, 'base64'));
  fs.writeFileSync(r(NODE_MARKER), `${spec.name} ${spec.address}\n`);
}

/** The node's data disk as a loop device: the one already attached to its file, or a new one. */
async function attachDisk(files: NodeFiles): Promise<string> {
  if (!fs.existsSync(files.disk)) {
    const fd = fs.openSync(files.disk, 'wx', 0o600);
    fs.closeSync(fd);
    fs.truncateSync(files.disk, LOCAL_DATA_VOLUME_BYTES);
  }
  const attached = loopDevicesOf(files.disk);
  if (attached[0]) return attached[0];
  const hint = 'the local target gives each node a loop device for its data disk: check that the loop module is loaded and /dev/loop-control exists';
  return (await run('losetup', ['--find', '--show', files.disk], { hint })).trim();
}

function loopDevicesOf(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  const out = execFileSync('losetup', ['--noheadings', '--output', 'NAME', '--associated', file], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

async function detachDisk(files: NodeFiles): Promise<void> {
  for (const dev of loopDevicesOf(files.disk)) await run('losetup', ['--detach', dev], { hint: `detach ${dev} by hand: losetup -d ${dev}` });
}

/**
 * Runs a node's systemd-nspawn and boots it again when it reboots from inside (`systemctl reboot`
 * makes nspawn exit with 133), as an EC2 instance comes back by itself. Any other exit ends it: a
 * shutdown from inside, or `down`'s SIGTERM, which it passes on to nspawn so that the node's
 * systemd stops cleanly. A shell, because this machine may have no systemd to supervise it.
 */
export const SUPERVISOR_NAME = 'millrace-node-supervisor';
export const SUPERVISOR = [
  'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0\' TERM INT',
  'while :; do',
  '  "$@" & child=$!',
  '  wait "$child"; rc=$?',
  '  [ "$rc" -eq 133 ] || exit "$rc"',
  '  echo "millrace: the node rebooted from inside; booting it again" >&2',
  'done',
].join('\n');

function boot(files: NodeFiles, machine: string, aptCache: string, disk: string): void {
  const log = fs.openSync(files.log, 'a');
  // --register=no --keep-unit: this machine may have no systemd as PID 1 and no machined.
  const nspawn = ['systemd-nspawn', '--quiet', '-D', files.rootfs, '--boot', '--register=no', '--keep-unit', `--machine=${machine}`, `--bind=${aptCache}:/var/cache/apt/archives`, `--bind=${disk}`];
  const child = spawn('sh', ['-c', SUPERVISOR, SUPERVISOR_NAME, ...nspawn], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  fs.closeSync(log);
  if (!child.pid) throw new MillraceError(`cannot start systemd-nspawn for ${machine}`, { hint: `look at ${files.log}` });
  fs.writeFileSync(files.pidFile, `${child.pid}\n`);
}

/**
 * sshd answers a second or two after boot, before cloud-init has made the login user: wait until
 * that user logs in with the operator's key and can sudo, as the provisioner will. Only a refused
 * or failed connection is waited out; a sudo that wants a password or a changed host key is final
 * (cloud-init writes the sudo rule before the key that lets the user in).
 */
async function waitForLogin(node: InventoryNode, files: NodeFiles, known: KnownHosts, report: Report, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  const seen = new Map<string, number>();
  let repairAt = started + CGROUP_RACE_CHECK_MS;
  for (;;) {
    if (!isRunning(files)) throw new MillraceError(`${node.name}: its systemd-nspawn process exited while booting`, { hint: `look at ${files.log}` });
    try {
      const host = await connect(node, { knownHosts: known, retries: 0, readyTimeoutMs: 5000 });
      await host.close();
      return;
    } catch (error) {
      if (!(error instanceof HostUnreachableError)) throw error;
      seen.set(error.detail, (seen.get(error.detail) ?? 0) + 1);
      if (Date.now() - started > timeoutMs) throw loginTimedOut(node, files, error, seen, Date.now() - started, await failedUnits(nodeInitPid(files)));
    }
    if (Date.now() >= repairAt) {
      repairAt = Date.now() + CGROUP_RACE_CHECK_MS;
      for (const unit of await restartCgroupRaceFailures(files))
        report(`${node.name}: ${unit} had failed at boot, its cgroup gone as it started (a race of systemd in a container on a cgroup-v1 host, status 219/CGROUP); started it again`);
    }
    await sleep(500);
  }
}

/** How long a node may turn logins away before the units that failed in the cgroup race are looked for, and how often after. */
const CGROUP_RACE_CHECK_MS = 10_000;

/**
 * systemd in a container on a cgroup-v1 host now and then fails to start a unit at boot: the unit's
 * cgroup is gone when its process joins it (exit status 219/CGROUP). An instance never does this.
 * When the unit is systemd-user-sessions, /run/nologin stays and sshd turns every login but root's
 * away ("Access denied ... by PAM account configuration"), so the node is lost to millrace. The units
 * that failed so are started again, from this machine, inside the node; a unit that failed for any
 * other reason is left as it is. Returns the units started again.
 */
export async function restartCgroupRaceFailures(files: Pick<NodeFiles, 'pidFile' | 'rootfs'>): Promise<string[]> {
  const init = nodeInitPid(files);
  if (init === undefined) return [];
  const restarted: string[] = [];
  for (const unit of cgroupRaceUnits(await failedUnits(init))) {
    try {
      await systemctlInNode(init, ['restart', unit]);
      restarted.push(unit);
    } catch {
      // Still failed: named with the node's other failed units if the login wait gives up.
    }
  }
  return restarted;
}

function systemctlInNode(init: number, args: string[]): Promise<string> {
  return run('nsenter', ['-t', String(init), '-a', 'systemctl', '--no-pager', ...args], { hint: 'nsenter (util-linux) runs systemctl inside the node' });
}

/** The node's failed units with their main process's exit status (none while its systemd does not answer). */
async function failedUnits(init: number | undefined): Promise<FailedUnit[]> {
  if (init === undefined) return [];
  try {
    return parseFailedUnits(await systemctlInNode(init, ['show', '--state=failed', '--property=Id,ExecMainStatus', '*']));
  } catch {
    return [];
  }
}

interface FailedUnit {
  id: string;
  status: string;
}

/** `systemctl show --property=Id,ExecMainStatus` output, one block a unit. */
export function parseFailedUnits(shown: string): FailedUnit[] {
  return shown
    .split(/\n\s*\n/)
    .map((block) => Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) as Record<string, string>)
    .filter((u) => u.Id)
    .map((u) => ({ id: u.Id!, status: u.ExecMainStatus ?? '' }));
}

/** The units whose process could not join its cgroup. */
export function cgroupRaceUnits(failed: FailedUnit[]): string[] {
  return failed.filter((u) => u.status === '219').map((u) => u.id);
}

/** The node's PID 1 (its systemd) as this machine sees it: the child of its systemd-nspawn. */
function nodeInitPid(files: Pick<NodeFiles, 'pidFile' | 'rootfs'>): number | undefined {
  const children = (pid: number): number[] => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const isNspawn = (pid: number): boolean => commandLine(pid)[0]?.endsWith('systemd-nspawn') ?? false;
  const top = nspawnPid(files);
  if (top === undefined) return undefined;
  // The supervisor runs nspawn; an older millrace's node is nspawn itself.
  const nspawn = isNspawn(top) ? top : children(top).find(isNspawn);
  return nspawn === undefined ? undefined : children(nspawn)[0];
}

/** A process's command line, empty once it is gone. */
function commandLine(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * A node that never let the login user in: every different answer it gave while booting (the last
 * alone says little about a boot that went wrong early), and what its sshd and cloud-init logged.
 */
function loginTimedOut(node: InventoryNode, files: NodeFiles, last: HostUnreachableError, seen: Map<string, number>, ms: number, failed: FailedUnit[]): HostUnreachableError {
  const tries = [...seen.values()].reduce((a, b) => a + b, 0);
  const answers = [...seen].map(([detail, n]) => `${n}× ${detail}`);
  const said = nodeBootLog(files);
  const lines = [
    `${node.sshUser} could not log in and sudo within ${Math.round(ms / 1000)}s (${tries} tries). What the node answered:`,
    ...answers.map((a) => `  ${a}`),
    ...(failed.length ? [`units that failed in the node: ${failed.map((u) => `${u.id} (exit status ${u.status || '?'})`).join(', ')}`] : []),
    ...(said.length ? [`what the node logged last (sshd, cloud-init):`, ...said.map((l) => `  ${l}`)] : []),
  ];
  return new HostUnreachableError(last.host, lines.join('\n'), {
    hint: `the node's console is in ${files.log}; \`millrace down\` and then \`millrace up\` boot the cluster's nodes afresh`,
    cause: last,
  });
}

/**
 * The last lines sshd and cloud-init wrote to the node's journal (its files are in the rootfs, so
 * they can be read from here whatever state the node is in), or else the tail of its console.
 * Neither holds a secret: this runs before the provisioner has put any on the node.
 */
export function nodeBootLog(files: Pick<NodeFiles, 'rootfs' | 'log'>, lines = 12): string[] {
  const journals = path.join(files.rootfs, 'var/log/journal');
  try {
    const out = execFileSync('journalctl', ['-D', journals, '-t', 'sshd', '-t', 'cloud-init', '-n', String(lines), '--no-pager', '-o', 'short-precise', '-q'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    const said = out.split('\n').filter((l) => l.trim());
    if (said.length) return said;
  } catch {
    // No journal yet (a boot that stopped early), or no journalctl here: the console follows.
  }
  try {
    // eslint-disable-next-line no-control-regex
    const text = fs.readFileSync(files.log, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
    return text.split('\n').filter((l) => l.trim()).slice(-lines);
  } catch {
    return [];
  }
}

/**
 * The node's process (its supervisor, or the nspawn an earlier version started itself), checked
 * by PID and command line: never found by name.
 */
function nspawnPid(files: Pick<NodeFiles, 'pidFile' | 'rootfs'>): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(files.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  const cmdline = commandLine(pid);
  const ours = cmdline[0]?.endsWith('systemd-nspawn') || cmdline.includes(SUPERVISOR_NAME);
  return ours && cmdline.includes(files.rootfs) ? pid : undefined;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

function isRunning(files: NodeFiles): boolean {
  return nspawnPid(files) !== undefined;
}

async function assertAddressFree(node: string, address: string): Promise<void> {
  const busy = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: address, port: 22, timeout: 1000 });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
    s.on('timeout', () => (s.destroy(), resolve(false)));
  });
  if (busy)
    throw new MillraceError(`${node}: ${address}:22 is already in use by another process`, {
      hint: `stop whatever listens there, or give ${node} another loopback address in the config (nodes[].address)`,
    });
}

/** Mounts left under a path (deepest first); none should remain once nspawn has exited. */
export function mountsUnder(root: string): string[] {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
  return mounts.filter((m) => m === root || m.startsWith(root + '/')).sort((a, b) => b.length - a.length);
}

function unmountUnder(root: string): void {
  for (const m of mountsUnder(root)) execFileSync('umount', ['-l', m], { stdio: 'pipe' });
}

/** Stops a local node (by its recorded PID), detaches its disk and removes its files and pinned host key. */
async function removeNode(cluster: string, name: string, report: Report): Promise<void> {
  const files = nodeFiles(cluster, name);
  const pid = nspawnPid(files);
  if (pid !== undefined) {
    report(`${name}: stopping`);
    // SIGTERM asks nspawn (through the supervisor) to shut the container's systemd down cleanly.
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && nspawnPid(files) !== undefined) await sleep(250);
    // The supervisor leads a process group of its own, nspawn in it: both go.
    if (nspawnPid(files) !== undefined) killGroup(pid);
    while (nspawnPid(files) !== undefined) await sleep(100);
  }
  unmountUnder(files.rootfs);
  await detachDisk(files);
  report(`${name}: removing`);
  fs.rmSync(files.dir, { recursive: true, force: true });
  clusterKnownHosts(cluster).forget(name);
}
