/**
 * The aws target's terraform orchestration, against a stand-in `terraform`/`tofu` on PATH that
 * records its calls and replays canned output. Terraform is the edge here, not the thing under test.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { ClusterConfig, parseConfigText } from '../../../lib/config';
import { MillraceError } from '../../../lib/errors';
import { inventoryPath, readInventory } from '../../../lib/inventory';
import { createLogger, setRootLogger } from '../../../lib/logger';
import { downAws, planAws, upAws } from '../../../targets/aws';
import { CANNED_OUTPUT, installStandin } from '../../fixtures/terraform-standin/install';

/** A real key pair per test (ssh.privateKeyPath must exist and match ssh.publicKey). */
let PUBLIC_KEY: string;

interface Call {
  bin: string;
  args: string[];
  cwd: string;
}

let tmp: string;
let sink: Writable & { text: string };
const savedEnv = { ...process.env };

function collector(onWrite?: (text: string) => void): Writable & { text: string } {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      w.text += chunk.toString();
      onWrite?.(w.text);
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

const bin = (which: 'terraform' | 'tofu' | 'none') => path.join(tmp, `bin-${which}`);
const calls = (): Call[] =>
  fs.existsSync(path.join(tmp, 'calls.jsonl'))
    ? fs.readFileSync(path.join(tmp, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call)
    : [];
const stackDir = () => path.join(tmp, 'home', 'clusters', 'demo', 'synth', 'stacks', 'cluster');

function config(extra = ''): ClusterConfig {
  return parseConfigText(
    `name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\nssh:\n  publicKey: "${PUBLIC_KEY}"\n  privateKeyPath: ${tmp}/id_ed25519\n${extra}`,
    'test.yaml',
  );
}

async function failure(promise: Promise<unknown>): Promise<MillraceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MillraceError) return error;
    throw error;
  }
  throw new Error('expected a MillraceError');
}

