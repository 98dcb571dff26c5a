/**
 * `millrace copy-file` (alias `cp`): a local file to nodes, or a file from nodes to here, through
 * the same SSH connection and privilege seam as `up` (staged in the login user's private
 * directory, installed as root with its mode and owner). One side names the nodes the way `exec`
 * does: `<node|role|all>:/absolute/path`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { MillraceError, UsageError } from '../../lib/errors';
import { InventoryNode, readInventory } from '../../lib/inventory';
import { mapSettled, Settled } from '../../lib/parallel';
import { q } from '../../lib/shell';
import type { RemoteHost } from '../../provisioning/remote-host';
import { withHosts } from '../bootstrap';
import { configFor, output } from '../context';
import { selectNodes } from './ops';

export type CopyEnd = { kind: 'local'; path: string } | { kind: 'remote'; where: string; path: string };

/** `<where>:<path>` is the nodes' side; anything else (./a:b included) is a local path. */
export function parseCopyEnd(arg: string): CopyEnd {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/.exec(arg);
  if (!m) return { kind: 'local', path: arg };
  const remote = m[2]!;
  if (!remote.startsWith('/'))
    throw new UsageError(`${arg}: the path on the nodes must be absolute`, { hint: `e.g. ${m[1]}:/tmp/${remote || 'file'} (a local file with a colon in its name: write ./${arg})` });
  return { kind: 'remote', where: m[1]!, path: remote };
}

export type CopyPlan = { direction: 'up'; local: string; where: string; remote: string } | { direction: 'down'; where: string; remote: string; local: string };

export function planCopy(from: string, to: string): CopyPlan {
  const a = parseCopyEnd(from);
  const b = parseCopyEnd(to);
  if (a.kind === 'remote' && b.kind === 'remote') throw new UsageError('copy-file copies between this machine and nodes, not between nodes', { hint: 'copy to here first, then from here' });
  if (a.kind === 'local' && b.kind === 'local')
    throw new UsageError(`neither ${from} nor ${to} names nodes`, { hint: 'name the nodes\' side as <node|role|all>:/path, e.g. `millrace copy-file ./app.conf kafka:/tmp/app.conf`' });
  return a.kind === 'local' ? { direction: 'up', local: a.path, where: (b as { where: string }).where, remote: b.path } : { direction: 'down', where: a.where, remote: a.path, local: b.path };
}

/** --mode: octal permission bits (644, 0600). */
export function parseMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) throw new UsageError(`--mode ${value}: expected octal permission bits such as 644 or 0600`, { hint: 'set-id and sticky bits are not copied' });
  return parseInt(value, 8);
}

/** --owner: user or user:group (names, as on the nodes). */
export function parseOwner(value: string): { owner: string; group: string } {
  const m = /^([a-z_][a-z0-9_-]*)(?::([a-z_][a-z0-9_-]*))?$/i.exec(value);
  if (!m) throw new UsageError(`--owner ${value}: expected user or user:group`, { hint: 'e.g. --owner kafka or --owner spark:spark' });
  return { owner: m[1]!, group: m[2] ?? m[1]! };
}

interface Uploaded {
  node: string;
  path: string;
  bytes: number;
  sha256: string;
}
interface Downloaded {
  node: string;
  remote: string;
  path: string;
  bytes: number;
}

