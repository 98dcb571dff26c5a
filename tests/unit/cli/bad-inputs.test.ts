/**
 * Bad flags, arguments and paths given to the built CLI, the way a user mistypes them: each gets
 * its exit code and a clear first line, never "internal error" nor a stack trace; and each again
 * under --json prints one parseable JSON object on stdout with ok:false and the same exit code.
 * Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliRun, MAIN, REPO, runCli, tempHome } from './built-cli';

const AWS = path.join(REPO, 'examples/aws.yaml');
const LOCAL = path.join(REPO, 'examples/local.yaml');

let home: string;
beforeAll(() => {
  home = tempHome('millrace-bad-');
  fs.writeFileSync(path.join(home, 'a-file'), 'not a directory\n');
  fs.writeFileSync(path.join(home, 'existing.yaml'), 'name: demo\n');
  fs.mkdirSync(path.join(home, 'a-dir'));
  fs.writeFileSync(path.join(home, 'static.yaml'), 'name: stat\ntarget: static\nnodes:\n  - { name: kafka-1, roles: [kafka], address: 10.0.0.1 }\n  - { name: spark-1, roles: [spark-master, spark-worker], address: 10.0.0.2 }\n  - { name: hdfs-1, roles: [namenode, datanode, kms], address: 10.0.0.3 }\n');
  // A local cluster whose node directories exist: `down` has something to destroy, so it must ask.
  fs.writeFileSync(path.join(home, 'present.yaml'), 'name: present\ntarget: local\n');
  for (const n of ['kafka-1', 'spark-1', 'hdfs-1']) fs.mkdirSync(path.join(home, '.millrace', 'clusters', 'present', 'nodes', n), { recursive: true });
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const millrace = (args: string[], env: NodeJS.ProcessEnv = {}): CliRun => runCli(home, args, { env });

interface Row {
  what: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  code: number;
  /** The start of stderr. */
  starts: RegExp;
  /** More that the message must say (a hint). */
  says?: RegExp;
}

const at = (p: string): string => path.join('HOME', p);
const resolve = (args: string[]): string[] => args.map((a) => a.replace(/^HOME/, home));
const resolveEnv = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v?.replace(/^HOME/, home)]));

