/**
 * checkov (pinned in stacks/checkov-requirements.txt, installed by scripts/setup.sh into
 * .venv-checkov) on the synthesized stack of examples/aws.yaml, and of the same config with every
 * aws option on. Every failing check must be in stacks/checkov-allowlist.yaml with a reason, and
 * every allowlisted check must still fail: the list can neither hide a new finding nor go stale.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { parseConfigText } from '../../../lib/config';
import { Json, resources, synth } from './stack-fixture';

const REPO = path.resolve(__dirname, '../../..');
const CHECKOV = path.join(REPO, '.venv-checkov', 'bin', 'checkov');
const PINNED = /^checkov==(\S+)$/m.exec(fs.readFileSync(path.join(REPO, 'stacks', 'checkov-requirements.txt'), 'utf8'))![1]!;
const EXAMPLE = fs.readFileSync(path.join(REPO, 'examples', 'aws.yaml'), 'utf8');
/** The aws options an allowlist entry's `unless` may name, and the YAML that turns each on. */
const OPTIONS: Record<string, string> = { flowLogs: '  flowLogs: true\n', bastion: '  bastion: true\n' };

interface AllowEntry {
  id: string;
  resource: string;
  unless?: string;
  /** An aws option the check fails only with: it must not fail without it, and must fail with it. */
  when?: string;
  reason: string;
}
interface Failure {
  id: string;
  /** "<type>.<name>": the resource the check failed on, its type read from the stack. */
  resource: string;
}

const allowlist = (YAML.parse(fs.readFileSync(path.join(REPO, 'stacks', 'checkov-allowlist.yaml'), 'utf8')) as { checks: AllowEntry[] }).checks;

/** examples/aws.yaml with the given options added under its aws: section. */
function exampleWith(options: string[]): string {
  const extra = options.map((o) => OPTIONS[o]!).join('');
  if (!/^aws:\n/m.test(EXAMPLE)) throw new Error('examples/aws.yaml has no aws: section to add options to');
  return EXAMPLE.replace(/^aws:\n/m, `aws:\n${extra}`);
}

function runCheckov(yaml: string, label: string): { failures: Failure[]; passed: number; doc: Json } {
  if (!fs.existsSync(CHECKOV))
    throw new Error(`checkov is not installed at ${CHECKOV}: run scripts/setup.sh (it installs stacks/checkov-requirements.txt into .venv-checkov)`);
  const { doc } = synth(parseConfigText(yaml, label));
  // checkov's terraform_json parser (3.3.30) fails on the top-level "terraform" block (a string
  // required_version: "this method receives only dicts") and then checks nothing. That block holds
  // only the backend and the version pins, which no checkov check looks at; the resources stay.
  const { terraform: _versions, ...checked } = doc;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-checkov-'));
  try {
    const file = path.join(dir, 'cdk.tf.json');
    fs.writeFileSync(file, JSON.stringify(checked));
    // --skip-download: no call to Prisma Cloud for guideline links (and no network needed).
    const r = spawnSync(CHECKOV, ['-f', file, '--framework', 'terraform_json', '--skip-download', '--compact', '--quiet', '-o', 'json'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    // Exit code 1 means "some check failed", which the allowlist decides about.
    if (r.status !== 0 && r.status !== 1) throw new Error(`checkov exited ${r.status ?? r.signal}: ${(r.stderr ?? '').slice(-2000)}`);
    const out = JSON.parse(r.stdout) as Json;
    const report = Array.isArray(out) ? out.find((x: Json) => x.check_type === 'terraform_json') : out;
    expect(report.summary.checkov_version).toBe(PINNED);
    expect(report.summary.parsing_errors).toBe(0);
    const typeOf = (name: string): string =>
      Object.keys(doc.resource).find((type) => resources(doc, type)[name] !== undefined) ?? `unknown resource ${name}`;
    const failures = (report.results.failed_checks as Json[]).map((c) => {
      const name = String(c.resource).split('.').pop()!;
      return { id: c.check_id as string, resource: `${typeOf(name)}.${name}` };
    });
    return { failures, passed: report.summary.passed, doc };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const text = (f: Failure): string => `${f.id} on ${f.resource}`;

describe('checkov on the synthesized AWS stack', () => {
  it(`is the pinned version (${PINNED}), and the allowlist gives a reason and a resource type for every entry`, () => {
    const r = spawnSync(CHECKOV, ['--version'], { encoding: 'utf8' });
    expect(`${r.error ? `checkov missing (${CHECKOV}): run scripts/setup.sh` : r.stdout.trim()}`).toBe(PINNED);
    for (const e of allowlist) {
      expect([e.id, e.reason.length > 40, /^aws_[a-z_]+$/.test(e.resource)]).toEqual([e.id, true, true]);
      if (e.unless) expect(Object.keys(OPTIONS)).toContain(e.unless);
      if (e.when) expect(Object.keys(OPTIONS)).toContain(e.when);
      expect(!!(e.unless && e.when)).toBe(false);
    }
    expect(new Set(allowlist.map((e) => e.id)).size).toBe(allowlist.length);
  });

  const base = (() => {
    let cached: ReturnType<typeof runCheckov> | undefined;
    return () => (cached ??= runCheckov(EXAMPLE, 'examples/aws.yaml'));
  })();
  const allOn = (() => {
    let cached: ReturnType<typeof runCheckov> | undefined;
    return () => (cached ??= runCheckov(exampleWith(Object.keys(OPTIONS)), 'examples/aws.yaml + every aws option'));
  })();

  it('examples/aws.yaml: every failing check is allowlisted for its resource type', () => {
    const { failures, passed } = base();
    expect(passed).toBeGreaterThan(100);
    const unexpected = failures.filter((f) => !allowlist.some((e) => !e.when && e.id === f.id && f.resource.startsWith(`${e.resource}.`)));
    expect(unexpected.map(text)).toEqual([]);
  });

  it('examples/aws.yaml: every allowlisted check still fails (no stale entry)', () => {
    const { failures } = base();
    const stale = allowlist.filter((e) => !e.when && !failures.some((f) => f.id === e.id));
    expect(stale.map((e) => e.id)).toEqual([]);
  });

  it('with every aws option on: only the entries no option fixes fail, and each still does', () => {
    const { failures, doc } = allOn();
    expect(Object.keys(resources(doc, 'aws_flow_log'))).toEqual(['flow-log']);
    expect(Object.keys(resources(doc, 'aws_nat_gateway'))).toEqual(['nat-gateway']);
    // Public IPs (CKV_AWS_88) only where the allowlist says: the bastion and the kafka nodes.
    const publicIps = failures.filter((f) => f.id === 'CKV_AWS_88').map((f) => f.resource).sort();
    const kafka = Object.entries(resources(doc, 'aws_instance')).filter(([, i]) => i.tags['millrace:role'].split('+').includes('kafka'));
    expect(publicIps).toEqual(['aws_instance.bastion-host', ...kafka.map(([name]) => `aws_instance.${name}`)].sort());
    const fixed = allowlist.filter((e) => e.unless);
    expect(failures.filter((f) => fixed.some((e) => e.id === f.id)).map(text)).toEqual([]);
    const unexpected = failures.filter((f) => !allowlist.some((e) => !e.unless && e.id === f.id && f.resource.startsWith(`${e.resource}.`)));
    expect(unexpected.map(text)).toEqual([]);
    const stale = allowlist.filter((e) => !e.unless && !failures.some((f) => f.id === e.id));
    expect(stale.map((e) => e.id)).toEqual([]);
  });
});