const sha256 = (data: Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

/** What a remote path is: a file, a directory, nothing (with whether its parent directory exists). */
async function remoteKind(host: RemoteHost, p: string): Promise<'file' | 'dir' | 'other' | 'missing' | 'no-parent'> {
  const r = await host.exec(`if [ -d ${q(p)} ]; then echo dir; elif [ -f ${q(p)} ]; then echo file; elif [ -e ${q(p)} ]; then echo other; elif [ -d "$(dirname -- ${q(p)})" ]; then echo missing; else echo no-parent; fi`);
  const kind = r.stdout.trim();
  if (r.code !== 0 || !['file', 'dir', 'other', 'missing', 'no-parent'].includes(kind))
    throw new MillraceError(`${host.name}: cannot look at ${p}: ${(r.stderr || r.stdout).trim()}`);
  return kind as 'file' | 'dir' | 'other' | 'missing' | 'no-parent';
}

async function uploadTo(host: RemoteHost, local: string, remote: string, opts: { mode: number; owner: string; group: string }): Promise<Uploaded> {
  const kind = await remoteKind(host, remote);
  const dest = kind === 'dir' ? `${remote.replace(/\/+$/, '')}/${path.basename(local)}` : remote;
  if (kind === 'no-parent' || (kind === 'missing' && remote.endsWith('/')))
    throw new UsageError(`${host.name}: no directory ${kind === 'no-parent' ? path.posix.dirname(remote) : remote}`, { hint: `create it first: millrace exec ${host.name} -- mkdir -p ${kind === 'no-parent' ? path.posix.dirname(remote) : remote}` });
  if (kind === 'other') throw new UsageError(`${host.name}: ${remote} is neither a file nor a directory`, { hint: 'name a file path or a directory' });
  if (kind === 'dir' && (await remoteKind(host, dest)) === 'dir') throw new UsageError(`${host.name}: ${dest} is a directory`, { hint: 'name the file to write' });
  const ids = await host.exec(`id -u ${q(opts.owner)} && getent group ${q(opts.group)}`);
  if (ids.code !== 0) throw new UsageError(`${host.name}: no user ${opts.owner} or group ${opts.group}`, { hint: 'name a user and group that exist on every target node (--owner user:group)' });
  await host.upload(local, dest, { mode: opts.mode, owner: opts.owner, group: opts.group });
  const sum = (await host.execOrThrow(`sha256sum -- ${q(dest)}`, { what: `checksum ${dest}` })).trim().split(/\s+/)[0]!;
  const data = fs.readFileSync(local);
  if (sum !== sha256(data)) throw new MillraceError(`${host.name}: ${dest} differs from ${local} after the copy (sha256 ${sum})`, { hint: 'copy it again' });
  return { node: host.name, path: dest, bytes: data.length, sha256: sum };
}

async function downloadFrom(host: RemoteHost, remote: string, local: string): Promise<Downloaded> {
  const kind = await remoteKind(host, remote);
  if (kind === 'dir') throw new UsageError(`${host.name}: ${remote} is a directory; copy-file copies files`, { hint: `copy one file, or pack the directory first: millrace exec ${host.name} -- tar -C ${path.posix.dirname(remote)} -czf /tmp/x.tgz ${path.posix.basename(remote)}` });
  if (kind !== 'file') throw new UsageError(`${host.name}: no file ${remote}`, { hint: `look for it with: millrace exec ${host.name} -- ls -l ${path.posix.dirname(remote)}` });
  const mode = parseInt((await host.execOrThrow(`stat -c %a -- ${q(remote)}`, { what: `stat ${remote}` })).trim(), 8) & 0o777;
  const data = await host.getFile(remote);
  // Written beside the target, then renamed: a failed copy leaves no half file.
  const tmp = `${local}.millrace-tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode: mode & 0o666 });
  fs.renameSync(tmp, local);
  return { node: host.name, remote, path: local, bytes: data.length };
}

/** Where each node's copy lands: one node into `local` (a directory or a file), several into `local/<node>/`. */
export function downloadTargets(local: string, remote: string, nodes: string[]): { node: string; path: string; mkdir?: string }[] {
  const base = path.posix.basename(remote);
  const isDir = fs.existsSync(local) && fs.statSync(local).isDirectory();
  if (nodes.length === 1) {
    if (isDir) return [{ node: nodes[0]!, path: path.join(local, base) }];
    if (!fs.existsSync(path.dirname(path.resolve(local))))
      throw new UsageError(`${path.dirname(local)}: no such directory here`, { hint: 'create it first, or name an existing directory' });
    return [{ node: nodes[0]!, path: local }];
  }
  if (fs.existsSync(local) && !isDir)
    throw new UsageError(`${local} is a file, and copying from ${nodes.length} nodes needs a directory: each node's copy goes to ${local}/<node>/${base}`, { hint: 'name a directory (it is created if missing)' });
  return nodes.map((n) => ({ node: n, path: path.join(local, n, base), mkdir: path.join(local, n) }));
}

function settle<T>(results: Settled<T>[], what: string): T[] {
  const failed = results.filter((r): r is Extract<Settled<T>, { ok: false }> => !r.ok);
  if (!failed.length) return results.map((r) => (r as { value: T }).value);
  const lines = failed.map((r) => `  ${r.where}: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
  const hints = [...new Set(failed.map((r) => (r.error instanceof MillraceError ? r.error.hint : undefined)).filter(Boolean))];
  const ok = results.length - failed.length;
  const message = `${what} failed on ${failed.map((r) => r.where).join(', ')}${ok ? ` (done on ${ok} other node${ok === 1 ? '' : 's'})` : ''}:\n${lines.join('\n')}`;
  const usage = failed.every((r) => r.error instanceof UsageError);
  const options = { hint: hints.join('; ') || undefined };
  throw usage ? new UsageError(message, options) : new MillraceError(message, options);
}

export function registerCopyFile(program: Command): void {
  program
    .command('copy-file <from> <to>')
    .alias('cp')
    .description('copy a local file to nodes, or a file from nodes to here; the nodes\' side is <node|role|all>:/path')
    .option('--mode <octal>', "uploads: the file's mode (default: the local file's)")
    .option('--owner <user[:group]>', 'uploads: its owner and group on the nodes (default root:root)')
    .addHelpText(
      'after',
      `
Uploads go to every node named (a node, a role, or all) and are checked by sha256 after the copy;
an existing directory as the destination keeps the file's name. A download from one node writes
<to> (or <to>/<name> if it is a directory); from several nodes, each copy goes to <to>/<node>/<name>.
Files are read and written as root, through the same sudo seam as \`up\`.`,
    )
    .action(async function (this: Command, from: string, to: string, opts: { mode?: string; owner?: string }) {
      const plan = planCopy(from, to);
      if (plan.direction === 'down' && (opts.mode || opts.owner)) throw new UsageError('--mode and --owner are for uploads', { hint: 'a downloaded file keeps its mode and belongs to you' });
      let upOpts: { mode: number; owner: string; group: string } | undefined;
      if (plan.direction === 'up') {
        const stat = fs.statSync(plan.local, { throwIfNoEntry: false });
        if (!stat) throw new UsageError(`${plan.local}: no such file here`, { hint: 'check the local path' });
        if (!stat.isFile()) throw new UsageError(`${plan.local} is not a regular file; copy-file copies files`, { hint: 'pack a directory with tar first' });
        try {
          fs.accessSync(plan.local, fs.constants.R_OK);
        } catch {
          throw new UsageError(`${plan.local}: not readable`, { hint: 'check its permissions' });
        }
        upOpts = { mode: opts.mode ? parseMode(opts.mode) : stat.mode & 0o777, ...(opts.owner ? parseOwner(opts.owner) : { owner: 'root', group: 'root' }) };
      }
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const nodes: InventoryNode[] = selectNodes(inventory, plan.where);
      if (plan.direction === 'up') {
        const done = settle(
          await withHosts(config, { ...inventory, nodes }, (hosts) => mapSettled(nodes, 8, (n) => n.name, (n) => uploadTo(hosts.get(n.name)!, plan.local, plan.remote, upOpts!))),
          `copying ${plan.local}`,
        );
        output(this, done.map((d) => `${d.node}: ${d.path} (${d.bytes} bytes, mode ${upOpts!.mode.toString(8).padStart(4, '0')}, ${upOpts!.owner}:${upOpts!.group})`).join('\n'), done);
        return;
      }
      const targets = downloadTargets(plan.local, plan.remote, nodes.map((n) => n.name));
      const done = settle(
        await withHosts(config, { ...inventory, nodes }, (hosts) =>
          mapSettled(targets, 8, (t) => t.node, async (t) => {
            if (t.mkdir) fs.mkdirSync(t.mkdir, { recursive: true });
            return downloadFrom(hosts.get(t.node)!, plan.remote, t.path);
          }),
        ),
        `copying ${plan.remote}`,
      );
      output(this, done.map((d) => `${d.node}:${d.remote} -> ${d.path} (${d.bytes} bytes)`).join('\n'), done);
    });
}
