/**
 * The aws target: synthesize the CDKTF stack, then let terraform (or tofu) plan, apply or
 * destroy it in the synth directory, and read the nodes back from its outputs. Like terraform
 * itself, `up` shows what it will change and asks first (unless --yes), and a plan saved with
 * `plan -o FILE` is applied exactly with `up --plan FILE`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tty from 'node:tty';
import type { ClusterConfig } from '../../lib/config';
import { MillraceError, UsageError } from '../../lib/errors';
import { Inventory, inventoryPath, readInventory, removeInventory, writeInventory } from '../../lib/inventory';
import { logger } from '../../lib/logger';
import { sleep } from '../../lib/retry';
import { clusterStateDir } from '../../lib/paths';
import { synthClusterStack } from '../../stacks';
import { clusterSshKey } from '../ssh-key';
import type { DeleteResult, NodeState, Report, Target, TargetCapabilities, UpOptions } from '../target';
import { inventoryFromOutputs } from './outputs';
import { planSummary, type PlanSummary } from './plan-summary';
import type { Leftovers } from './sdk';
import { findTerraform, runTerraform, TerraformBinary } from './terraform';

export { inventoryFromOutputs } from './outputs';
export { findTerraform, runTerraform, TERRAFORM_INSTALL_HINT } from './terraform';
export type { TerraformBinary, TerraformRunOptions } from './terraform';
export type { PlanSummary } from './plan-summary';

export interface AwsOptions {
  publicKey: string;
  /** Where terraform's output streams; stderr unless a caller (a test) wants it. */
  stream?: NodeJS.WritableStream;
}

export interface AwsUpOptions extends AwsOptions {
  /** Apply without asking. */
  yes?: boolean;
  /** Asked with the plan's summary when not `yes`; false leaves everything as it is. */
  confirm?: (summary: PlanSummary) => Promise<boolean>;
  /** A plan saved by `plan -o`: applied exactly, with no new plan and no question. */
  planFile?: string;
  /** Runs after the confirmation, before terraform applies anything (see UpOptions). */
  beforeChanges?: () => Promise<void>;
}

export interface AwsDownOptions extends AwsOptions {
  yes: boolean;
  confirm: () => Promise<boolean>;
  /** Reads what the account still holds afterwards; the AWS APIs unless a test stands in for them. */
  leftovers?: (region: string, cluster: string, kmsKeyArn?: string) => Promise<Leftovers>;
  /** How long to wait for leftovers to go before naming them (default 5 minutes). */
  settleMs?: number;
}

/** `millrace synth` writes here too, so `terraform -chdir=<stackDir> …` works on what `up` applied. */
export function awsSynthDir(config: ClusterConfig): string {
  return path.join(clusterStateDir(config.name), 'synth');
}

interface Prepared {
  bin: TerraformBinary;
  stackDir: string;
  sink: NodeJS.WritableStream;
  /** Colour codes only help a terminal; in a log or a pipe they are noise. */
  color: string[];
}

async function prepare(config: ClusterConfig, opts: AwsOptions): Promise<Prepared> {
  // Find the binary before writing anything, so a missing one fails fast and leaves no trace.
  const bin = findTerraform();
  const { stackDir, file } = synthClusterStack(config, awsSynthDir(config), opts.publicKey);
  logger().child({ target: 'aws', step: 'synth' }).info(`wrote ${file}`);
  const sink = opts.stream ?? process.stderr;
  const color = sink instanceof tty.WriteStream && sink.isTTY ? [] : ['-no-color'];
  await runTerraform(bin, ['init', '-input=false', ...color], {
    cwd: stackDir,
    sink,
    hint: `${bin.name} init must download the AWS provider: check network access to its registry, or set TF_CLI_CONFIG_FILE to a CLI config with a provider mirror (see the README)`,
  });
  return { bin, stackDir, sink, color };
}

/** Runs `plan -out` and reads the plan back as a summary. */
async function savePlan(p: Prepared, file: string): Promise<PlanSummary> {
  await runTerraform(p.bin, ['plan', '-input=false', `-out=${file}`, ...p.color], {
    cwd: p.stackDir,
    sink: p.sink,
    hint: 'fix the cause above and run the command again',
  });
  return showPlan(p, file);
}

async function showPlan(p: Prepared, file: string): Promise<PlanSummary> {
  const json = await runTerraform(p.bin, ['show', '-json', file], { cwd: p.stackDir, sink: p.sink, capture: true, hint: `${file} is not a plan ${p.bin.name} can read` });
  return planSummary(json);
}

