/** Commands that create, bootstrap and destroy a cluster: synth, plan, up, down. */
import * as readline from 'node:readline/promises';
import { Command, Option } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { UsageError } from '../../lib/errors';
import { logger } from '../../lib/logger';
import { clusterStateDir } from '../../lib/paths';
import { clusterSshKey } from '../../targets/ssh-key';
import { targetFor } from '../../targets/target';
import { bootstrap, describeOutcome } from '../bootstrap';
import { configFor, globals, output } from '../context';
import * as path from 'node:path';

const targetOption = (): Option => new Option('-t, --target <target>', 'where the nodes come from (overrides the config)').choices(['aws', 'static', 'local']);

export function registerInfra(program: Command): void {
  program
    .command('synth')
    .description('write the AWS stack as Terraform JSON (works for any target; nothing is applied)')
    .option('-o, --out <dir>', 'output directory (default: <state dir>/synth)')
    .action(async function (this: Command, opts: { out?: string }) {
      const config = configFor(this);
      const out = path.resolve(opts.out ?? path.join(clusterStateDir(config.name), 'synth'));
      const { synthClusterStack } = await import('../../stacks');
      const result = synthClusterStack(config, out, publicKeyOf(config));
      output(this, `wrote ${result.file}\nnext: \`millrace plan --target aws\` or \`terraform -chdir=${result.stackDir} plan\``, result);
    });

  program
    .command('plan')
    .description('show what `up --target aws` would create (terraform/tofu plan)')
    .addOption(targetOption())
    .action(async function (this: Command) {
      const config = configFor(this);
      const target = await targetFor(config);
      if (!target.plan) throw new UsageError(`plan works with the aws target (this config's target is ${config.target})`, { hint: 'pass --target aws' });
      await target.plan();
    });

  program
    .command('up')
    .description('create the nodes for the target, then bootstrap Kafka, HDFS and Spark on them over SSH')
    .addOption(targetOption())
    .option('--infra-only', 'create the nodes but do not bootstrap them')
    .addHelpText('after', '\nA second `up` on a healthy cluster changes nothing and restarts nothing.')
    .action(async function (this: Command, opts: { infraOnly?: boolean }) {
      const config = configFor(this);
      const started = Date.now();
      const target = await targetFor(config);
      await target.checkPrerequisites();
      const inventory = await target.createNodes((m) => logger().info({ target: target.name }, m));
      if (opts.infraOnly) {
        output(this, `${inventory.nodes.length} nodes ready (not bootstrapped)`, { inventory });
        return;
      }
      const outcomes = await bootstrap(config, inventory, { json: !!globals(this).json });
      const summary = describeOutcome(outcomes);
      output(this, `${summary.text}\ncluster "${config.name}" is up in ${Math.round((Date.now() - started) / 1000)}s; check it with \`millrace status\``, {
        cluster: config.name,
        target: config.target,
        changed: summary.changed,
        seconds: (Date.now() - started) / 1000,
        nodes: outcomes,
      });
    });

  program
    .command('down')
    .description('destroy everything `up` created for the target (asks first unless --yes)')
    .addOption(targetOption())
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async function (this: Command, opts: { yes?: boolean }) {
      const config = configFor(this);
      const target = await targetFor(config);
      if (!target.capabilities.ownsNodes) await target.deleteNodes(() => undefined);
      await target.checkPrerequisites();
      const present = (await target.listNodes()).filter((n) => n.state !== 'absent');
      if (present.length > 0 && !opts.yes && !(await confirm(`Destroy cluster "${config.name}" (${target.describe()}: ${present.map((n) => n.name).join(', ')}) and its data?`)))
        throw new UsageError(`not confirmed: cluster "${config.name}" was left as it is`, { hint: 'answer "y" to destroy it, or pass --yes' });
      const removed = await target.deleteNodes((m) => logger().info({ target: target.name }, m));
      output(this, removed.length ? `cluster "${config.name}" destroyed: removed ${removed.join(', ')}` : `cluster "${config.name}": nothing to remove`, {
        cluster: config.name,
        destroyed: true,
        removed,
      });
    });
}

function publicKeyOf(config: ClusterConfig): string {
  return clusterSshKey(config).publicKey;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('refusing to destroy without confirmation', { hint: 'pass --yes to confirm non-interactively' });
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
