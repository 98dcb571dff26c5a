/**
 * What a user sees against the real cluster: `status` under a pseudo-terminal shows readable
 * output and no JSON log line, while without a terminal it logs JSON lines; `list` finds the test
 * cluster healthy; a bad output path for `credentials` is a clean usage error.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, CLUSTER, CONFIG, ENV, ensureBaseCluster, REPO, TEST_DIR } from './harness';

const MAIN = path.join(REPO, 'dist/cli/main.js');
const JSON_LOG_LINE = /^\{"level"/m;
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI under a pseudo-terminal (util-linux `script`): stdin, stdout and stderr are the terminal. */
function underPty(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; screen: string }> {
  if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) throw new Error('util-linux `script` is not installed: this test needs it to run the CLI under a pseudo-terminal');
  const command = [process.execPath, MAIN, ...args].map(sh).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' }, cwd: TEST_DIR });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen: screen.replace(/\r/g, '') }));
  });
}

beforeAll(async () => {
  await ensureBaseCluster();
}, 20 * 60_000);

describe('CLI experience against the real cluster', () => {
  it('status under a pseudo-terminal: human output and readable logs, no JSON log line', async () => {
    const r = await underPty(['status', '-c', CONFIG], { ...ENV, LOG_LEVEL: 'debug' });
    expect(r.screen).not.toMatch(JSON_LOG_LINE);
    expect(r.screen).not.toMatch(/"level":\d/);
    expect(r.screen).toMatch(/DEBUG.*millrace starting/);
    expect(r.screen).toMatch(/^NODE +SERVICE +STATE$/m);
    expect(r.screen).toMatch(/^kafka-1 +kafka +healthy$/m);
    expect(r.screen).toMatch(/all 11 services healthy/);
    expect(r.code).toBe(0);
  });

  it('status without a terminal still logs JSON lines on stderr', async () => {
    const r = await cli(['status', '-c', CONFIG], { env: { ...ENV, LOG_LEVEL: 'debug' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/all 11 services healthy/);
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('level');
    expect(r.stderr).toMatch(/"msg":"millrace starting"/);
  });

  it('list shows the test cluster: target local, 3 nodes, healthy, at a glance', async () => {
    const r = await cli(['list', '--json']);
    expect(r.code).toBe(0);
    expect(r.seconds).toBeLessThan(3);
    const rows = JSON.parse(r.stdout) as { name: string; target: string; nodes: number; createdAt: string; health: string; open: number; probed: number }[];
    const itest = rows.find((c) => c.name === CLUSTER);
    expect(itest).toMatchObject({ name: CLUSTER, target: 'local', nodes: 3, health: 'healthy' });
    // SSH and every always-on service port of the three nodes answered.
    expect(itest!.probed).toBeGreaterThanOrEqual(3 + 3 + 3);
    expect(itest!.open).toBe(itest!.probed);
    expect(Date.parse(itest!.createdAt)).toBeLessThanOrEqual(Date.now());
    const human = await cli(['list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${CLUSTER} +local +3 +\\S+ \\(\\S+ ago\\) +healthy \\(\\d+/\\d+ ports\\)$`, 'm'));
  });

  it('credentials -o onto an existing file is a usage error naming the path, without a stack trace', async () => {
    const file = path.join(TEST_DIR, 'not-a-dir.txt');
    fs.writeFileSync(file, 'x\n');
    try {
      const r = await cli(['credentials', '--principal', 'pipeline', '-o', file, '-c', CONFIG]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      const j = await cli(['credentials', '--json', '--principal', 'pipeline', '-o', file, '-c', CONFIG]);
      expect(j.code).toBe(2);
      expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { exitCode: 2 } });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
