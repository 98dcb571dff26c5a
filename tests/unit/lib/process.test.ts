import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { exitWhenFlushed } from '../../../lib/process';

const REPO = path.resolve(__dirname, '../../..');
const BUILT = path.join(REPO, 'dist/lib/process.js');

/** A stream that takes a few milliseconds per write, as a pipe to a slow reader does. */
function slowStream(): Writable & { written: number } {
  const w = new Writable({
    write(_chunk, _enc, cb) {
      w.written++;
      setTimeout(cb, 2);
    },
  }) as Writable & { written: number };
  w.written = 0;
  return w;
}

describe('exitWhenFlushed', () => {
  it('exits only after every queued write reached the stream, with the code given', async () => {
    const out = slowStream();
    const err = slowStream();
    for (let i = 0; i < 40; i++) out.write(`line ${i}\n`);
    err.write('a warning\n');
    const exited = new Promise<{ code: number; written: number }>((resolve) => exitWhenFlushed(3, [out, err], (code) => resolve({ code, written: out.written })));
    expect(out.written).toBeLessThan(40);
    // The 40 lines, then the empty write that marks the end.
    expect(await exited).toEqual({ code: 3, written: 41 });
  });

  it('exits at once for a stream that is gone, and once for a stream that fails', async () => {
    const gone = slowStream();
    gone.destroy();
    const calls: number[] = [];
    exitWhenFlushed(1, [gone], (code) => calls.push(code));
    expect(calls).toEqual([1]);
    const failing = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    failing.on('error', () => undefined);
    const failed: number[] = [];
    await new Promise<void>((resolve) => exitWhenFlushed(2, [failing], (code) => (failed.push(code), resolve())));
    await new Promise((r) => setTimeout(r, 20));
    expect(failed).toEqual([2]);
  });

  it('a process that prints 2.5 MB to a pipe read slowly, then exits through it, loses no line', async () => {
    if (!fs.existsSync(BUILT)) throw new Error('dist/lib/process.js is missing: run `npm run build` first (npm test does)');
    const script = `const { exitWhenFlushed } = require(${JSON.stringify(BUILT)});
const line = JSON.stringify({ value: 'x'.repeat(500) });
for (let i = 0; i < 5000; i++) process.stdout.write(line + '\\n');
exitWhenFlushed(4);`;
    const child = spawn(process.execPath, ['-e', script]);
    let out = '';
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), 200); // the reader is late, so the writes queue up
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(4);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(5000);
    expect(lines.every((l) => (JSON.parse(l) as { value: string }).value.length === 500)).toBe(true);
  });
});
