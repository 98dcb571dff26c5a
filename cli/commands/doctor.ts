/**
 * `millrace doctor`: what stands between this machine and a working cluster, each finding with
 * what to do about it. It checks the operator's side (config, the local target's needs, disk),
 * then every node over SSH (reachability, disk, memory, Java, clock, failed units).
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { HealthCheckError } from '../../lib/errors';
import { Inventory, inventoryPath, readInventory } from '../../lib/inventory';
import { mapSettled } from '../../lib/parallel';
import { cacheDir, millraceHome } from '../../lib/paths';
import { q } from '../../lib/shell';
import { DATA_ROOT } from '../../provisioning/plan';
import { LIBRDKAFKA_BUILD_HINT, librdkafka, librdkafkaLoadError } from '../../producers/kafka-client-librdkafka';
import { targetFor } from '../../targets/target';
import { render } from '../../templates/render';
import { connectAll } from '../bootstrap';
import { configFor, output } from '../context';

type Level = 'ok' | 'warn' | 'fail';
interface Finding {
  where: string;
  check: string;
  level: Level;
  detail: string;
  hint?: string;
}

const GiB = 2 ** 30;

function freeBytes(dir: string): number {
  while (!fs.existsSync(dir)) dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

async function operatorFindings(config: ClusterConfig): Promise<Finding[]> {
  const out: Finding[] = [{ where: 'operator', check: 'config', level: 'ok', detail: `cluster "${config.name}", target ${config.target}, ${config.nodes.length} nodes` }];
  const target = await targetFor(config);
  try {
    await target.checkPrerequisites();
    out.push({ where: 'operator', check: `${target.name} target prerequisites`, level: 'ok', detail: `ready for ${target.describe()}` });
  } catch (error) {
    const e = error as { message: string; hint?: string };
    out.push({ where: 'operator', check: `${target.name} target prerequisites`, level: 'fail', detail: e.message, hint: e.hint });
  }
  // A target that boots its nodes here keeps their disks and the host image here too.
  for (const [what, dir, need] of [['state directory', millraceHome(), 1], ['artifact cache', cacheDir(), target.capabilities.needsRootHere ? 8 : 2]] as const) {
    const free = freeBytes(dir) / GiB;
    out.push({ where: 'operator', check: `free disk (${what})`, level: free < need ? 'fail' : 'ok', detail: `${free.toFixed(1)} GiB free at ${dir}`, hint: free < need ? `free at least ${need} GiB there` : undefined });
  }
  out.push(producerLibraryFinding(config.kafka.client));
  return out;
}

/** Which library `produce` will use here (kafka.client), and whether it loads. */
export function producerLibraryFinding(client: ClusterConfig['kafka']['client']): Finding {
  const check = 'producer library (kafka.client)';
  if (client === 'kafkajs') return { where: 'operator', check, level: 'ok', detail: 'kafkajs, as the config says' };
  const why = librdkafkaLoadError();
  if (why === undefined) return { where: 'operator', check, level: 'ok', detail: `librdkafka ${librdkafka().librdkafkaVersion}${client === 'auto' ? ' (auto)' : ''}` };
  const hint = LIBRDKAFKA_BUILD_HINT;
  return client === 'librdkafka'
    ? { where: 'operator', check, level: 'fail', detail: `librdkafka, as the config says, cannot be loaded: ${why}`, hint }
    : { where: 'operator', check, level: 'warn', detail: `kafkajs (auto): librdkafka cannot be loaded (${why}); kafkajs produces at about a third of its throughput`, hint };
}

/** One SSH round trip per node: everything read at once, judged here. */
export function doctorProbe(): string {
  return render('doctor/probe.sh', { dataRoot: q(DATA_ROOT), unitPattern: q('millrace-*') });
}

async function nodeFindings(config: ClusterConfig, inventory: Inventory): Promise<Finding[]> {
  let hosts;
  try {
    hosts = await connectAll(config, inventory);
  } catch (error) {
    const e = error as { message: string; hint?: string };
    return [{ where: 'nodes', check: 'SSH', level: 'fail', detail: e.message, hint: e.hint }];
  }
  try {
    const results = await mapSettled(inventory.nodes, 8, (n) => n.name, async (n) => {
      const sent = Date.now() / 1000;
      const text = await hosts.get(n.name)!.execOrThrow(doctorProbe());
      const got = (k: string): string => new RegExp(`^${k} (.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
      const diskGiB = Number(got('disk')) / 2 ** 20;
      const memGiB = Number(got('mem')) / 2 ** 20;
      const skew = Math.abs(Number(got('clock')) - (sent + Date.now() / 1000) / 2);
      const failed = got('failed');
      const java = got('java');
      const f = (check: string, level: Level, detail: string, hint?: string): Finding => ({ where: n.name, check, level, detail, ...(hint ? { hint } : {}) });
      return [
        f('SSH', 'ok', `${n.sshUser}@${n.sshAddress}:${n.sshPort}, host key pinned`),
        f(`free disk ${DATA_ROOT}`, diskGiB < 2 ? 'fail' : diskGiB < 10 ? 'warn' : 'ok', `${diskGiB.toFixed(1)} GiB`, diskGiB < 10 ? 'Kafka logs and HDFS blocks live there: grow the volume (aws.dataVolumeGb)' : undefined),
        f('available memory', memGiB < 1 ? 'warn' : 'ok', `${memGiB.toFixed(1)} GiB`, memGiB < 1 ? 'services may be killed by the kernel: use a larger instance type' : undefined),
        f('clock', skew > 5 ? 'warn' : 'ok', `${skew.toFixed(1)} s from this machine`, skew > 5 ? 'certificates and Kafka timestamps need synchronized clocks: enable NTP (systemd-timesyncd, chrony)' : undefined),
        f('Java', /version "17/.test(java) ? 'ok' : java ? 'warn' : 'fail', java || 'not installed', /version "17/.test(java) ? undefined : 'run `millrace up`, which installs Java 17'),
        f('failed units', failed ? 'fail' : 'ok', failed || 'none', failed ? `look at them with \`millrace logs ${n.name}\`, then run \`millrace up\`` : undefined),
      ];
    });
    return results.flatMap((r) => (r.ok ? r.value : [{ where: r.where, check: 'probe', level: 'fail' as Level, detail: String((r.error as Error).message ?? r.error) }]));
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close()));
  }
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description("diagnose this machine and the cluster's nodes: prerequisites, SSH, disk, memory, Java, clocks, failed units")
    .addHelpText('after', '\nExits 1 if anything fails; warnings alone exit 0. `millrace status` checks the services themselves.')
    .action(async function (this: Command) {
      const config = configFor(this);
      const findings = await operatorFindings(config);
      if (fs.existsSync(inventoryPath(config.name))) findings.push(...(await nodeFindings(config, readInventory(config.name))));
      else findings.push({ where: 'cluster', check: 'inventory', level: 'warn', detail: 'no nodes yet', hint: 'run `millrace up`' });
      const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
      const human = findings.map((f) => `${mark[f.level]} ${f.where.padEnd(9)} ${f.check}: ${f.detail}${f.hint ? `\n  ${' '.repeat(10)}→ ${f.hint}` : ''}`).join('\n');
      output(this, human, findings);
      const failed = findings.filter((f) => f.level === 'fail');
      if (failed.length) throw new HealthCheckError(`${failed.length} problem(s) found: ${failed.map((f) => `${f.check} (${f.where})`).join(', ')}`, { hint: 'each is listed above with what to do' });
    });
}
