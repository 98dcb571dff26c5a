/**
 * The local target: one systemd-nspawn container per node, booted with systemd, sharing this
 * machine's network namespace. Each node has its own loopback address, and every service on
 * it (sshd included) binds only to that address.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ClusterConfig } from '../../lib/config';
import { MillraceError } from '../../lib/errors';
import { Inventory, InventoryNode, removeInventory, writeInventory } from '../../lib/inventory';
import { mapAll, Report } from '../../lib/parallel';
import { cacheDir, clusterStateDir } from '../../lib/paths';
import { sleep, waitFor } from '../../lib/retry';
import { KnownHosts } from '../../provisioning/known-hosts';
import { clusterSshKey } from '../ssh-key';
import { run } from '../../lib/process';
import { ensureImage } from './image';

const DEBIAN_MIRROR = process.env.MILLRACE_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

export function nodesDir(cluster: string): string {
  return path.join(clusterStateDir(cluster), 'nodes');
}

export function knownHostsFor(cluster: string): KnownHosts {
  return new KnownHosts(path.join(clusterStateDir(cluster), 'known_hosts.json'));
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
  for (const tool of ['systemd-nspawn', 'debootstrap', 'ssh-keygen']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      throw new MillraceError(`the local target needs ${tool}, which is not installed`, {
        hint: 'install systemd-container, debootstrap and openssh-client (scripts/setup.sh does: apt-get install -y systemd-container debootstrap openssh-client)',
      });
    }
  }
}

interface NodeFiles {
  dir: string;
  rootfs: string;
  pidFile: string;
  log: string;
}

function nodeFiles(cluster: string, node: string): NodeFiles {
  const dir = path.join(nodesDir(cluster), node);
  return { dir, rootfs: path.join(dir, 'rootfs'), pidFile: path.join(dir, 'nspawn.pid'), log: path.join(dir, 'nspawn.log') };
}

function machineName(cluster: string, node: string): string {
  return `millrace-${cluster}-${node}`.slice(0, 64);
}

/** Creates (or reuses) and boots every node, then returns the inventory. */
export async function upLocal(config: ClusterConfig, report: Report): Promise<Inventory> {
  checkLocalPrerequisites();
  const key = clusterSshKey(config);
  const image = await ensureImage(DEBIAN_MIRROR, report);
  const aptCache = path.join(cacheDir(), 'apt-archives');
  fs.mkdirSync(path.join(aptCache, 'partial'), { recursive: true });
  const known = knownHostsFor(config.name);
  const nodes = await mapAll('starting local nodes', config.nodes, 4, (n) => n.name, async (n) => {
    const address = n.address!;
    const files = nodeFiles(config.name, n.name);
    if (!fs.existsSync(path.join(files.rootfs, 'etc/millrace-node'))) {
      report(`${n.name}: creating rootfs`);
      await createRootfs(image, files, n.name, address, key.publicKey, known);
    }
    if (!isRunning(files)) {
      await assertAddressFree(n.name, address);
      report(`${n.name}: booting`);
      boot(files, machineName(config.name, n.name), aptCache);
    }
    await waitFor(() => sshAnswers(address), { timeout: 90_000, interval: 500, what: `sshd on ${n.name} (${address}:22)`, hint: `look at ${files.log}` });
    const node: InventoryNode = {
      name: n.name,
      roles: n.roles,
      sshAddress: address,
      sshPort: 22,
      sshUser: 'root',
      privateKeyPath: key.privateKeyPath,
      privateAddress: address,
      // Only for a NAT in front of the node (tests put a TCP forwarder there); nothing binds it.
      ...(n.publicAddress ? { publicAddress: n.publicAddress } : {}),
      id: machineName(config.name, n.name),
    };
    return node;
  });
  const inventory: Inventory = { cluster: config.name, target: 'local', createdAt: new Date().toISOString(), nodes };
  writeInventory(inventory);
  return inventory;
}