/** `plan`: shows what `up` would change; with `out`, saves the plan for `up --plan`. */
export async function planAws(config: ClusterConfig, opts: AwsOptions & { out?: string }): Promise<PlanSummary> {
  const p = await prepare(config, opts);
  if (!opts.out) {
    const tmp = path.join(p.stackDir, 'preview.tfplan');
    try {
      return await savePlan(p, tmp);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const out = path.resolve(opts.out);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const summary = await savePlan(p, out);
  // A plan file can hold values of the state; keep it as private as the state itself.
  fs.chmodSync(out, 0o600);
  return summary;
}

/** Creates (or updates) the cluster's AWS resources and returns, and saves, its inventory. */
export async function upAws(config: ClusterConfig, opts: AwsUpOptions): Promise<Inventory> {
  const p = await prepare(config, opts);
  const log = logger().child({ target: 'aws', step: 'apply' });
  let planFile: string;
  let transient = false;
  if (opts.planFile) {
    planFile = path.resolve(opts.planFile);
    if (!fs.existsSync(planFile)) throw new UsageError(`no plan file at ${planFile}`, { hint: 'save one with `millrace plan --target aws -o FILE`' });
  } else {
    planFile = path.join(p.stackDir, 'up.tfplan');
    transient = true;
    const summary = await savePlan(p, planFile);
    log.info({ plan: summary }, summary.text);
    if (summary.changes > 0 && !opts.yes) {
      const ok = opts.confirm ? await opts.confirm(summary) : false;
      if (!ok) {
        fs.rmSync(planFile, { force: true });
        throw new UsageError(`not applied: cluster "${config.name}" was left as it is`, {
          hint: 'answer "y" to apply, pass --yes, or save the plan with `millrace plan --target aws -o FILE`, review it, and apply it with `millrace up --plan FILE`',
        });
      }
    }
  }
  try {
    await opts.beforeChanges?.();
    await runTerraform(p.bin, ['apply', '-input=false', ...p.color, planFile], {
      cwd: p.stackDir,
      sink: p.sink,
      hint: opts.planFile
        ? 'a saved plan applies only to the state it was made from; make a new one with `millrace plan --target aws -o FILE`'
        : 'fix the cause above and run `millrace up --target aws` again: what was already created is in the Terraform state, so the next run carries on from there',
    });
  } finally {
    if (transient) fs.rmSync(planFile, { force: true });
  }
  const json = await runTerraform(p.bin, ['output', '-json'], {
    cwd: p.stackDir,
    sink: p.sink,
    capture: true,
    hint: 'run `millrace up --target aws` again',
  });
  const inventory = inventoryFromOutputs(config, json, clusterSshKey(config).privateKeyPath);
  const file = writeInventory(inventory);
  logger().child({ target: 'aws', step: 'inventory' }).info(`wrote ${file} (${inventory.nodes.length} nodes)`);
  return inventory;
}

function localStateFile(config: ClusterConfig): string | undefined {
  return config.aws.state.backend === 'local' ? path.join(clusterStateDir(config.name), 'terraform.tfstate') : undefined;
}

export interface DownReport {
  destroyed: boolean;
  /** What the account still holds of the cluster afterwards (normally only the KMS key, pending deletion). */
  left: string[];
}

/** Destroys every AWS resource of the cluster, after confirmation unless `yes`, then looks for what is left. */
export async function downAws(config: ClusterConfig, opts: AwsDownOptions): Promise<DownReport> {
  if (!opts.yes && !(await opts.confirm()))
    throw new MillraceError(`not confirmed: cluster "${config.name}" was left as it is`, { hint: 'answer "y" to destroy it, or pass --yes' });
  const stateFile = localStateFile(config);
  if (stateFile && !fs.existsSync(stateFile)) {
    // Nothing was ever applied here; skip init, which would download the provider for nothing.
    logger().child({ target: 'aws', step: 'destroy' }).info(`no Terraform state at ${stateFile}: nothing to destroy`);
    removeInventory(config.name);
    return { destroyed: false, left: [] };
  }
  const p = await prepare(config, opts);
  const before = await runTerraform(p.bin, ['output', '-json'], { cwd: p.stackDir, sink: p.sink, capture: true, hint: 'run `millrace down --target aws` again' }).catch(() => '{}');
  const kmsKeyArn = (JSON.parse(before || '{}') as { kms_key_arn?: { value?: string } }).kms_key_arn?.value;
  await runTerraform(p.bin, ['destroy', '-input=false', '-auto-approve', ...p.color], {
    cwd: p.stackDir,
    sink: p.sink,
    hint: 'fix the cause above and run `millrace down --target aws` again: what is not yet destroyed is still in the Terraform state',
  });
  removeInventory(config.name);
  const findLeftovers = opts.leftovers ?? (await import('./sdk')).findLeftovers;
  // terraform waits for what it deletes; EC2 may still list an instance as shutting-down for a while.
  const deadline = Date.now() + (opts.settleMs ?? 300_000);
  let found: Leftovers;
  let left: string[];
  for (;;) {
    found = await findLeftovers(config.aws.region, config.name, kmsKeyArn);
    left = [
      ...found.instances.map((i) => `instance ${i}`),
      ...found.volumes.map((v) => `volume ${v}`),
      ...found.securityGroups.map((g) => `security group ${g}`),
      ...found.vpcs.map((v) => `VPC ${v}`),
    ];
    if (left.length === 0 || Date.now() >= deadline) break;
    logger().child({ target: 'aws', step: 'destroy' }).info(`waiting for ${left.join(', ')} to go`);
    await sleep(5000);
  }
  if (left.length)
    throw new MillraceError(`${config.name}: terraform destroyed the stack, but the account still holds: ${left.join(', ')}`, {
      hint: 'they carry the tag millrace:cluster; look at them in the AWS console, and run `millrace down --target aws` again',
    });
  const key = found.kmsKey;
  return {
    destroyed: true,
    left:
      key && key.state !== 'Enabled'
        ? [`KMS key ${key.id}: ${key.state === 'PendingDeletion' && key.deletionDate ? `pending deletion until ${key.deletionDate.toISOString()} (AWS keeps a deleted key for its deletion window)` : key.state}`]
        : key
          ? [`KMS key ${key.id}: still enabled`]
          : [],
  };
}

/** EC2 instances from the CDKTF stack, applied by terraform or tofu. */
export class AwsTarget implements Target {
  readonly name = 'aws' as const;
  readonly capabilities: TargetCapabilities = { ownsNodes: true, dataVolume: true, plan: true, needsRootHere: false };

  constructor(
    private readonly config: ClusterConfig,
    private readonly stream?: NodeJS.WritableStream,
  ) {}

  private options(): AwsOptions {
    return { publicKey: clusterSshKey(this.config).publicKey, ...(this.stream ? { stream: this.stream } : {}) };
  }

  /** Before any terraform call: the key pair, the binary, and credentials that work. */
  async checkPrerequisites(): Promise<void> {
    clusterSshKey(this.config);
    findTerraform();
    const { checkCredentials } = await import('./sdk');
    const who = await checkCredentials(this.config.aws.region);
    logger().child({ target: 'aws', step: 'credentials' }).info(`AWS account ${who.account} as ${who.arn}`);
  }

  createNodes(_report: Report, opts: UpOptions = {}): Promise<Inventory> {
    return upAws(this.config, { ...this.options(), ...opts });
  }

  /** From the inventory; with a local state but no inventory (an apply that failed half-way), by name only. */
  async listNodes(): Promise<NodeState[]> {
    if (fs.existsSync(inventoryPath(this.config.name)))
      return readInventory(this.config.name).nodes.map((n) => ({ name: n.name, state: 'unknown', address: n.sshAddress, ...(n.id ? { id: n.id } : {}) }));
    const state = localStateFile(this.config);
    // With the S3 backend only terraform knows; `down` asks it.
    const maybe = state === undefined || fs.existsSync(state);
    return this.config.nodes.map((n) => ({ name: n.name, state: maybe ? 'unknown' : 'absent' }));
  }

  async deleteNodes(_report: Report): Promise<DeleteResult> {
    const removed = (await this.listNodes()).filter((n) => n.state !== 'absent').map((n) => n.name);
    const report = await downAws(this.config, { ...this.options(), yes: true, confirm: async () => true });
    return { removed, left: report.left };
  }

  async plan(out?: string): Promise<PlanSummary> {
    return planAws(this.config, { ...this.options(), ...(out ? { out } : {}) });
  }

  describe(): string {
    return `EC2 instances in ${this.config.aws.region}, from a CDKTF stack applied with terraform or tofu`;
  }
}
