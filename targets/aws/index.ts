/**
 * The aws target: synthesize the CDKTF stack, then let terraform (or tofu) plan, apply or
 * destroy it in the synth directory, and read the nodes back from its outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tty from 'node:tty';
import type { ClusterConfig } from '../../lib/config';
import { MillraceError } from '../../lib/errors';
import { Inventory, inventoryPath, readInventory, removeInventory, writeInventory } from '../../lib/inventory';
import { logger } from '../../lib/logger';
import { clusterStateDir } from '../../lib/paths';
import { synthClusterStack } from '../../stacks';
import { clusterSshKey } from '../ssh-key';
import type { NodeState, Report, Target, TargetCapabilities } from '../target';
import { inventoryFromOutputs } from './outputs';
import { findTerraform, runTerraform, TerraformBinary } from './terraform';

export { inventoryFromOutputs } from './outputs';
export { findTerraform, runTerraform, TERRAFORM_INSTALL_HINT } from './terraform';
export type { TerraformBinary, TerraformRunOptions } from './terraform';

export interface AwsOptions {
  publicKey: string;
  /** Where terraform's output streams; stderr unless a caller (a test) wants it. */
  stream?: NodeJS.WritableStream;
}

export interface AwsDownOptions extends AwsOptions {
  yes: boolean;
  confirm: () => Promise<boolean>;
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
    hint: `${bin.name} init must download the AWS provider: check network access to its registry, or set TF_CLI_CONFIG_FILE to a CLI config with a provider mirror`,
  });
  return { bin, stackDir, sink, color };
}

export async function planAws(config: ClusterConfig, opts: AwsOptions): Promise<void> {
  const p = await prepare(config, opts);
  await runTerraform(p.bin, ['plan', '-input=false', ...p.color], {
    cwd: p.stackDir,
    sink: p.sink,
    hint: 'fix the cause above and run `millrace plan --target aws` again',
  });
}

/** Creates (or updates) the cluster's AWS resources and returns, and saves, its inventory. */
export async function upAws(config: ClusterConfig, opts: AwsOptions): Promise<Inventory> {
  const p = await prepare(config, opts);
  await runTerraform(p.bin, ['apply', '-input=false', '-auto-approve', ...p.color], {
    cwd: p.stackDir,
    sink: p.sink,
    hint: 'fix the cause above and run `millrace up --target aws` again: what was already created is in the Terraform state, so the next run carries on from there',
  });
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

/** Destroys every AWS resource of the cluster, after confirmation unless `yes`. */
export async function downAws(config: ClusterConfig, opts: AwsDownOptions): Promise<void> {
  if (!opts.yes && !(await opts.confirm()))
    throw new MillraceError(`not confirmed: cluster "${config.name}" was left as it is`, { hint: 'answer "y" to destroy it, or pass --yes' });
  const stateFile = localStateFile(config);
  if (stateFile && !fs.existsSync(stateFile)) {
    // Nothing was ever applied here; skip init, which would download the provider for nothing.
    logger().child({ target: 'aws', step: 'destroy' }).info(`no Terraform state at ${stateFile}: nothing to destroy`);
    removeInventory(config.name);
    return;
  }
  const p = await prepare(config, opts);
  await runTerraform(p.bin, ['destroy', '-input=false', '-auto-approve', ...p.color], {
    cwd: p.stackDir,
    sink: p.sink,
    hint: 'fix the cause above and run `millrace down --target aws` again: what is not yet destroyed is still in the Terraform state',
  });
  removeInventory(config.name);
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

  async checkPrerequisites(): Promise<void> {
    findTerraform();
  }

  createNodes(_report: Report): Promise<Inventory> {
    return upAws(this.config, this.options());
  }

  async listNodes(): Promise<NodeState[]> {
    if (!fs.existsSync(inventoryPath(this.config.name))) return this.config.nodes.map((n) => ({ name: n.name, state: 'absent' }));
    return readInventory(this.config.name).nodes.map((n) => ({ name: n.name, state: 'unknown', address: n.sshAddress, ...(n.id ? { id: n.id } : {}) }));
  }

  async deleteNodes(_report: Report): Promise<string[]> {
    const names = (await this.listNodes()).filter((n) => n.state !== 'absent').map((n) => n.name);
    await downAws(this.config, { ...this.options(), yes: true, confirm: async () => true });
    return names;
  }

  plan(): Promise<void> {
    return planAws(this.config, this.options());
  }

  describe(): string {
    return `EC2 instances in ${this.config.aws.region}, from a CDKTF stack applied with terraform or tofu`;
  }
}