async function createRootfs(image: string, files: NodeFiles, name: string, address: string, publicKey: string, known: KnownHosts): Promise<void> {
  fs.rmSync(files.rootfs, { recursive: true, force: true });
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  await run('cp', ['-a', '--reflink=auto', image, files.rootfs], { hint: 'check free disk space in the millrace state directory' });
  const r = (p: string): string => path.join(files.rootfs, p);
  fs.writeFileSync(r('etc/hostname'), `${name}\n`);
  fs.writeFileSync(r('etc/hosts'), `127.0.0.1 localhost\n${address} ${name}\n`);
  // sshd binds only to this node's address: nodes share the machine's network namespace.
  fs.writeFileSync(
    r('etc/ssh/sshd_config.d/millrace.conf'),
    `ListenAddress ${address}\nHostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n`,
  );
  // The host key is made here and pinned before first contact.
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', r('etc/ssh/ssh_host_ed25519_key')], { hint: 'install openssh-client' });
  const pub = fs.readFileSync(r('etc/ssh/ssh_host_ed25519_key.pub'), 'utf8').split(' ')[1] ?? '';
  known.pin(name, `${address}:22`, Buffer.from(pub, 'base64'));
  fs.mkdirSync(r('root/.ssh'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(r('root/.ssh/authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
  // Units that would fight over the shared network namespace or the console stay off.
  for (const unit of ['systemd-networkd.service', 'systemd-resolved.service', 'console-getty.service', 'getty@tty1.service']) {
    fs.mkdirSync(r('etc/systemd/system'), { recursive: true });
    const link = r(`etc/systemd/system/${unit}`);
    if (!fs.existsSync(link)) fs.symlinkSync('/dev/null', link);
  }
  fs.writeFileSync(r('etc/millrace-node'), `${name} ${address}\n`);
}

function boot(files: NodeFiles, machine: string, aptCache: string): void {
  const log = fs.openSync(files.log, 'a');
  // --register=no --keep-unit: this machine may have no systemd as PID 1 and no machined.
  const child = spawn(
    'systemd-nspawn',
    ['--quiet', '-D', files.rootfs, '--boot', '--register=no', '--keep-unit', `--machine=${machine}`, `--bind=${aptCache}:/var/cache/apt/archives`],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  fs.closeSync(log);
  if (!child.pid) throw new MillraceError(`cannot start systemd-nspawn for ${machine}`, { hint: `look at ${files.log}` });
  fs.writeFileSync(files.pidFile, `${child.pid}\n`);
}

/** The node's nspawn process, checked by PID and command line: never found by name. */
function nspawnPid(files: NodeFiles): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(files.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline[0]?.endsWith('systemd-nspawn') && cmdline.includes(files.rootfs) ? pid : undefined;
  } catch {
    return undefined;
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

async function sshAnswers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port: 22, timeout: 1000 });
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('SSH-'))));
    s.on('error', () => resolve(false));
    s.on('timeout', () => (s.destroy(), resolve(false)));
  });
}

/** Stops every node (by its recorded PID) and removes its files. */
export async function downLocal(cluster: string, report: Report): Promise<string[]> {
  checkLocalPrerequisites();
  const dir = nodesDir(cluster);
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  await mapAll('stopping local nodes', names, 4, (n) => n, async (name) => {
    const files = nodeFiles(cluster, name);
    const pid = nspawnPid(files);
    if (pid !== undefined) {
      report(`${name}: stopping`);
      // SIGTERM asks nspawn to shut the container's systemd down cleanly.
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && nspawnPid(files) !== undefined) await sleep(250);
      if (nspawnPid(files) !== undefined) process.kill(pid, 'SIGKILL');
      while (nspawnPid(files) !== undefined) await sleep(100);
    }
    unmountUnder(files.rootfs);
    report(`${name}: removing`);
    fs.rmSync(files.dir, { recursive: true, force: true });
    knownHostsFor(cluster).forget(name);
  });
  removeInventory(cluster);
  return names;
}

/** Mounts left under a path (deepest first); none should remain once nspawn has exited. */
export function mountsUnder(root: string): string[] {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
  return mounts.filter((m) => m === root || m.startsWith(root + '/')).sort((a, b) => b.length - a.length);
}

function unmountUnder(root: string): void {
  for (const m of mountsUnder(root)) execFileSync('umount', ['-l', m], { stdio: 'pipe' });
}
