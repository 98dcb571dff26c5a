/** Commands that create, bootstrap and destroy a cluster: synth, plan, up, down. */
import * as readline from 'node:readline/promises';
import { Command, Option } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { UsageError } from '../../lib/errors';
import { logger } from '../../lib/logger';
import { Inventory, inventoryPath, readInventory } from '../../lib/inventory';
import { checkInputFile, checkOutputDir, checkOutputFile, clusterStateDir } from '../../lib/paths';
import * as fs from 'node:fs';
import { clusterSshKey } from '../../targets/ssh-key';
import { targetFor } from '../../targets/target';
import { bootstrap, describeOutcome, describeStale, finishRemovals, prepareRemovals, type Removals } from '../bootstrap';
import { ensureKafkaIdentities } from '../../provisioning/kafka-identities';
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
      const out = opts.out ? checkOutputDir(opts.out, `synth -o ${path.resolve(opts.out)}`) : path.join(clusterStateDir(config.name), 'synth');
      const { synthClusterStack } = await import('../../stacks');
      const result = synthClusterStack(config, out, publicKeyOf(config));
      output(this, `wrote ${result.file}\nnext: \`millrace plan --target aws\` or \`terraform -chdir=${result.stackDir} plan\``, result);
    });

  program
    .command('plan')
    .description('show what `up --target aws` would create, change or destroy (terraform/tofu plan); -o saves it for `up --plan`')
    .addOption(targetOption())
    .option('-o, --out <file>', 'save the plan to this file; `millrace up --plan <file>` applies exactly it')
    .action(async function (this: Command, opts: { out?: string }) {
      const config = configFor(this);
      if (opts.out) checkOutputFile(opts.out, `plan -o ${path.resolve(opts.out)}`, { overwrite: true });
      const target = await targetFor(config);
      if (!target.plan) throw new UsageError(`plan works with the aws target (this config's target is ${config.target})`, { hint: 'pass --target aws' });
      await target.checkPrerequisites();
      const summary = await target.plan(opts.out);
      const saved = opts.out ? path.resolve(opts.out) : undefined;
      output(this, `${summary.text}${saved ? `\nsaved to ${saved}; apply exactly this plan with \`millrace up --target aws --plan ${saved}\`` : ''}`, { ...summary, ...(saved ? { planFile: saved } : {}) });
    });

  program
    .command('up')
    .description('create the nodes for the target, then bootstrap Kafka, HDFS and Spark on them over SSH')
    .addOption(targetOption())
    .option('--infra-only', 'create the nodes but do not bootstrap them; prints the inventory the provisioner would get')
    .option('-y, --yes', 'aws: apply the plan without asking')
    .option('--plan <file>', 'aws: apply exactly this plan, saved by `millrace plan -o <file>`')
    .addHelpText(
      'after',
      '\nOn aws, `up` shows the plan\'s summary and asks before it creates, changes or destroys anything,\nunless --yes (or --plan, which applies a plan you saved and reviewed).\nA second `up` on a healthy cluster changes nothing and restarts nothing.',
    )
    .action(async function (this: Command, opts: { infraOnly?: boolean; yes?: boolean; plan?: string }) {
      const config = configFor(this);
      if (opts.plan) checkInputFile(opts.plan, `up --plan ${path.resolve(opts.plan)}`);
      const started = Date.now();
      const target = await targetFor(config);
      if (opts.plan && !target.capabilities.plan) throw new UsageError(`--plan works with the aws target (this config's target is ${config.target})`);
      await target.checkPrerequisites();
      // Before any node is made or changed: ids for new kafka nodes, or a refusal to change the quorum.
      ensureKafkaIdentities(config.name, config.nodes.filter((n) => n.roles.includes('kafka')).map((n) => n.name), config.kafka.controllers);
      let removals: Removals = { brokerIds: [] };
      const inventory = await target.createNodes((m) => logger().info({ target: target.name }, m), {
        yes: !!opts.yes,
        ...(opts.plan ? { planFile: opts.plan } : {}),
        confirm: (summary) => confirm(`${summary.text}\nApply these changes to cluster "${config.name}"?`, 'apply', 'pass --yes, or save the plan with `millrace plan --target aws -o FILE` and apply it with `millrace up --target aws --plan FILE`'),
        // Once the changes are confirmed, before a node goes: the brokers and DataNodes the config
        // no longer has are drained, decommissioned and stopped (a plan turned down changes nothing).
        beforeChanges: async () => {
          removals = await prepareRemovals(config, (m) => logger().info({ step: 'remove' }, m));
        },
      });
      if (opts.infraOnly) {
        output(this, `${inventory.nodes.length} nodes ready (not bootstrapped):\n${inventory.nodes.map((n) => `  ${n.name}  ${n.sshUser}@${n.sshAddress}  private ${n.privateAddress}${n.publicAddress ? `  public ${n.publicAddress}` : ''}  ${n.roles.join('+')}`).join('\n')}`, { inventory });
        return;
      }
      const { nodes: outcomes, stale } = await bootstrap(config, inventory, { json: !!globals(this).json });
      await finishRemovals(config, removals);
      await target.afterBootstrap?.();
      const summary = describeOutcome(outcomes);
      const staleText = describeStale(stale);
      output(this, `${summary.text}\n${staleText ? `${staleText}\n` : ''}cluster "${config.name}" is up in ${Math.round((Date.now() - started) / 1000)}s; check it with \`millrace status\``, {
        cluster: config.name,
        target: config.target,
        changed: summary.changed,
        seconds: (Date.now() - started) / 1000,
        nodes: outcomes,
        staleApplications: stale,
      });
    });

  program
    .command('down')
    .description('destroy everything `up` created for the target (says what, and asks first unless --yes)')
    .addOption(targetOption())
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nOn every target, `down` lists what it destroys (nodes and their addresses, data disks, state) and asks\nunless --yes; without a terminal to ask on it refuses (exit 2). With nothing to destroy it says so and exits 0.\nThe static target owns no hosts, so there `down` has nothing to destroy.',
    )
    .action(async function (this: Command, opts: { yes?: boolean }) {
      const config = configFor(this);
      const target = await targetFor(config);
      if (!target.capabilities.ownsNodes) await target.deleteNodes(() => undefined);
      const present = (await target.listNodes()).filter((n) => n.state !== 'absent');
      if (present.length > 0) {
        await target.checkPrerequisites();
        const summary = destroySummary(config, target.describe(), present);
        if (opts.yes) {
          if (!globals(this).json) process.stderr.write(`destroying ${summary}\n`);
        } else if (!(await confirm(`${summary}\nDestroy cluster "${config.name}"?`, 'destroy', 'pass --yes to confirm non-interactively')))
          throw new UsageError(`not confirmed: cluster "${config.name}" was left as it is`, { hint: 'answer "y" to destroy it, or pass --yes' });
      }
      const result = await target.deleteNodes((m) => logger().info({ target: target.name }, m));
      const lines = [
        result.removed.length ? `cluster "${config.name}" destroyed: removed ${result.removed.join(', ')}` : `cluster "${config.name}": nothing to remove`,
        ...result.left.map((l) => `left: ${l}`),
      ];
      output(this, lines.join('\n'), { cluster: config.name, destroyed: true, removed: result.removed, left: result.left });
    });
}

