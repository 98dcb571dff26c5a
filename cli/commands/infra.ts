/** Commands that create, bootstrap and destroy a cluster: synth, plan, up, down. */
import * as readline from 'node:readline/promises';
import { Command, Option } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { UsageError } from '../../lib/errors';
import type { Inventory } from '../../lib/inventory';
import { logger } from '../../lib/logger';
import { clusterStateDir } from '../../lib/paths';
import { downLocal, upLocal } from '../../targets/local';
import { upStatic } from '../../targets/static';
import { clusterSshKey } from '../../targets/ssh-key';
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
      if (config.target !== 'aws') throw new UsageError(`plan works with the aws target (this config's target is ${config.target})`, { hint: 'pass --target aws' });
      const { planAws } = await import('../../targets/aws');
      await planAws(config, { publicKey: publicKeyOf(config) });
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
      const inventory = await createNodes(config);
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
      if (config.target === 'aws') {
        const { downAws } = await import('../../targets/aws');
        await downAws(config, { yes: !!opts.yes, confirm: () => confirm(`Destroy every AWS resource of cluster "${config.name}"?`), publicKey: publicKeyOf(config) });
        output(this, `cluster "${config.name}" destroyed`, { cluster: config.name, destroyed: true });
      } else if (config.target === 'local') {
        const removed = await downLocal(config.name, (m) => logger().info(m));
        output(this, removed.length ? `stopped and removed ${removed.join(', ')}` : 'no local nodes to remove', { cluster: config.name, removed });
      } else {
        throw new UsageError('the static target does not own its hosts, so `down` has nothing to destroy', {
          hint: 'stop the services yourself with `millrace exec all -- systemctl stop "millrace-*"`',
        });
      }
    });
}

async function createNodes(config: ClusterConfig): Promise<Inventory> {
  switch (config.target) {
    case 'aws': {
      // Loaded on demand: cdktf is heavy, and only the aws target needs it.
      const { upAws } = await import('../../targets/aws');
      return upAws(config, { publicKey: publicKeyOf(config) });
    }
    case 'static':
      return upStatic(config);
    case 'local':
      return upLocal(config, (m) => logger().info(m));
  }
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
