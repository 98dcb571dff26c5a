/** The one place errors become exit codes, text, and the --json failure object. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommanderError } from 'commander';
import { ConfigError, HealthCheckError, UsageError } from '../../../lib/errors';
import { renderError } from '../../../cli/handler';

function fsError(fn: () => void): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a file-system error');
}

describe('renderError', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-handler-'));
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a file-system error on a path the user gave is a usage error (exit 2) naming the path, no stack', () => {
    const e = fsError(() => fs.mkdirSync(file));
    const r = renderError(e, false, { userPaths: [file] });
    expect(r.exitCode).toBe(2);
    expect(r.text).toBe(`error: ${file}: is a file, where a directory is expected (mkdir)\nhint: check the path: that the directories exist, that files and directories are where expected, and the permissions`);
    expect(r.json).toMatchObject({ ok: false, error: { exitCode: 2, kind: 'filesystem' }, problems: [] });
  });

  it('under a path the user gave too (ENOTDIR inside a file given as a directory)', () => {
    const e = fsError(() => fs.writeFileSync(path.join(file, 'x.pem'), ''));
    const r = renderError(e, false, { userPaths: [file] });
    expect(r.exitCode).toBe(2);
    expect(r.text).toMatch(/^error: \S+a-file\/x\.pem: a part of the path is a file, where a directory is expected/);
  });

  it("elsewhere it is a failure (exit 1), still clean, and not called a bug", () => {
    const e = fsError(() => fs.readFileSync(path.join(dir, 'missing')));
    const r = renderError(e, false, { userPaths: ['/somewhere/else'] });
    expect(r.exitCode).toBe(1);
    expect(r.text).toMatch(/^error: \S+missing: no such file or directory \(open\)\nhint: /);
    expect(r.text).not.toMatch(/internal error|^\s+at /m);
    expect(renderError(e, true).text).toMatch(/^\s+at /m);
  });

  it('anything else is an internal error with its stack', () => {
    const r = renderError(new TypeError('x is undefined'), false);
    expect(r.exitCode).toBe(1);
    expect(r.text).toMatch(/^internal error: TypeError: x is undefined\n\s+at /);
    expect(r.json?.error.kind).toBe('internal');
  });

  it('usage, config and run-time failures keep their codes; config problems go into the JSON', () => {
    expect(renderError(new UsageError('bad', { hint: 'do this' }), false)).toEqual({
      exitCode: 2,
      text: 'error: bad\nhint: do this',
      json: { ok: false, error: { message: 'bad', hint: 'do this', exitCode: 2, kind: 'usage' }, problems: [] },
    });
    const c = renderError(new ConfigError('x.yaml', [{ path: 'name', message: 'must be a label', hint: 'use lowercase' }, { path: 'nodes', message: 'too few' }]), false);
    expect(c.exitCode).toBe(2);
    expect(c.json).toEqual({
      ok: false,
      error: { message: 'x.yaml: 2 problems in the cluster config', hint: expect.any(String), exitCode: 2, kind: 'config' },
      problems: [{ path: 'name', message: 'must be a label', hint: 'use lowercase' }, { path: 'nodes', message: 'too few' }],
    });
    expect(renderError(new HealthCheckError('2 services unhealthy'), false).json?.error).toEqual({ message: '2 services unhealthy', exitCode: 1, kind: 'failure' });
  });

  it('commander: help and version exit 0 with nothing more; a parse error exits 2 with a JSON failure', () => {
    expect(renderError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), false)).toEqual({ exitCode: 0, text: '' });
    const r = renderError(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"), false);
    expect(r.exitCode).toBe(2);
    expect(r.text).toBe('');
    expect(r.json?.error).toMatchObject({ message: "unknown option '--x'", exitCode: 2, kind: 'usage' });
  });
});
