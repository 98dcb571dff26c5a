/**
 * Human output on a terminal, machine output elsewhere: `validate` run under a pseudo-terminal
 * (util-linux `script`) shows readable log lines and no JSON; the same command without a terminal
 * logs JSON lines on stderr. Plus the rules that decide level and format.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envFlag, holdLogs, logSettings, stderrDestination } from '../../../lib/logger';

const REPO = path.resolve(__dirname, '../../..');
const MAIN = path.join(REPO, 'dist/cli/main.js');
const LOCAL = path.join(REPO, 'examples/local.yaml');
const JSON_LOG_LINE = /^\{"level"/m;

let home: string;
beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-tty-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: home, MILLRACE_HOME: path.join(home, '.millrace'), TERM: 'xterm', ...extra });

/** Runs the CLI under a pseudo-terminal: stdin, stdout and stderr are all the terminal. */
function underPty(args: string[], extra: NodeJS.ProcessEnv = {}): { code: number | null; screen: string } {
  const which = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('util-linux `script` is not installed: this test needs it to run the CLI under a pseudo-terminal (apt-get install bsdutils)');
  const command = [process.execPath, MAIN, ...args].map(sh).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: env(extra), cwd: home, timeout: 60_000 });
  return { code: r.status, screen: r.stdout.replace(/\r/g, '') };
}

describe('terminal output', () => {
  it('validate under a pseudo-terminal: human log lines, no JSON', () => {
    const r = underPty(['validate', '-c', LOCAL], { LOG_LEVEL: 'debug' });
    expect(r.code).toBe(0);
    expect(r.screen).not.toMatch(JSON_LOG_LINE);
    expect(r.screen).not.toMatch(/"level":/);
    expect(r.screen).toMatch(/DEBUG.*: .*millrace starting/);
    expect(r.screen).toMatch(/DEBUG.*: .*config is valid/);
    expect(r.screen).toMatch(/^ok: cluster "local", target local, 3 nodes/m);
  });

  it('a failure under a pseudo-terminal is human too, without a stack trace', () => {
    const r = underPty(['validate', '-c', path.join(home, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.screen).toMatch(/^error: \S+missing\.yaml: 1 problem in the cluster config/m);
    expect(r.screen).not.toMatch(JSON_LOG_LINE);
    expect(r.screen).not.toMatch(/^\s+at /m);
  });

  it('--log-format json on a terminal gives JSON lines even there', () => {
    const r = underPty(['validate', '--log-format', 'json', '-c', LOCAL], { LOG_LEVEL: 'debug' });
    expect(r.code).toBe(0);
    expect(r.screen).toMatch(/^\{"level":20,.*"msg":"config is valid"\}$/m);
  });

  it('validate without a terminal logs JSON lines on stderr, and MILLRACE_LOG_FORMAT=pretty makes them readable', () => {
    const r = spawnSync(process.execPath, [MAIN, 'validate', '-c', LOCAL], { encoding: 'utf8', env: env({ LOG_LEVEL: 'debug' }), cwd: home });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: cluster "local"/);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ level: 20 });
    const pretty = spawnSync(process.execPath, [MAIN, 'validate', '-c', LOCAL], { encoding: 'utf8', env: env({ LOG_LEVEL: 'debug', MILLRACE_LOG_FORMAT: 'pretty' }), cwd: home });
    expect(pretty.status).toBe(0);
    expect(pretty.stderr).not.toMatch(JSON_LOG_LINE);
    expect(pretty.stderr).toMatch(/DEBUG: config is valid/);
  });
});

describe('log settings', () => {
  it('MILLRACE_DEBUG is on for 1/true/yes/on and off for unset, empty, 0, false, no, off', () => {
    for (const v of [undefined, '', '0', 'false', 'FALSE', 'no', 'off', ' 0 ']) expect(envFlag(v)).toBe(false);
    for (const v of ['1', 'true', 'yes', 'on', 'TRUE']) expect(envFlag(v)).toBe(true);
  });

  it('level: LOG_LEVEL, raised to debug by --debug or MILLRACE_DEBUG; format: flag, env, then the terminal', () => {
    expect(logSettings({}, {}, false)).toEqual({ level: 'info', format: 'json', debug: false });
    expect(logSettings({}, {}, true)).toEqual({ level: 'info', format: 'pretty', debug: false });
    expect(logSettings({}, { LOG_LEVEL: 'warn', MILLRACE_DEBUG: '0' }, true)).toEqual({ level: 'warn', format: 'pretty', debug: false });
    expect(logSettings({}, { LOG_LEVEL: 'warn', MILLRACE_DEBUG: '1' }, false)).toEqual({ level: 'debug', format: 'json', debug: true });
    expect(logSettings({ debug: true }, { LOG_LEVEL: 'trace' }, false)).toEqual({ level: 'trace', format: 'json', debug: true });
    expect(logSettings({}, { LOG_LEVEL: 'DEBUG' }, false)).toEqual({ level: 'debug', format: 'json', debug: true });
    expect(logSettings({}, { MILLRACE_LOG_FORMAT: 'pretty' }, false).format).toBe('pretty');
    expect(logSettings({ logFormat: 'json' }, { MILLRACE_LOG_FORMAT: 'pretty' }, true).format).toBe('json');
    expect(logSettings({}, { MILLRACE_LOG_FORMAT: '' }, true).format).toBe('pretty');
    expect(() => logSettings({}, { LOG_LEVEL: 'loud' }, false)).toThrow(/LOG_LEVEL="loud" is not a log level/);
    expect(() => logSettings({}, { MILLRACE_LOG_FORMAT: 'xml' }, false)).toThrow(/log format "xml"/);
  });

  it('log lines are held while a progress display draws, and printed after it in order', () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (written.push(String(s)), true));
    try {
      const dest = stderrDestination('pretty', false);
      const release = holdLogs();
      dest.write('{"level":30,"time":0,"msg":"one"}\n');
      dest.write('{"level":40,"time":0,"msg":"two"}\n');
      expect(written).toEqual([]);
      release();
      expect(written.join('')).toMatch(/INFO: one\n.*WARN: two\n$/);
      dest.write('{"level":30,"time":0,"msg":"three"}\n');
      expect(written.join('')).toMatch(/INFO: three\n$/);
    } finally {
      spy.mockRestore();
    }
  });
});
