/**
 * The built CLI as a subprocess, the way a user runs it, for the CLI tests: a private temp home
 * (HOME and MILLRACE_HOME inside it) and the exit code, stdout and stderr of a run.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../../..');
export const MAIN = path.join(REPO, 'dist/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh temp directory to run in; fails, saying why, when the CLI is not built. */
export function tempHome(prefix: string): string {
  if (!fs.existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Only PATH from this process: nothing of the caller's MILLRACE_* or AWS_* settings leaks in. */
export function cliEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, MILLRACE_HOME: path.join(home, '.millrace'), ...extra };
}

export function runCli(home: string, args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number; input?: string; timeoutMs?: number } = {}): CliRun {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: home,
    env: cliEnv(home, opts.env),
    encoding: 'utf8',
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