beforeAll(() => setRootLogger(createLogger('silent')));

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-aws-'));
  installStandin(bin('terraform'), 'terraform');
  installStandin(bin('tofu'), 'tofu');
  fs.mkdirSync(bin('none'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test@example', '-f', path.join(tmp, 'id_ed25519')]);
  PUBLIC_KEY = fs.readFileSync(path.join(tmp, 'id_ed25519.pub'), 'utf8').trim();
  process.env.MILLRACE_HOME = path.join(tmp, 'home');
  // Only the stand-in is on PATH: a real terraform on this machine must never be reached.
  process.env.PATH = bin('terraform');
  process.env.STANDIN_LOG = path.join(tmp, 'calls.jsonl');
  process.env.STANDIN_OUTPUT = CANNED_OUTPUT;
  delete process.env.MILLRACE_TERRAFORM;
  sink = collector();
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('upAws', () => {
  const upPlan = (): string => path.join(stackDir(), 'up.tfplan');

  it('runs init, plan -out, show -json, applies exactly that plan, then output -json, all in the synth directory', async () => {
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true });
    expect(calls()).toEqual([
      { bin: 'terraform', args: ['init', '-input=false', '-no-color'], cwd: stackDir() },
      { bin: 'terraform', args: ['plan', '-input=false', `-out=${upPlan()}`, '-no-color'], cwd: stackDir() },
      { bin: 'terraform', args: ['show', '-json', upPlan()], cwd: stackDir() },
      { bin: 'terraform', args: ['apply', '-input=false', '-no-color', upPlan()], cwd: stackDir() },
      { bin: 'terraform', args: ['output', '-json'], cwd: stackDir() },
    ]);
    expect(fs.existsSync(path.join(stackDir(), 'cdk.tf.json'))).toBe(true);
    expect(fs.existsSync(upPlan())).toBe(false);
  });

  it("asks with the plan's summary, and applies once confirmed", async () => {
    const confirm = jest.fn(async () => true);
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, confirm });
    expect(confirm).toHaveBeenCalledTimes(1);
    const summary = (confirm.mock.calls[0] as unknown as [{ create: number; changes: number; text: string }])[0];
    expect(summary.create).toBeGreaterThan(20);
    expect(summary.text).toBe(`Plan: ${summary.create} to add, 0 to change, 0 to replace, 0 to destroy.`);
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show', 'apply', 'output']);
  });

  it('applies nothing, and writes no inventory, when not confirmed (or when nobody can be asked)', async () => {
    for (const opts of [{ confirm: async () => false }, {}]) {
      const error = await failure(upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, ...opts }));
      expect(error.message).toBe('not applied: cluster "demo" was left as it is');
      expect(error.exitCode).toBe(2);
      expect(error.hint).toMatch(/millrace up --plan FILE/);
    }
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show', 'init', 'plan', 'show']);
    expect(fs.existsSync(inventoryPath('demo'))).toBe(false);
    expect(fs.existsSync(upPlan())).toBe(false);
  });

  it('runs beforeChanges (where up drains leaving brokers and DataNodes) only once confirmed, after the plan and before apply', async () => {
    const turnedDown = jest.fn(async () => undefined);
    await failure(upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, confirm: async () => false, beforeChanges: turnedDown }));
    expect(turnedDown).not.toHaveBeenCalled();
    fs.rmSync(path.join(tmp, 'calls.jsonl'));
    let seenAtDrain: string[] = [];
    const drain = jest.fn(async () => {
      seenAtDrain = calls().map((c) => c.args[0]!);
    });
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, confirm: async () => true, beforeChanges: drain });
    expect(drain).toHaveBeenCalledTimes(1);
    expect(seenAtDrain).toEqual(['init', 'plan', 'show']);
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show', 'apply', 'output']);
  });

  it('does not apply when beforeChanges fails (a drain refused): the error stands, nothing is created', async () => {
    const refused = new MillraceError('removing broker 2 would leave 1 broker for partitions with more replicas; nothing was changed');
    const error = await failure(upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true, beforeChanges: async () => Promise.reject(refused) }));
    expect(error).toBe(refused);
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show']);
    expect(fs.existsSync(inventoryPath('demo'))).toBe(false);
  });

  it('applies a plan saved by planAws exactly, without a new plan and without asking', async () => {
    const saved = path.join(tmp, 'reviewed.tfplan');
    const summary = await planAws(config(), { publicKey: PUBLIC_KEY, stream: sink, out: saved });
    expect(summary.create).toBeGreaterThan(20);
    expect((fs.statSync(saved).mode & 0o777).toString(8)).toBe('600');
    fs.rmSync(path.join(tmp, 'calls.jsonl'));
    const confirm = jest.fn(async () => false);
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, confirm, planFile: saved });
    expect(confirm).not.toHaveBeenCalled();
    expect(calls().map((c) => c.args)).toEqual([
      ['init', '-input=false', '-no-color'],
      ['apply', '-input=false', '-no-color', saved],
      ['output', '-json'],
    ]);
    expect(fs.existsSync(saved)).toBe(true);
  });

  it('says so when the saved plan is not there', async () => {
    const error = await failure(upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, planFile: path.join(tmp, 'nope.tfplan') }));
    expect(error.message).toBe(`no plan file at ${path.join(tmp, 'nope.tfplan')}`);
    expect(error.exitCode).toBe(2);
  });

  it('parses output -json into the inventory, and saves it', async () => {
    const inventory = await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true });
    const dataVolume = { sizeBytes: 100 * 1024 ** 3, deviceTypes: ['disk'] };
    expect(inventory).toEqual({
      cluster: 'demo',
      target: 'aws',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      nodes: [
        { name: 'kafka-1', roles: ['kafka'], sshAddress: '203.0.113.11', sshPort: 22, sshUser: 'admin', privateKeyPath: `${tmp}/id_ed25519`, privateAddress: '10.42.1.11', publicAddress: '203.0.113.11', id: 'i-0standin00000001', dataVolume },
        { name: 'spark-1', roles: ['spark-master', 'spark-worker'], sshAddress: '203.0.113.12', sshPort: 22, sshUser: 'admin', privateKeyPath: `${tmp}/id_ed25519`, privateAddress: '10.42.1.12', publicAddress: '203.0.113.12', id: 'i-0standin00000002', dataVolume },
        { name: 'hdfs-1', roles: ['namenode', 'datanode', 'kms'], sshAddress: '203.0.113.13', sshPort: 22, sshUser: 'admin', privateKeyPath: `${tmp}/id_ed25519`, privateAddress: '10.42.1.13', publicAddress: '203.0.113.13', id: 'i-0standin00000003', dataVolume },
      ],
    });
    expect(readInventory('demo')).toEqual(inventory);
  });

  it('streams terraform\'s output while it runs, but not the output JSON', async () => {
    // The stand-in's apply waits for this file, which is only written once its first line has
    // arrived here: the run can finish only if output is streamed, not buffered until exit.
    const handshake = path.join(tmp, 'seen-progress');
    process.env.STANDIN_HANDSHAKE = handshake;
    const live = collector((text) => {
      if (text.includes('aws_instance.node-kafka-1: Creating...')) fs.writeFileSync(handshake, '');
    });
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: live, yes: true });
    expect(live.text).toContain('Terraform has been successfully initialized!');
    expect(live.text).toContain('Apply complete! Resources: 3 added');
    expect(live.text).not.toContain('i-0standin');
  });

  it('surfaces terraform\'s own error text when apply fails, and writes no inventory', async () => {
    process.env.STANDIN_FAIL = 'apply';
    const error = await failure(upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true }));
    expect(error.message).toContain(`terraform apply failed (exit code 1) in ${stackDir()}:`);
    expect(error.message).toContain("Error: creating EC2 Instance: operation error EC2: RunInstances");
    expect(error.message).toContain("api error InvalidParameterValue: Invalid value 't3.nano-x' for InstanceType.");
    expect(error.message).toContain('with aws_instance.node-kafka-1,');
    expect(error.message).not.toMatch(/[│╷╵]/);
    expect(error.exitCode).toBe(1);
    expect(error.hint).toMatch(/run `millrace up --target aws` again/);
    expect(sink.text).toContain('│ Error: creating EC2 Instance');
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'plan', 'show', 'apply']);
    expect(fs.existsSync(inventoryPath('demo'))).toBe(false);
  });

  it('logs in as the user the user-data creates, admin on every image family, or the configured one', async () => {
    expect((await upAws(config('aws:\n  amiFamily: ubuntu-24.04\n'), { publicKey: PUBLIC_KEY, stream: sink, yes: true })).nodes[0]!.sshUser).toBe('admin');
    expect((await upAws(config('  user: ops\n'), { publicKey: PUBLIC_KEY, stream: sink, yes: true })).nodes[0]!.sshUser).toBe('ops');
  });
});