const ROWS: Row[] = [
  { what: 'no command at all', args: [], code: 2, starts: /^Usage: millrace \[options\] \[command\]/ },
  { what: 'unknown command', args: ['launch'], code: 2, starts: /^error: unknown command 'launch'/ },
  { what: 'unknown option', args: ['synth', '--bogus'], code: 2, starts: /^error: unknown option '--bogus'/ },
  { what: 'missing argument', args: ['ssh'], code: 2, starts: /^error: missing required argument 'node'/ },
  { what: 'missing argument of a nested command', args: ['topics', 'create'], code: 2, starts: /^error: missing required argument 'name'/ },
  { what: 'an option without its value', args: ['validate', '-c'], code: 2, starts: /^error: option '-c, --config <path>' argument missing/ },
  { what: 'bad --target', args: ['up', '--target', 'moon', '-c', LOCAL], code: 2, starts: /^error: option '-t, --target <target>' argument 'moon' is invalid/ },
  { what: 'bad --log-format', args: ['validate', '--log-format', 'xml', '-c', LOCAL], code: 2, starts: /^error: option '--log-format <format>' argument 'xml' is invalid/ },
  { what: 'bad MILLRACE_LOG_FORMAT', args: ['validate', '-c', LOCAL], env: { MILLRACE_LOG_FORMAT: 'xml' }, code: 2, starts: /^error: log format "xml" is not one of pretty, json/ },
  { what: 'bad LOG_LEVEL', args: ['validate', '-c', LOCAL], env: { LOG_LEVEL: 'loud' }, code: 2, starts: /^error: LOG_LEVEL="loud" is not a log level/, says: /hint: set it to one of trace, debug, info/ },
  { what: 'a positional config path (validate)', args: ['validate', 'examples/aws.yaml'], code: 2, starts: /^error: `millrace validate` takes no arguments, but got "examples\/aws.yaml"/, says: /hint: the config file is an option: use -c examples\/aws\.yaml/ },
  { what: 'a positional config path (up)', args: ['up', 'x.yaml'], code: 2, starts: /^error: `millrace up` takes no arguments/, says: /use -c x\.yaml/ },
  { what: 'a stray argument to a nested command', args: ['cache', 'list', 'extra'], code: 2, starts: /^error: `millrace cache list` takes no arguments, but got "extra"/ },
  { what: 'init into a missing directory', args: ['init', '-c', '/no/such/dir/x.yaml'], code: 2, starts: /^error: config file \/no\/such\/dir\/x\.yaml: directory \/no\/such\/dir does not exist/, says: /hint: create it first/ },
  { what: 'init onto a directory', args: ['init', '-c', at('a-dir')], code: 2, starts: /^error: config file \S+a-dir is a directory, where a file is expected/ },
  { what: 'init under a file', args: ['init', '-c', at('a-file/x.yaml')], code: 2, starts: /^error: config file \S+a-file\/x\.yaml: \S+a-file is a file, where a directory is expected/ },
  { what: 'init onto an existing file', args: ['init', '-c', at('existing.yaml')], code: 2, starts: /^error: config file \S+existing\.yaml already exists/, says: /hint: pass --force/ },
  { what: 'init with an unknown target', args: ['init', '--target', 'gcp'], code: 2, starts: /^error: option '-t, --target <target>' argument 'gcp' is invalid/ },
  { what: 'init with a bad cluster name', args: ['init', '--name', 'Bad_Name', '-c', at('n.yaml')], code: 2, starts: /^error: --name "Bad_Name" is not a valid cluster name/ },
  { what: 'synth -o onto an existing file', args: ['synth', '-c', AWS, '-o', at('existing.yaml')], code: 2, starts: /^error: synth -o \S+existing\.yaml is a file, where a directory is expected/ },
  { what: 'synth -o under a file', args: ['synth', '-c', AWS, '-o', at('a-file/out')], code: 2, starts: /^error: synth -o \S+a-file\/out: \S+a-file is a file, where a directory is expected/ },
  { what: 'plan -o into a missing directory', args: ['plan', '--target', 'aws', '-c', AWS, '-o', '/no/such/dir/p.tfplan'], code: 2, starts: /^error: plan -o \/no\/such\/dir\/p\.tfplan: directory \/no\/such\/dir does not exist/ },
  { what: 'plan -o onto a directory', args: ['plan', '--target', 'aws', '-c', AWS, '-o', at('a-dir')], code: 2, starts: /^error: plan -o \S+a-dir is a directory, where a file is expected/ },
  { what: 'up --plan with a missing file', args: ['up', '--plan', at('no.tfplan'), '-c', LOCAL], code: 2, starts: /^error: up --plan \S+no\.tfplan does not exist/ },
  { what: 'MILLRACE_HOME a file (status)', args: ['status', '-c', LOCAL], env: { MILLRACE_HOME: at('a-file') }, code: 2, starts: /^error: MILLRACE_HOME=\S+a-file is a file, not a directory/, says: /hint: point MILLRACE_HOME at a directory/ },
  { what: 'MILLRACE_HOME under a file (synth)', args: ['synth', '-c', AWS], env: { MILLRACE_HOME: at('a-file/home') }, code: 2, starts: /^error: MILLRACE_HOME=\S+a-file\/home: \S+a-file is a file, not a directory/ },
  { what: 'list with MILLRACE_HOME a file', args: ['list'], env: { MILLRACE_HOME: at('a-file') }, code: 2, starts: /^error: MILLRACE_HOME=\S+a-file is a file, not a directory/ },
  { what: 'MILLRACE_CACHE a file', args: ['cache', 'list'], env: { MILLRACE_CACHE: at('a-file') }, code: 2, starts: /^error: MILLRACE_CACHE=\S+a-file is a file, not a directory/ },
  { what: 'MILLRACE_CONFIG a missing file', args: ['validate'], env: { MILLRACE_CONFIG: at('nope.yaml') }, code: 2, starts: /^error: \S+nope\.yaml: 1 problem in the cluster config/ },
  { what: 'completion for an unknown shell', args: ['completion', 'ksh'], code: 2, starts: /^error: command-argument value 'ksh' is invalid for argument 'shell'/ },
  { what: 'list with a bad --timeout', args: ['list', '--timeout', 'abc'], code: 2, starts: /^error: --timeout "abc" is not a number of milliseconds/ },
  { what: 'exec without a command', args: ['exec', 'all'], code: 2, starts: /^error: no command given/ },
  { what: 'down without --yes and no terminal', args: ['down', '-c', at('present.yaml')], code: 2, starts: /^cluster "present": 3 systemd-nspawn nodes on this machine\n {2}nodes: kafka-1, spark-1, hdfs-1\n[\s\S]*^error: refusing to destroy without confirmation \(no terminal to ask on\)/m, says: /hint: pass --yes/ },
  { what: 'down on the static target', args: ['down', '-c', at('static.yaml')], code: 2, starts: /^error: the static target does not own its hosts/ },
  {
    // The spec contract (tests/fixtures/specs): a spec the Spark jobs would refuse is refused before any SSH session or driver.
    what: 'submit with a spec the jobs would refuse',
    args: ['submit', '--spec', path.join(REPO, 'tests/fixtures/specs/invalid-long-id.yaml'), path.join(REPO, 'spark-jobs/check_pi.py'), '-c', at('static.yaml')],
    code: 2,
    starts: /^error: \S+invalid-long-id\.yaml: 1 problem in the pipeline spec\n {2}- id: the id field "click_id" must have type string, not long/,
  },
  {
    // The demo for any spec (issue 16): the flights data is only the flights spec's default.
    what: 'demo with another spec and no --source',
    args: ['demo', '--spec', path.join(REPO, 'examples/pipelines/birdstrikes.yaml'), '-c', at('static.yaml')],
    code: 2,
    starts: /^error: the default --source is the flights data, and the spec \S+birdstrikes\.yaml is for "birdstrikes"/,
    says: /hint: name its data with --source/,
  },
  {
    what: 'demo with a spec that has no model',
    args: ['demo', '--spec', path.join(REPO, 'tests/fixtures/specs/valid-minimal.yaml'), '--source', 'x.csv', '-c', at('static.yaml')],
    code: 2,
    starts: /^error: \S+valid-minimal\.yaml has no model section: the demo trains a model and scores with it/,
  },
];

