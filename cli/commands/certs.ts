/**
 * `millrace certs rotate`: new certificates for every node, service and tracked client, and with
 * --ca a new CA, applied by the provisioner one node at a time (each healthy before the next),
 * with a trust overlap so nothing stops talking to anything. provisioning/pki/rotation.ts has the
 * plan; the rolling passes are `up`'s own provisioner with a one-node-at-a-time runner.
 */
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { Command } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { AggregateFailure, describe, MillraceError, UsageError } from '../../lib/errors';
import { Inventory, readInventory } from '../../lib/inventory';
import { logger } from '../../lib/logger';
import type { HostRunner, Settled } from '../../lib/parallel';
import { clusterStateDir } from '../../lib/paths';
import { createArtifactInstaller } from '../../provisioning/artifacts';
import { loadFacts, requireClusterState } from '../../provisioning/cluster-state';
import { planCluster } from '../../provisioning/plan';
import { HostOutcome, provision } from '../../provisioning/provision';
import type { RemoteHost } from '../../provisioning/remote-host';
import { ClusterCa } from '../../provisioning/pki/cluster-ca';
import { CertInfo, stateCertificates } from '../../provisioning/pki/expiry';
import {
  caSet,
  dropPreviousCa,
  planRotation,
  promoteNextCa,
  reissueClients,
  retireNodeCertificates,
  RotationMode,
  RotationPlan,
  RotationRefused,
  RotationStep,
  stageNextCa,
  TrackedClient,
} from '../../provisioning/pki/rotation';
import { withHosts } from '../bootstrap';
import { configFor, globals, output } from '../context';

interface RotateOptions {
  ca?: boolean;
  finish?: boolean;
  trustOnly?: boolean;
  yes?: boolean;
}

interface PassResult {
  pass: string;
  nodes: { node: string; restarted: string[]; changedFiles: number }[];
}

interface RotateResult {
  cluster: string;
  mode: RotationMode;
  trustOnly: boolean;
  steps: string[];
  passes: PassResult[];
  reissuedNodeCertificates: string[];
  reissuedClients: string[];
  expiredClientsLeft: string[];
  handedOut: { principal: string; notAfter: string; subject: string }[];
  ca: { subject: string; serial: string; notAfter: string };
  previousCa?: { subject: string; serial: string; notAfter: string };
  nextCa?: { subject: string; serial: string; notAfter: string };
  /** What the operator should know now: which old certificates stop working, and when. */
  notes: string[];
}