describe('finding terraform or tofu', () => {
  it('says neither is installed, and how to install one, when PATH has neither', async () => {
    process.env.PATH = bin('none');
    const error = await failure(upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true }));
    expect(error.message).toBe('neither terraform nor tofu is on PATH; the aws target needs one of them to create the cluster');
    expect(error.hint).toContain('https://developer.hashicorp.com/terraform/install');
    expect(error.hint).toContain('https://opentofu.org/docs/intro/install/');
    expect(error.exitCode).toBe(1);
    expect(fs.existsSync(stackDir())).toBe(false);
  });

  it('uses tofu when only tofu is on PATH', async () => {
    process.env.PATH = [bin('none'), bin('tofu')].join(path.delimiter);
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true });
    expect(calls().map((c) => c.bin)).toEqual(['tofu', 'tofu', 'tofu', 'tofu', 'tofu']);
  });

  it('prefers terraform when both are on PATH', async () => {
    process.env.PATH = [bin('tofu'), bin('terraform')].join(path.delimiter);
    await planAws(config(), { publicKey: PUBLIC_KEY, stream: sink });
    expect(calls().map((c) => c.bin)).toEqual(['terraform', 'terraform', 'terraform']);
  });

  it('uses the binary MILLRACE_TERRAFORM names, by path or by name', async () => {
    process.env.MILLRACE_TERRAFORM = path.join(bin('tofu'), 'tofu');
    await planAws(config(), { publicKey: PUBLIC_KEY, stream: sink });
    process.env.PATH = [bin('terraform'), bin('tofu')].join(path.delimiter);
    process.env.MILLRACE_TERRAFORM = 'tofu';
    await planAws(config(), { publicKey: PUBLIC_KEY, stream: sink });
    expect(calls().map((c) => c.bin)).toEqual(['tofu', 'tofu', 'tofu', 'tofu', 'tofu', 'tofu']);
  });

  it('rejects a MILLRACE_TERRAFORM that is not an executable', async () => {
    process.env.MILLRACE_TERRAFORM = path.join(tmp, 'no-such-terraform');
    const error = await failure(planAws(config(), { publicKey: PUBLIC_KEY, stream: sink }));
    expect(error.message).toBe(`MILLRACE_TERRAFORM is "${path.join(tmp, 'no-such-terraform')}", but that is not an executable file`);
  });
});

