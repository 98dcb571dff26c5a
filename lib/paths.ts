import * as os from 'node:os';
import * as path from 'node:path';

/** Root of millrace's own files: state per cluster, caches. Override with MILLRACE_HOME. */
export function millraceHome(): string {
  return process.env.MILLRACE_HOME ?? path.join(os.homedir(), '.millrace');
}

/** Where a cluster's state lives: inventory, CA, SSH keys, Terraform synth and local state. */
export function clusterStateDir(clusterName: string): string {
  return path.join(millraceHome(), 'clusters', clusterName);
}

/** Downloaded artifacts (jars, wheels, host image), shared by every cluster. */
export function cacheDir(): string {
  return process.env.MILLRACE_CACHE ?? path.join(millraceHome(), 'cache');
}

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}