describe('bad inputs to the built CLI', () => {
  it('has at least 15 rows', () => expect(ROWS.length).toBeGreaterThanOrEqual(15));

  it.each(ROWS.map((r) => [r.what, r] as const))('%s: exit code, message, no stack trace', (_what, row) => {
    const r = millrace(resolve(row.args), resolveEnv(row.env));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: row.code, stderr: expect.stringMatching(row.starts) });
    if (row.says) expect(r.stderr).toMatch(row.says);
    expect(r.stderr + r.stdout).not.toMatch(/internal error/);
    expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
    expect(r.stdout).toBe('');
  });

  it.each(ROWS.map((r) => [r.what, r] as const))('%s, with --json: one JSON object on stdout, ok:false, the same exit code', (_what, row) => {
    const r = millrace(['--json', ...resolve(row.args)], resolveEnv(row.env));
    expect(r.code).toBe(row.code);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { message: string; exitCode: number; kind: string; hint?: string }; problems: unknown[] };
    expect(doc.ok).toBe(false);
    expect(doc.error.exitCode).toBe(row.code);
    expect(['usage', 'config', 'filesystem']).toContain(doc.error.kind);
    expect(doc.error.message.length).toBeGreaterThan(5);
    expect(Array.isArray(doc.problems)).toBe(true);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a config error under --json carries each problem with its path, message and hint', () => {
    const file = path.join(home, 'two-errors.yaml');
    fs.writeFileSync(file, 'name: Bad_Name\nnetwork:\n  sshCidr: 0.0.0.0/0\n');
    const r = millrace(['validate', '--json', '-c', file]);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { kind: string }; problems: { path: string; message: string; hint?: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.error.kind).toBe('config');
    expect(doc.problems.map((p) => p.path).sort()).toEqual(['name', 'network.sshCidr']);
    expect(doc.problems.find((p) => p.path === 'network.sshCidr')!.message).toMatch(/whole internet/);
  });

  it('down with nothing to destroy says so and exits 0 without asking', () => {
    const file = path.join(home, 'nothing.yaml');
    fs.writeFileSync(file, 'name: nothing\ntarget: local\n');
    const r = millrace(['down', '-c', file]);
    expect(r.stderr).not.toMatch(/refusing/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cluster "nothing": nothing to remove/);
  });

  it('MILLRACE_DEBUG=0, empty or false does not turn debug on; 1 does', () => {
    const file = path.join(home, 'bad-name.yaml');
    fs.writeFileSync(file, 'name: Bad_Name\n');
    for (const off of ['0', '', 'false', 'no', 'off']) {
      const r = millrace(['validate', '-c', file], { MILLRACE_DEBUG: off });
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr).not.toMatch(/"level":20/);
    }
    const on = millrace(['validate', '-c', file], { MILLRACE_DEBUG: '1' });
    expect(on.code).toBe(2);
    expect(on.stderr).toMatch(/^\s+at /m);
    expect(on.stderr).toMatch(/^\{"level":20,.*"msg":"millrace starting"\}$/m);
  });

  it('an unwritable MILLRACE_HOME is a usage error naming the path (run as an unprivileged user)', () => {
    const ro = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-ro-'));
    fs.chmodSync(ro, 0o555);
    try {
      // root writes anywhere: drop to nobody for this one, as the harness does for `up` without root.
      const args = [process.execPath, MAIN, 'synth', '-c', AWS];
      const [cmd, argv] = process.getuid?.() === 0 ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...args]] : [args[0]!, args.slice(1)];
      const r = spawnSync(cmd, argv, { cwd: ro, env: { PATH: process.env.PATH, HOME: ro, MILLRACE_HOME: path.join(ro, 'home') }, encoding: 'utf8' });
      expect(r.stderr).toMatch(new RegExp(`^error: ${ro}/home/\\S*: permission denied \\(mkdir\\)\nhint: check the path`));
      expect(r.status).toBe(2);
      expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    } finally {
      fs.rmSync(ro, { recursive: true, force: true });
    }
  });

  it('MILLRACE_CONFIG sets the default of -c, and -c wins over it', () => {
    const r = millrace(['validate'], { MILLRACE_CONFIG: AWS });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: cluster "millrace-aws", target aws/);
    const c = millrace(['validate', '-c', LOCAL], { MILLRACE_CONFIG: AWS });
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^ok: cluster "local", target local/);
  });
});