/** What `down` destroys and what it keeps, for the question it asks. */
export function destroySummary(config: ClusterConfig, where: string, present: { name: string; address?: string }[]): string {
  let inventory: Inventory | undefined;
  try {
    inventory = fs.existsSync(inventoryPath(config.name)) ? readInventory(config.name) : undefined;
  } catch {
    inventory = undefined;
  }
  const addressOf = (name: string, fallback?: string): string => {
    const n = inventory?.nodes.find((x) => x.name === name);
    const a = n ? [n.privateAddress, n.publicAddress, n.sshAddress].filter((v, i, all) => v && all.indexOf(v) === i).join(', ') : fallback;
    return a ? `${name} (${a})` : name;
  };
  const rank = (name: string): number => {
    const i = config.nodes.findIndex((n) => n.name === name);
    return i === -1 ? config.nodes.length : i;
  };
  const ordered = [...present].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  const disks = (inventory?.nodes ?? []).filter((n) => n.dataVolume);
  const gib = (b: number): string => `${Math.round(b / 1024 ** 3)} GiB`;
  const lines = [
    `cluster "${config.name}": ${where}`,
    `  nodes: ${ordered.map((n) => addressOf(n.name, n.address)).join(', ')}`,
    disks.length
      ? `  data disks: ${disks.map((n) => `${n.name} ${gib(n.dataVolume!.sizeBytes)}`).join(', ')}, with everything in Kafka and HDFS on them`
      : '  data: everything stored on the nodes (Kafka topics, HDFS files)',
    ...(config.target === 'aws' ? ['  AWS resources: the whole Terraform stack (instances, volumes, network, security groups, IAM, the KMS key scheduled for deletion)'] : []),
    `  state: the inventory and the nodes' pinned host keys in ${clusterStateDir(config.name)}`,
    `  kept: the rest of that directory (the cluster CA, secrets, SSH key), so a later \`up\` reuses them; delete it to forget the cluster`,
  ];
  return lines.join('\n');
}

function publicKeyOf(config: ClusterConfig): string {
  return clusterSshKey(config).publicKey;
}

async function confirm(question: string, verb: string, hint: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stderr.write(`${question.split('\n').slice(0, -1).join('\n')}\n`);
    throw new UsageError(`refusing to ${verb} without confirmation (no terminal to ask on)`, { hint });
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