describe('planAws', () => {
  it('runs init, plan and show in the synth directory, sums the plan up, and writes no inventory', async () => {
    const preview = path.join(stackDir(), 'preview.tfplan');
    const summary = await planAws(config(), { publicKey: PUBLIC_KEY, stream: sink });
    expect(calls()).toEqual([
      { bin: 'terraform', args: ['init', '-input=false', '-no-color'], cwd: stackDir() },
      { bin: 'terraform', args: ['plan', '-input=false', `-out=${preview}`, '-no-color'], cwd: stackDir() },
      { bin: 'terraform', args: ['show', '-json', preview], cwd: stackDir() },
    ]);
    expect(summary).toMatchObject({ update: 0, replace: 0, destroy: 0, destructive: [] });
    expect(summary.changes).toBe(summary.create);
    expect(fs.existsSync(preview)).toBe(false);
    expect(sink.text).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy\./);
    expect(fs.existsSync(inventoryPath('demo'))).toBe(false);
  });

  it('points at AWS credentials when terraform finds none', async () => {
    process.env.STANDIN_FAIL = 'plan';
    const error = await failure(planAws(config(), { publicKey: PUBLIC_KEY, stream: sink }));
    expect(error.message).toContain('terraform plan failed (exit code 1)');
    expect(error.message).toContain('Error: No valid credential sources found');
    expect(error.hint).toMatch(/AWS_PROFILE/);
  });

  it('explains a failed init', async () => {
    process.env.STANDIN_FAIL = 'init';
    const error = await failure(planAws(config(), { publicKey: PUBLIC_KEY, stream: sink }));
    expect(error.message).toContain('Could not retrieve the list of available versions for provider hashicorp/aws');
    expect(error.hint).toMatch(/TF_CLI_CONFIG_FILE/);
    expect(calls().map((c) => c.args[0])).toEqual(['init']);
  });
});