export function registerCerts(program: Command): void {
  const certs = program
    .command('certs')
    .description('certificate rotation (expiry is in `millrace status` and `millrace verify`)')
    .addHelpText('after', '\nExamples:\n  millrace certs rotate --yes\n  millrace certs rotate --ca --yes\n  millrace certs rotate --finish --yes');
  certs
    .command('rotate')
    .description('re-issue every node, service and client certificate (with --ca a new CA too), applied by a rolling restart')
    .option('--ca', 'also replace the CA: nodes trust the old and the new CA while they switch, and keep trusting the old one until --finish')
    .option('--trust-only', 'with --ca: stop once every node trusts the new CA, so clients can be given it before the switch')
    .option('--finish', 'end a CA rotation: drop the old CA from every truststore; certificates it signed stop working')
    .option('-y, --yes', 'do not ask before restarting services')
    .addHelpText(
      'after',
      `
One node at a time, the provisioner that \`up\` runs writes the new files, restarts the services
whose files changed and waits until they are healthy before it touches the next node.

  certs rotate               new certificates (new keys, new serials) from the same CA. Certificates
                             handed out earlier keep working until they expire: nothing is revoked.
  certs rotate --ca          a new CA. Pass 1 ("trust"): every node trusts the old and the new CA.
                             Pass 2 ("switch"): the new CA issues every certificate. The old CA stays
                             trusted, so clients holding certificates it signed keep working, until
  certs rotate --finish      drops the old CA from every truststore (a third pass); from then on only
                             certificates of the new CA are accepted. Nothing drops it automatically:
                             \`status\` lists it as "CA (previous, still trusted)" until then.

A client that trusts only the old CA (its ca.pem) cannot verify the brokers once they switch. For no
interruption: \`certs rotate --ca --trust-only\`, give clients the new ca.pem (\`millrace credentials\`
writes the bundle of both CAs), then \`certs rotate --ca\` (it uses the staged CA), later --finish.

Client certificates kept in the cluster state (admin, pipeline and the test principals) are re-issued;
ones handed out by \`millrace credentials\` are not kept with their keys, so renew them by running
\`credentials\` again. If a pass fails, nothing further is restarted: fix the node and run the same
command again.

Examples:
  millrace certs rotate --yes                    new node and client certificates, same CA
  millrace certs rotate --ca --trust-only --yes  stage a new CA; every node trusts both
  millrace certs rotate --ca --yes --json        switch to the new CA (makes one if none is staged)
  millrace certs rotate --finish --yes           stop trusting the old CA`,
    )
    .action(async function (this: Command, opts: RotateOptions) {
      if (opts.ca && opts.finish) throw new UsageError('--ca and --finish cannot be combined', { hint: 'run `millrace certs rotate --ca` first, and `--finish` once clients have the new certificates' });
      if (opts.trustOnly && !opts.ca) throw new UsageError('--trust-only needs --ca', { hint: 'use `millrace certs rotate --ca --trust-only`' });
      const mode: RotationMode = opts.finish ? 'finish' : opts.ca ? 'ca' : 'leaves';
      const config = configFor(this);
      const inventory = readInventory(config.name);
      // A rotation starts from the CA `up` made; a missing one is restored, never re-made here.
      requireClusterState(config.name, inventory);
      const pkiDir = path.join(clusterStateDir(config.name), 'pki');
      let plan: RotationPlan;
      try {
        plan = planRotation(caSet(pkiDir), mode);
      } catch (error) {
        if (error instanceof RotationRefused) throw new UsageError(error.message, { hint: error.hint });
        throw error;
      }
      if (opts.trustOnly) plan = { ...plan, steps: plan.steps.slice(0, plan.steps.findIndex((s) => s.kind === 'pass' && s.name === 'trust') + 1) };
      const json = !!globals(this).json;
      if (!opts.yes) await confirmRotation(config, inventory, plan);
      const say = json ? (): void => undefined : (m: string): void => void process.stderr.write(`certs: ${m}\n`);
      const result = await rotate(config, inventory, pkiDir, plan, say);
      result.trustOnly = !!opts.trustOnly;
      output(this, formatRotation(result), result);
    });
}

async function confirmRotation(config: ClusterConfig, inventory: Inventory, plan: RotationPlan): Promise<void> {
  const passes = plan.steps.filter((s) => s.kind === 'pass').length;
  const question = `This rotates the certificates of cluster "${config.name}" (${plan.steps.map(stepText).join('; ')}).\nIt restarts services one node at a time, ${passes} pass(es) over ${inventory.nodes.map((n) => n.name).join(', ')}.\nGo ahead?`;
  if (!process.stdin.isTTY) {
    process.stderr.write(`${question.split('\n').slice(0, -1).join('\n')}\n`);
    throw new UsageError('refusing to rotate certificates without confirmation (no terminal to ask on)', { hint: 'pass --yes to confirm non-interactively' });
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (!/^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim()))
      throw new UsageError(`not confirmed: the certificates of cluster "${config.name}" were left as they are`, { hint: 'answer "y", or pass --yes' });
  } finally {
    rl.close();
  }
}

function stepText(s: RotationStep): string {
  switch (s.kind) {
    case 'stage-ca':
      return 'make a new CA';
    case 'promote-ca':
      return 'the new CA becomes the issuing one, the old one stays trusted';
    case 'drop-previous-ca':
      return 'drop the previous CA';
    case 'reissue':
      return 're-issue node, service and client certificates';
    case 'pass':
      return `rolling pass "${s.name}" (nodes trust: ${s.trust.join(' + ')} CA)`;
  }
}

