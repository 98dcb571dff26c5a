import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './errors';

/** Root of millrace's own files: state per cluster, caches. Override with MILLRACE_HOME. */
export function millraceHome(): string {
  return process.env.MILLRACE_HOME || path.join(os.homedir(), '.millrace');
}

/** Where a cluster's state lives: inventory, CA, SSH keys, Terraform synth and local state. */
export function clusterStateDir(clusterName: string): string {
  return path.join(millraceHome(), 'clusters', clusterName);
}

/** Downloaded artifacts (jars, wheels, host image), shared by every cluster. */
export function cacheDir(): string {
  return process.env.MILLRACE_CACHE || path.join(millraceHome(), 'cache');
}

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/*
 * Checks of the paths a user gives (flags, MILLRACE_HOME, MILLRACE_CACHE), made before anything is
 * written: a missing directory, a file where a directory is expected (or the reverse), an
 * unreadable or unwritable path is a usage error (exit 2) that names the path and what to do,
 * never a stack trace from deep inside a command.
 */

function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function canAccess(p: string, mode: number): boolean {
  try {
    fs.accessSync(p, mode);
    return true;
  } catch {
    return false;
  }
}

/** The closest existing ancestor of p (p itself if it exists). */
function nearestExisting(p: string): { at: string; stat: fs.Stats } {
  let at = path.resolve(p);
  for (;;) {
    const stat = statOf(at);
    if (stat) return { at, stat };
    const up = path.dirname(at);
    if (up === at) return { at, stat: fs.statSync(at) };
    at = up;
  }
}

/** Every existing part of the path above p must be a directory we can write into. */
function checkAncestors(p: string, what: string, create: boolean): void {
  const parent = path.dirname(path.resolve(p));
  const near = nearestExisting(parent);
  if (!near.stat.isDirectory())
    throw new UsageError(`${what}: ${near.at} is a file, where a directory is expected`, { hint: `choose a path whose parent directories are directories` });
  if (near.at !== parent && !create)
    throw new UsageError(`${what}: directory ${parent} does not exist`, { hint: `create it first (mkdir -p ${parent}), or choose another path` });
  if (!canAccess(near.at, fs.constants.W_OK | fs.constants.X_OK))
    throw new UsageError(`${what}: cannot write into ${near.at} (permission denied)`, { hint: 'choose a directory you can write to' });
}

/**
 * A file millrace is about to write at a path the user gave (`init -c`, `plan -o`, `credentials -o`).
 * `what` names it in messages, e.g. "plan -o /abs/cluster.tfplan". Returns the absolute path.
 */
export function checkOutputFile(file: string, what: string, opts: { overwrite?: boolean; existsHint?: string } = {}): string {
  const abs = path.resolve(file);
  const stat = statOf(abs);
  if (stat?.isDirectory()) throw new UsageError(`${what} is a directory, where a file is expected`, { hint: 'give the path of a file to write (it may not exist yet)' });
  if (stat && !opts.overwrite) throw new UsageError(`${what} already exists`, { hint: opts.existsHint ?? 'remove it first, or choose another path' });
  if (stat && !canAccess(abs, fs.constants.W_OK)) throw new UsageError(`${what} is not writable (permission denied)`, { hint: 'choose a file you can write to' });
  checkAncestors(abs, what, false);
  return abs;
}

/** A directory millrace creates (if needed) and writes into (`synth -o`). Returns the absolute path. */
export function checkOutputDir(dir: string, what: string): string {
  const abs = path.resolve(dir);
  const stat = statOf(abs);
  if (stat && !stat.isDirectory()) throw new UsageError(`${what} is a file, where a directory is expected`, { hint: 'give a directory (it is created if missing), or remove the file' });
  if (stat && !canAccess(abs, fs.constants.W_OK | fs.constants.X_OK)) throw new UsageError(`${what} is not writable (permission denied)`, { hint: 'choose a directory you can write to' });
  if (!stat) checkAncestors(abs, what, true);
  return abs;
}

/** A file millrace reads at a path the user gave (`up --plan`). Returns the absolute path. */
export function checkInputFile(file: string, what: string): string {
  const abs = path.resolve(file);
  const stat = statOf(abs);
  if (!stat) throw new UsageError(`${what} does not exist`, { hint: 'check the path' });
  if (stat.isDirectory()) throw new UsageError(`${what} is a directory, where a file is expected`, { hint: 'give the path of a file' });
  if (!canAccess(abs, fs.constants.R_OK)) throw new UsageError(`${what} is not readable (permission denied)`, { hint: 'fix its permissions, or run as a user who can read it' });
  return abs;
}

/**
 * MILLRACE_HOME and MILLRACE_CACHE (or their defaults) must be directories, or not exist yet under
 * one. Permissions are not checked here: a command that needs no write there (or that first says
 * it needs root) must not fail on them; a permission error on a path under them is reported at the
 * CLI's boundary as a usage error naming the path.
 */
export function checkStateDirs(): void {
  const dirs: [string, string, string][] = [
    [millraceHome(), process.env.MILLRACE_HOME ? `MILLRACE_HOME=${process.env.MILLRACE_HOME}` : `the state directory ${millraceHome()}`, 'point MILLRACE_HOME at a directory (it is created if missing), or unset it to use ~/.millrace'],
    [cacheDir(), process.env.MILLRACE_CACHE ? `MILLRACE_CACHE=${process.env.MILLRACE_CACHE}` : `the cache directory ${cacheDir()}`, 'point MILLRACE_CACHE at a directory (it is created if missing), or unset it to use <MILLRACE_HOME>/cache'],
  ];
  for (const [dir, what, hint] of dirs) {
    const near = nearestExisting(dir);
    if (!near.stat.isDirectory())
      throw new UsageError(near.at === path.resolve(dir) ? `${what} is a file, not a directory` : `${what}: ${near.at} is a file, not a directory`, { hint });
  }
}