describe('downAws', () => {
  const PENDING = new Date('2026-12-07T00:00:00.000Z');
  const clean = jest.fn(async () => ({ instances: [], volumes: [], securityGroups: [], vpcs: [], kmsKey: { id: 'key-1', state: 'PendingDeletion', deletionDate: PENDING } }));
  beforeEach(() => clean.mockClear());
  async function upFirst(): Promise<void> {
    await upAws(config(), { publicKey: PUBLIC_KEY, stream: sink, yes: true });
    fs.rmSync(path.join(tmp, 'calls.jsonl'));
  }

  it('with --yes, destroys without asking, removes the inventory, and reports the KMS key waiting out its deletion window', async () => {
    await upFirst();
    const confirm = jest.fn(async () => false);
    const report = await downAws(config(), { yes: true, confirm, publicKey: PUBLIC_KEY, stream: sink, leftovers: clean });
    expect(confirm).not.toHaveBeenCalled();
    expect(calls()).toEqual([
      { bin: 'terraform', args: ['init', '-input=false', '-no-color'], cwd: stackDir() },
      { bin: 'terraform', args: ['output', '-json'], cwd: stackDir() },
      { bin: 'terraform', args: ['destroy', '-input=false', '-auto-approve', '-no-color'], cwd: stackDir() },
    ]);
    // The key's ARN comes from the outputs read before the destroy.
    expect(clean).toHaveBeenLastCalledWith('us-east-1', 'demo', JSON.parse(fs.readFileSync(CANNED_OUTPUT, 'utf8')).kms_key_arn.value);
    expect(report).toEqual({ destroyed: true, left: ['KMS key key-1: pending deletion until 2026-12-07T00:00:00.000Z (AWS keeps a deleted key for its deletion window)'] });
    expect(sink.text).toContain('Destroy complete!');
    expect(fs.existsSync(inventoryPath('demo'))).toBe(false);
  });

  it('asks first, and destroys once confirmed', async () => {
    await upFirst();
    const confirm = jest.fn(async () => true);
    await downAws(config(), { yes: false, confirm, publicKey: PUBLIC_KEY, stream: sink, leftovers: clean });
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(calls().map((c) => c.args[0])).toEqual(['init', 'output', 'destroy']);
  });

  it('waits for an instance that is still shutting down, and reports a clean account once it is gone', async () => {
    await upFirst();
    let polls = 0;
    const settling = async () => (++polls < 2 ? { instances: ['i-0abc (shutting-down)'], volumes: [], securityGroups: [], vpcs: [] } : { instances: [], volumes: [], securityGroups: [], vpcs: [] });
    const report = await downAws(config(), { yes: true, confirm: async () => true, publicKey: PUBLIC_KEY, stream: sink, leftovers: settling });
    expect(polls).toBe(2);
    expect(report).toEqual({ destroyed: true, left: [] });
  }, 20_000);

  it('names whatever the account still holds of the cluster after the destroy', async () => {
    await upFirst();
    const dirty = async () => ({ instances: ['i-0abc (shutting-down)'], volumes: [], securityGroups: ['sg-1 (demo-kafka)'], vpcs: [] });
    const error = await failure(downAws(config(), { yes: true, confirm: async () => true, publicKey: PUBLIC_KEY, stream: sink, leftovers: dirty, settleMs: 0 }));
    expect(error.message).toBe('demo: terraform destroyed the stack, but the account still holds: instance i-0abc (shutting-down), security group sg-1 (demo-kafka)');
    expect(error.hint).toMatch(/millrace:cluster/);
  });

  it('destroys nothing when not confirmed', async () => {
    await upFirst();
    const error = await failure(downAws(config(), { yes: false, confirm: async () => false, publicKey: PUBLIC_KEY, stream: sink, leftovers: clean }));
    expect(error.message).toBe('not confirmed: cluster "demo" was left as it is');
    expect(calls()).toEqual([]);
    expect(fs.existsSync(inventoryPath('demo'))).toBe(true);
  });

  it('runs no terraform when nothing was ever applied', async () => {
    process.env.PATH = bin('none');
    await downAws(config(), { yes: true, confirm: async () => true, publicKey: PUBLIC_KEY, stream: sink, leftovers: clean });
    expect(calls()).toEqual([]);
  });

  it('surfaces a failed destroy and keeps the inventory', async () => {
    await upFirst();
    process.env.STANDIN_FAIL = 'destroy';
    const error = await failure(downAws(config(), { yes: true, confirm: async () => true, publicKey: PUBLIC_KEY, stream: sink, leftovers: clean }));
    expect(error.message).toContain('terraform destroy failed (exit code 1)');
    expect(clean).not.toHaveBeenCalledWith('us-east-1', 'demo', expect.anything());
    expect(error.message).toContain('Error: deleting EC2 Instance (i-0standin00000001): UnauthorizedOperation');
    expect(error.hint).toMatch(/millrace down --target aws/);
    expect(fs.existsSync(inventoryPath('demo'))).toBe(true);
  });
});