/** Runs a rotation plan's steps; a failed pass stops it, with how to go on. */
export async function rotate(config: ClusterConfig, inventory: Inventory, pkiDir: string, plan: RotationPlan, say: (m: string) => void): Promise<RotateResult> {
  const log = logger().child({ cluster: config.name, command: 'certs rotate' });
  const result: RotateResult = {
    cluster: config.name,
    mode: plan.mode,
    trustOnly: false,
    steps: plan.steps.map(stepText),
    passes: [],
    reissuedNodeCertificates: [],
    reissuedClients: [],
    expiredClientsLeft: [],
    handedOut: [],
    ca: { subject: '', serial: '', notAfter: '' },
    notes: [],
  };
  await withHosts(config, inventory, async (hosts) => {
    for (const [i, step] of plan.steps.entries()) {
      say(`step ${i + 1}/${plan.steps.length}: ${stepText(step)}`);
      if (step.kind === 'stage-ca') await stageNextCa(pkiDir, config.name);
      else if (step.kind === 'promote-ca') promoteNextCa(pkiDir);
      else if (step.kind === 'drop-previous-ca') dropPreviousCa(pkiDir);
      else if (step.kind === 'reissue') {
        result.reissuedNodeCertificates = retireNodeCertificates(pkiDir);
        const clients = await reissueClients(await ClusterCa.open(pkiDir, config.name), pkiDir);
        result.reissuedClients = clients.reissued.map((c: TrackedClient) => `${c.principal} (${c.days} days)`);
        result.expiredClientsLeft = clients.skipped.map((c) => c.principal);
      } else result.passes.push(await rollingPass(config, inventory, hosts, step.name, say, log, `step ${i + 1} of ${plan.steps.length}`));
    }
  });
  const certs = stateCertificates(pkiDir);
  const pick = (what: string): RotateResult['ca'] | undefined => {
    const c = certs.find((x) => x.what === what);
    return c && { subject: c.subject, serial: c.serial, notAfter: c.notAfter };
  };
  result.ca = pick('CA')!;
  result.previousCa = pick('CA (previous, still trusted)');
  result.nextCa = pick('CA (next, staged)');
  result.handedOut = certs.filter((c) => c.what.startsWith('handed out to ')).map(handedOut);
  result.notes = notesFor(result);
  return result;
}

function handedOut(c: CertInfo): RotateResult['handedOut'][number] {
  return { principal: c.what.slice('handed out to '.length), notAfter: c.notAfter, subject: c.subject };
}

async function rollingPass(
  config: ClusterConfig,
  inventory: Inventory,
  hosts: Map<string, RemoteHost>,
  name: string,
  say: (m: string) => void,
  log: ReturnType<typeof logger>,
  where: string,
): Promise<PassResult> {
  const facts = await loadFacts(config, inventory);
  let outcomes: HostOutcome[];
  try {
    outcomes = await provision(facts, planCluster(facts), {
      runner: rollingRunner((m) => say(`[${name}] ${m}`)),
      oneNodeAtATime: true,
      artifacts: createArtifactInstaller(config, log),
      hosts,
      log,
    });
  } catch (error) {
    const detail = error instanceof AggregateFailure ? error.message : describe(error);
    throw new MillraceError(`certificate rotation stopped in pass "${name}" (${where}): ${detail}`, {
      hint: 'the nodes before the failed one have their new files and are healthy, the ones after it are untouched and still trusted; fix the failed node (`millrace logs <node>`), then run the same `millrace certs rotate` command again',
      cause: error,
    });
  }
  return { pass: name, nodes: outcomes.map((o) => ({ node: o.node, restarted: [...o.started, ...o.restarted], changedFiles: o.changedFiles.length })) };
}

