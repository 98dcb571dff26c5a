/**
 * The demo's steps, each one a millrace command run as a child process (exactly what a user would
 * type), so the demo exercises the real commands and shows their progress as it goes.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { MillraceError } from '../../lib/errors';
import { q } from '../../lib/shell';

export interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The result line a Spark job prints last (spark-jobs/millrace_pipeline/cli.py). */
export const RESULT_PREFIX = 'MILLRACE_RESULT ';

export function parseResultLine(stdout: string): Record<string, unknown> | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  return line ? (JSON.parse(line.slice(RESULT_PREFIX.length)) as Record<string, unknown>) : undefined;
}

/** A shell command printing a streaming driver's progress lines for one query (spark-jobs/millrace_pipeline/streaming.py). */
export function progressLinesCommand(driverLog: string, query: string): string {
  return `grep -h '"query": "${query}"' ${q(driverLog)} | grep '"batch":' || true`;
}

/** The progress lines' JSON objects, oldest first; a line still being written is left out. */
export function parseProgressLines<T>(stdout: string): T[] {
  return stdout.split('\n').flatMap((l) => {
    if (!l.includes('{')) return [];
    try {
      return [JSON.parse(l.slice(l.indexOf('{'))) as T];
    } catch {
      return [];
    }
  });
}

export class Steps {
  constructor(
    private readonly config: string,
    private readonly say: (line: string) => void,
    /** Child stderr (progress, logs) goes here; quiet for --json. */
    private readonly progress: NodeJS.WritableStream | undefined,
  ) {}

  /** A line of the demo's own, between steps. */
  note(line: string): void {
    this.say(line);
  }

  /** Runs `millrace <args> -c <config>`; a failure names the step and carries the child's error text. */
  async run(title: string, args: string[], opts: { allowFailure?: boolean } = {}): Promise<StepResult> {
    if (title) this.say(title);
    const main = path.resolve(__dirname, '..', 'main.js');
    const child = spawn(process.execPath, [main, '-c', this.config, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      this.progress?.write(d);
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0 && !opts.allowFailure) {
      const error = stderr.split('\n').filter((l) => l.startsWith('error:') || l.startsWith('hint:') || /^\s{2,}\S/.test(l)).slice(-10).join('\n');
      throw new MillraceError(`demo step "${title}" failed (millrace ${args.join(' ')}, exit ${code})${error ? `:\n${error}` : ''}`, {
        hint: 'the cluster is left as it is; fix the cause and run `millrace demo` again (every step is safe to repeat)',
      });
    }
    return { code, stdout, stderr };
  }

  async json<T>(title: string, args: string[]): Promise<T> {
    return JSON.parse((await this.run(title, ['--json', ...args])).stdout) as T;
  }
}
