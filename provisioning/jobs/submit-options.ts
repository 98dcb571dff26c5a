/**
 * spark-submit's dependency and resource flags as `millrace submit` takes them, checked on the
 * operator's machine before anything reaches the cluster: --py-files, --files, --jars (local
 * files, uploaded beside the job; a URI is passed on as it is), --packages (Maven coordinates,
 * resolved by spark-submit on the master node), and the memory and core settings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../lib/errors';

export type DependencyKind = 'pyFiles' | 'files' | 'jars';
export const DEPENDENCY_FLAGS: Record<DependencyKind, string> = { pyFiles: '--py-files', files: '--files', jars: '--jars' };

/** A file from this machine (uploaded), or a URI the cluster resolves itself (hdfs:///x, local:/x, https://...). */
export type Dependency = { local: string } | { uri: string };

export interface SubmitResources {
  driverMemory?: string;
  executorMemory?: string;
  totalExecutorCores?: number;
  executorCores?: number;
}

export interface SubmitExtras {
  pyFiles: Dependency[];
  files: Dependency[];
  jars: Dependency[];
  packages: string[];
  resources: SubmitResources;
}

const URI = /^([a-z][a-z0-9+.-]*):/i;
const EXTENSIONS: Partial<Record<DependencyKind, string[]>> = { pyFiles: ['.py', '.zip', '.egg'], jars: ['.jar'] };

/** Repeatable flags whose values may also be comma lists, as spark-submit takes them. */
export function splitList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function parseDependency(kind: DependencyKind, value: string): Dependency {
  const flag = DEPENDENCY_FLAGS[kind];
  const scheme = URI.exec(value)?.[1]?.toLowerCase();
  if (scheme && scheme.length > 1) {
    // file: would mean a path on the node running spark-submit: say so explicitly with local:.
    if (scheme === 'file')
      throw new UsageError(`${flag} ${value}: a file: URI is ambiguous here`, { hint: 'give a path on this machine (it is uploaded), or local:/path for a file already on every node' });
    return { uri: value };
  }
  const stat = fs.statSync(value, { throwIfNoEntry: false });
  if (!stat)
    throw new UsageError(`${flag} ${value}: no such file on this machine`, {
      hint: 'local files are uploaded with the job; a file already on the nodes is local:/path, one in HDFS hdfs:///path',
    });
  if (!stat.isFile()) throw new UsageError(`${flag} ${value} is not a regular file`, { hint: kind === 'pyFiles' ? 'zip a package directory first (python3 -m zipfile -c pkg.zip pkg/)' : 'name a file' });
  const allowed = EXTENSIONS[kind];
  if (allowed && !allowed.includes(path.extname(value).toLowerCase()))
    throw new UsageError(`${flag} ${value}: expected a ${allowed.join(', ')} file`, { hint: kind === 'jars' ? 'a jar file' : 'a Python module, or a .zip/.egg of a package' });
  return { local: path.resolve(value) };
}

/** Maven coordinates group:artifact:version. */
export function parsePackage(value: string): string {
  if (!/^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+$/.test(value))
    throw new UsageError(`--packages ${value}: expected Maven coordinates group:artifact:version`, { hint: 'e.g. --packages org.apache.commons:commons-lang3:3.14.0' });
  return value;
}

/** A JVM memory size the way Spark takes it: a number and a unit (512m, 2g). */
export function parseMemory(flag: string, value: string): string {
  const m = /^([1-9]\d{0,6})\s*(k|kb|m|mb|g|gb|t|tb)$/i.exec(value.trim());
  if (!m) throw new UsageError(`${flag} ${value}: expected a size such as 512m or 2g`, { hint: 'a whole number and a unit: k, m, g or t' });
  return `${m[1]}${m[2]!.toLowerCase().replace(/b$/, '')}`;
}

export function parseCores(flag: string, value: string): number {
  if (!/^[1-9]\d{0,4}$/.test(value.trim())) throw new UsageError(`${flag} ${value}: expected a whole number of cores, 1 or more`, { hint: `e.g. ${flag} 2` });
  return Number(value);
}

export interface SubmitExtraFlags {
  pyFiles?: string[];
  files?: string[];
  jars?: string[];
  packages?: string[];
  driverMemory?: string;
  executorMemory?: string;
  totalExecutorCores?: string;
  executorCores?: string;
}

export function parseSubmitExtras(flags: SubmitExtraFlags): SubmitExtras {
  const deps = (kind: DependencyKind): Dependency[] => splitList(flags[kind] ?? []).map((v) => parseDependency(kind, v));
  const extras: SubmitExtras = {
    pyFiles: deps('pyFiles'),
    files: deps('files'),
    jars: deps('jars'),
    packages: [...new Set(splitList(flags.packages ?? []).map(parsePackage))],
    resources: {
      driverMemory: flags.driverMemory === undefined ? undefined : parseMemory('--driver-memory', flags.driverMemory),
      executorMemory: flags.executorMemory === undefined ? undefined : parseMemory('--executor-memory', flags.executorMemory),
      totalExecutorCores: flags.totalExecutorCores === undefined ? undefined : parseCores('--total-executor-cores', flags.totalExecutorCores),
      executorCores: flags.executorCores === undefined ? undefined : parseCores('--executor-cores', flags.executorCores),
    },
  };
  const { totalExecutorCores: total, executorCores: each } = extras.resources;
  if (total !== undefined && each !== undefined && each > total)
    throw new UsageError(`--executor-cores ${each} is more than --total-executor-cores ${total}`, { hint: 'no executor could start; lower --executor-cores or raise the total' });
  // Uploaded files share one directory on the node, and --files are found by their names.
  const seen = new Map<string, string>();
  for (const kind of ['pyFiles', 'files', 'jars'] as const)
    for (const d of extras[kind]) {
      if (!('local' in d)) continue;
      const base = path.basename(d.local);
      const other = seen.get(base);
      if (other !== undefined && other !== d.local) throw new UsageError(`two files named ${base} (${other} and ${d.local})`, { hint: 'jobs find shipped files by name: rename one' });
      seen.set(base, d.local);
    }
  return extras;
}