/**
 * One node at a time, in inventory order, each to healthy before the next; after a failure the
 * remaining nodes are not touched, so at most one node is ever out of step.
 */
export function rollingRunner(say: (m: string) => void): HostRunner {
  return async <I, T>(_title: string, items: readonly I[], name: (item: I) => string, fn: (item: I, report: (m: string) => void) => Promise<T>): Promise<Settled<T>[]> => {
    const out: Settled<T>[] = [];
    let failedAt: string | undefined;
    for (const item of items) {
      const where = name(item);
      if (failedAt !== undefined) {
        out.push({ where, ok: false, error: new Error(`not touched: ${failedAt} failed first, and a rolling restart stops there`) });
        continue;
      }
      let last = '';
      try {
        const value = await fn(item, (m) => {
          if (m !== last) say(`${where}: ${m}`);
          last = m;
        });
        out.push({ where, ok: true, value });
      } catch (error) {
        failedAt = where;
        out.push({ where, ok: false, error });
      }
    }
    return out;
  };
}

function notesFor(r: RotateResult): string[] {
  const notes: string[] = [];
  if (r.mode === 'ca' && r.nextCa)
    notes.push(
      `every node now trusts the current and the new CA (serial ${r.nextCa.serial}); nothing is signed by the new one yet. Give clients the new ca.pem (\`millrace credentials\` writes both CAs), then run \`millrace certs rotate --ca\` to switch.`,
    );
  if (r.previousCa)
    notes.push(
      `the previous CA (serial ${r.previousCa.serial}) is still trusted by every node, so certificates it signed, including clients' from \`millrace credentials\`, keep working until \`millrace certs rotate --finish\` drops it (or until they expire). Clients that trust only the old CA cannot verify the brokers any more: give them the new ca.pem.`,
    );
  if (r.mode === 'finish') notes.push('only the current CA is trusted now: every certificate the previous CA signed is refused from here on.');
  if (r.mode === 'leaves') notes.push('the old node and client certificates are from the same CA and stay valid until they expire: nothing is revoked (there is no CRL).');
  if (r.handedOut.length)
    notes.push(
      `certificates handed out by \`millrace credentials\` are not renewed here (their keys are not kept): ${r.handedOut.map((h) => `${h.principal} (until ${h.notAfter.slice(0, 10)})`).join(', ')}; run \`millrace credentials --principal <name>\` again for each.`,
    );
  if (r.expiredClientsLeft.length) notes.push(`expired client certificates not renewed: ${r.expiredClientsLeft.join(', ')}`);
  return notes;
}

function formatRotation(r: RotateResult): string {
  const lines = [
    `rotated certificates of cluster ${r.cluster} (${r.mode === 'leaves' ? 'same CA' : r.mode === 'ca' ? (r.trustOnly ? 'new CA staged and trusted' : 'new CA') : 'old CA dropped'})`,
    `  CA: ${r.ca.subject}, serial ${r.ca.serial}, valid until ${r.ca.notAfter.slice(0, 10)}`,
    ...(r.nextCa ? [`  next CA (trusted, not issuing yet): serial ${r.nextCa.serial}`] : []),
    ...(r.previousCa ? [`  previous CA (still trusted): serial ${r.previousCa.serial}, valid until ${r.previousCa.notAfter.slice(0, 10)}`] : []),
    ...(r.reissuedNodeCertificates.length ? [`  node and service certificates re-issued: ${r.reissuedNodeCertificates.join(', ')}`] : []),
    ...(r.reissuedClients.length ? [`  client certificates re-issued in the cluster state: ${r.reissuedClients.join(', ')}`] : []),
    ...r.passes.map((p) => `  pass "${p.pass}": ${p.nodes.map((n) => `${n.node} (${n.restarted.length ? `restarted ${n.restarted.join(', ')}` : 'nothing to restart'})`).join('; ')}`),
    '',
    ...r.notes.map((n) => `note: ${n}`),
  ];
  return lines.join('\n');
}
