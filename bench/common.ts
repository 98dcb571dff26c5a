/** Shared by the benchmark scripts: run the built CLI timed, print a table, write JSON. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

export const REPO = path.resolve(__dirname, '..', fs.existsSync(path.resolve(__dirname, '..', 'package.json')) ? '' : '..');
export const RESULTS_DIR = path.join(REPO, 'bench', 'results');

/** A working directory per benchmark, with its own MILLRACE_HOME; caches are shared. */
export function benchWorkdir(name: string): string {
  const dir = path.join(REPO, '.millrace-bench', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The default three-node local cluster, on loopback addresses 127.0.0.<first>, +1 and +2. */
export function localClusterYaml(name: string, first: number): string {
  return `name: ${name}
target: local
nodes:
  - { name: kafka-1, roles: [kafka], address: 127.0.0.${first} }
  - { name: spark-1, roles: [spark-master, spark-worker], address: 127.0.0.${first + 1} }
  - { name: hdfs-1, roles: [namenode, datanode, kms], address: 127.0.0.${first + 2} }
artifacts:
  source: maven
`;
}

export function writeYaml(file: string, text: string): string {
  fs.writeFileSync(file, text);
  return file;
}

export function benchEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MILLRACE_HOME: path.join(dir, 'home'),
    MILLRACE_CACHE: process.env.MILLRACE_CACHE ?? path.join(os.homedir(), '.millrace', 'cache'),
    LOG_LEVEL: 'warn',
  };
}

export interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs `millrace <args>` from dist/, timed; a failure stops the benchmark with its stderr. */
export function cliTimed(args: string[], dir: string, opts: { allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Timed> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'dist/cli/main.js'), ...args], { env: { ...benchEnv(dir), ...opts.env }, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0 && !opts.allowFailure && args[0] !== 'down') reject(new Error(`millrace ${args.join(' ')} failed (exit ${code}):\n${stderr.slice(-3000)}`));
      else resolve({ code, stdout, stderr, seconds });
    });
  });
}

export function printTable(title: string, rows: BenchRow[]): void {
  const fmt = (r: BenchRow): string => (r.unit === 'ratio' ? r.value.toFixed(3) : r.value >= 100 ? r.value.toFixed(0) : r.value.toFixed(2));
  const cells = rows.map((r) => [r.metric, fmt(r), r.unit, r.note ?? '']);
  const head = ['metric', 'value', 'unit', 'note'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 1 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  ');
  process.stdout.write(`\n${title}\n${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n${cells.map(line).join('\n')}\n`);
}

export function writeResults(name: string, rows: BenchRow[], extra: Record<string, unknown> = {}): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  const doc = { benchmark: name, at: new Date().toISOString(), host: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) }, rows, ...extra };
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  return file;
}
