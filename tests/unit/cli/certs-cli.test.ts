/**
 * `credentials --days` and `certs rotate` refusals through the built CLI: each bad input exits 2
 * with a hint and changes nothing; the controls show the same command gets past the check.
 * Needs `npm run build`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfigText } from '../../../lib/config';
import type { Inventory } from '../../../lib/inventory';
import { buildFacts } from '../../../provisioning/cluster-state';
import { CLIENT_DAYS_DEFAULT, MAX_LEAF_DAYS } from '../../../provisioning/pki/cluster-ca';
import { parseDays } from '../../../cli/commands/credentials';
import { rollingRunner } from '../../../cli/commands/certs';
import { runCli, tempHome } from './built-cli';

const CONFIG = `name: demo
target: local
nodes:
  - { name: kafka-1, roles: [kafka], address: 127.0.0.201 }
  - { name: spark-1, roles: [spark-master, spark-worker], address: 127.0.0.202 }
  - { name: hdfs-1, roles: [namenode, datanode, kms], address: 127.0.0.203 }
`;

function inventoryFor(): Inventory {
  const config = parseConfigText(CONFIG);
  return {
    cluster: 'demo',
    target: 'local',
    createdAt: '2026-01-01T00:00:00.000Z',
    nodes: config.nodes.map((n) => ({ name: n.name, roles: n.roles, sshAddress: n.address!, sshPort: 22, sshUser: 'admin', privateKeyPath: '/nonexistent/id_ed25519', privateAddress: n.address! })),
  };
}

function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => `${f} ${fs.statSync(path.join(dir, f)).mtimeMs}`).sort();
}

describe('credentials --days', () => {
  it(`takes whole days from 1 to ${MAX_LEAF_DAYS}; the default is ${CLIENT_DAYS_DEFAULT}`, () => {
    expect(CLIENT_DAYS_DEFAULT).toBe(30);
    expect(parseDays('1')).toBe(1);
    expect(parseDays(' 30 ')).toBe(30);
    expect(parseDays(String(MAX_LEAF_DAYS))).toBe(MAX_LEAF_DAYS);
    for (const bad of ['0', '826', '-1', '1.5', '7d', '', 'abc', '1e3']) expect(() => parseDays(bad)).toThrow(/--days must be a whole number of days from 1 to 825/);
  });
});

describe('through the built CLI', () => {
  let home: string;
  let config: string;
  let pki: string;
  beforeAll(async () => {
    home = tempHome('millrace-certs-');
    config = path.join(home, 'millrace.yaml');
    fs.writeFileSync(config, CONFIG);
    const state = path.join(home, '.millrace', 'clusters', 'demo');
    fs.mkdirSync(state, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(state, 'inventory.json'), JSON.stringify(inventoryFor(), null, 2) + '\n', { mode: 0o600 });
    const saved = process.env.MILLRACE_HOME;
    process.env.MILLRACE_HOME = path.join(home, '.millrace');
    try {
      await buildFacts(parseConfigText(CONFIG), inventoryFor());
    } finally {
      process.env.MILLRACE_HOME = saved;
      if (saved === undefined) delete process.env.MILLRACE_HOME;
    }
    pki = path.join(state, 'pki');
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it.each([
    ['0'],
    ['900'],
    ['two'],
  ])('credentials --days %s exits 2 with a hint, writing nothing', (days) => {
    const before = listing(home);
    const r = runCli(home, ['credentials', '--principal', 'alice', '--days', days, '-o', 'creds', '-c', config]);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(`error: --days must be a whole number of days from 1 to 825, not "${days}"\n`)).toBe(true);
    expect(r.stderr).toMatch(/hint: client certificates are short-lived on purpose: the default is 30/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(listing(home)).toEqual(before);
  });

  it('control: a good --days gets past the check and issues the certificate for that long (then needs a Kafka node for the Java stores)', () => {
    const r = runCli(home, ['credentials', '--principal', 'alice', '--days', '3', '--no-java-stores', '-o', 'creds', '-c', config, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { days: number; notAfter: string };
    expect(out.days).toBe(3);
    expect(Math.abs(Date.parse(out.notAfter) - (Date.now() + 3 * 86_400_000))).toBeLessThan(10 * 60_000);
    expect(fs.existsSync(path.join(pki, 'handed-out', 'alice.crt'))).toBe(true);
    expect(fs.existsSync(path.join(pki, 'clients', 'alice.key'))).toBe(false);
    expect(fs.statSync(path.join(home, 'creds', 'alice.key')).mode & 0o777).toBe(0o600);
  });

  it.each([
    [['--ca', '--finish'], /^error: --ca and --finish cannot be combined/],
    [['--trust-only'], /^error: --trust-only needs --ca/],
    [['--finish', '--yes'], /^error: no previous CA is trusted, so there is nothing to finish/],
    [[], /refusing to rotate certificates without confirmation \(no terminal to ask on\)[\s\S]*hint: pass --yes/],
  ])('certs rotate %j exits 2, changing nothing in pki/', (args, says) => {
    const before = listing(pki);
    const r = runCli(home, ['certs', 'rotate', ...args, '-c', config]);
    expect(r.stderr).toMatch(says);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.code).toBe(2);
    expect(listing(pki)).toEqual(before);
  });

  it('control: `certs rotate --yes` gets past the checks and stops at the SSH connection, before touching pki/', () => {
    const before = listing(pki);
    const r = runCli(home, ['certs', 'rotate', '--yes', '-c', config], { timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/refusing|cannot be combined/);
    expect(r.stderr).toMatch(/kafka-1|127\.0\.0\.201/);
    expect(r.code).toBe(1);
    expect(listing(pki)).toEqual(before);
  });
});

describe('the rolling runner', () => {
  it('takes one node at a time, in order, and touches none after a failure', async () => {
    const events: string[] = [];
    const said: string[] = [];
    const run = rollingRunner((m) => said.push(m));
    const results = await run('pass', ['kafka-1', 'spark-1', 'hdfs-1', 'extra-1'], (n) => n, async (n, report) => {
      events.push(`start ${n}`);
      report('restart');
      report('restart');
      await new Promise((r) => setTimeout(r, 20));
      if (n === 'spark-1') throw new Error('spark-master is not healthy');
      events.push(`end ${n}`);
      return n.length;
    });
    expect(events).toEqual(['start kafka-1', 'end kafka-1', 'start spark-1']);
    expect(said).toEqual(['kafka-1: restart', 'spark-1: restart']);
    expect(results.map((r) => [r.where, r.ok])).toEqual([
      ['kafka-1', true],
      ['spark-1', false],
      ['hdfs-1', false],
      ['extra-1', false],
    ]);
    expect(String((results[2] as { error: Error }).error.message)).toBe('not touched: spark-1 failed first, and a rolling restart stops there');
  });
});
