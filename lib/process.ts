import { spawn } from 'node:child_process';
import { MillraceError } from './errors';

/** Runs a local program, resolving with its stdout; a failure names the program and its stderr tail. */
export function run(command: string, args: string[], opts: { hint: string; cwd?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', (e) =>
      reject(new MillraceError(`cannot run ${command}: ${e.message}`, { hint: `install ${command} (scripts/setup.sh does)`, cause: e })),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else {
        // Some tools (Maven with -q) print their errors on stdout.
        const tail = (err.trim() || out.split('\n').filter((l) => /error/i.test(l)).join('\n')).split('\n').slice(-8).join('\n');
        reject(new MillraceError(`${command} failed with exit code ${code}:\n${tail}`, { hint: opts.hint }));
      }
    });
  });
}

/**
 * Ends the process with `code` once everything written to stdout and stderr has reached the OS.
 * On a pipe those writes are asynchronous, and a bare process.exit() drops what is still queued:
 * `millrace consume --json | jq` lost the tail of its output. A reader that went away (EPIPE, as
 * with `| head`) ends it at once.
 */
export function exitWhenFlushed(code: number, streams: NodeJS.WritableStream[] = [process.stdout, process.stderr], exit: (code: number) => void = (c) => process.exit(c)): void {
  let pending = streams.length;
  const flushed = (): void => {
    if (--pending === 0) exit(code);
  };
  if (pending === 0) return exit(code);
  for (const s of streams) {
    const w = s as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
    let once = false;
    const one = (): void => {
      if (once) return;
      once = true;
      flushed();
    };
    if (w.destroyed || w.writableEnded) one();
    else {
      w.once('error', one);
      w.write('', () => one());
    }
  }
}
