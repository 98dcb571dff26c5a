/**
 * Removing brokers without losing data: before a kafka node leaves the cluster, every partition
 * with a replica on it is moved to the brokers that stay, by Kafka's own reassignment (throttled),
 * and `up` goes on only once the moves are complete. After the node is gone its id is
 * unregistered from the KRaft metadata. A removal that would leave a partition with fewer
 * brokers than its replicas is refused before anything moves.
 *
 * The tools run on a broker that stays, over SSH, as the broker identity (a super user).
 */
import type { Logger } from 'pino';
import { MillraceError } from '../lib/errors';
import { waitFor } from '../lib/retry';
import { cmd } from '../lib/shell';
import type { RemoteHost } from './remote-host';
import { JAVA_TOOL } from './services/java-service';

export interface PartitionReplicas {
  topic: string;
  partition: number;
  replicas: number[];
}

/** Partitions from `kafka-topics --describe` (TopicCommand): one line per partition. */
export function parseTopicDescribe(text: string): PartitionReplicas[] {
  const out: PartitionReplicas[] = [];
  for (const line of text.split('\n')) {
    const m = /Topic:\s*(\S+)\s+Partition:\s*(\d+)\s+Leader:\s*\S+\s+Replicas:\s*([\d,]+)/.exec(line);
    if (m) out.push({ topic: m[1]!, partition: Number(m[2]), replicas: m[3]!.split(',').map(Number) });
  }
  return out;
}

/** A removal that would leave a partition short of brokers for its replicas: refused, nothing moved. */
export class UnsafeRemovalError extends MillraceError {
  override readonly exitCode = 2;
}

/**
 * The moves that empty the leaving brokers: each of their replicas goes to the staying broker
 * with the fewest replicas that the partition does not already have. Pure. Throws
 * UnsafeRemovalError naming every partition that would have more replicas than brokers.
 */
export function drainPlan(partitions: readonly PartitionReplicas[], leaving: readonly number[], staying: readonly number[]): PartitionReplicas[] {
  const load = new Map<number, number>(staying.map((b) => [b, 0]));
  for (const p of partitions) for (const r of p.replicas) if (load.has(r)) load.set(r, load.get(r)! + 1);
  const short = partitions.filter((p) => p.replicas.some((r) => leaving.includes(r)) && p.replicas.length > staying.length);
  if (short.length) {
    const shown = short.slice(0, 5).map((p) => `${p.topic}-${p.partition} (${p.replicas.length} replicas)`);
    throw new UnsafeRemovalError(
      `removing broker${leaving.length > 1 ? 's' : ''} ${leaving.join(', ')} would leave ${staying.length} broker${staying.length === 1 ? '' : 's'} for partitions with more replicas: ${shown.join(', ')}${short.length > shown.length ? ` and ${short.length - shown.length} more` : ''}; nothing was changed`,
      { hint: 'keep enough brokers for every topic\'s replication factor (add one before removing this one), or lower those topics\' replication first' },
    );
  }
  const moves: PartitionReplicas[] = [];
  for (const p of partitions) {
    if (!p.replicas.some((r) => leaving.includes(r))) continue;
    const replicas = [...p.replicas];
    replicas.forEach((r, i) => {
      if (!leaving.includes(r)) return;
      const target = [...load.entries()].filter(([b]) => !replicas.includes(b)).sort((a, b) => a[1] - b[1] || a[0] - b[0])[0]![0];
      replicas[i] = target;
      load.set(target, load.get(target)! + 1);
    });
    moves.push({ topic: p.topic, partition: p.partition, replicas });
  }
  return moves;
}

export interface DrainOptions {
  /** A broker that stays: the tools run there. */
  host: RemoteHost;
  bootstrap: string;
  /** Kafka's libs/ and the broker's admin client config on that host. */
  classpath: string;
  clientConfig: string;
  /** Bytes per second each moving replica may use (leader and follower throttle). */
  throttleBytes?: number;
  timeoutMs?: number;
  log: Logger;
  report: (m: string) => void;
}

const REASSIGNMENT_FILE = '/var/lib/millrace/kafka-drain.json';
export const DEFAULT_THROTTLE_BYTES = 50 * 1024 * 1024;

/** Moves every replica off the leaving brokers; resolves once Kafka says every move is complete. */
export async function drainBrokers(leaving: readonly number[], staying: readonly number[], o: DrainOptions): Promise<{ moved: number }> {
  const tool = (main: string, ...args: string[]): string => cmd(...JAVA_TOOL, '-cp', o.classpath, main, '--bootstrap-server', o.bootstrap, '--command-config', o.clientConfig, ...args);
  const describe = await o.host.execOrThrow(tool('org.apache.kafka.tools.TopicCommand', '--describe'), { what: 'describe the topics' });
  const moves = drainPlan(parseTopicDescribe(describe), leaving, staying);
  if (!moves.length) return { moved: 0 };
  o.report(`draining broker${leaving.length > 1 ? 's' : ''} ${leaving.join(', ')}: moving ${moves.length} partition(s)`);
  o.log.info({ leaving, moves: moves.length }, 'draining brokers');
  await o.host.putFile(REASSIGNMENT_FILE, JSON.stringify({ version: 1, partitions: moves }), { mode: 0o644 });
  const reassign = (...args: string[]): string => tool('org.apache.kafka.tools.reassign.ReassignPartitionsCommand', '--reassignment-json-file', REASSIGNMENT_FILE, ...args);
  await o.host.execOrThrow(reassign('--execute', '--throttle', String(o.throttleBytes ?? DEFAULT_THROTTLE_BYTES)), { what: 'start the partition moves' });
  let last = '';
  await waitFor(
    async () => {
      // --verify also lifts the throttle once every move is complete.
      last = (await o.host.execOrThrow(reassign('--verify'), { what: 'check the partition moves' })).trim();
      return /is still in progress|is not complete/.test(last) ? undefined : true;
    },
    { timeout: o.timeoutMs ?? 30 * 60_000, interval: 3000, what: `the partitions on broker ${leaving.join(', ')} to move`, hint: 'the moves go on in the background; run `millrace up` again to wait for them' },
  ).catch((error: unknown) => {
    throw new MillraceError(`the partitions on broker ${leaving.join(', ')} did not finish moving (${last.split('\n').slice(-1)[0]}); the broker was not removed`, { cause: error, hint: 'run `millrace up` again to wait for the moves; nothing was removed' });
  });
  const failed = last.split('\n').filter((l) => /failed|error/i.test(l));
  if (failed.length) throw new MillraceError(`moving the partitions off broker ${leaving.join(', ')} failed: ${failed.slice(0, 3).join('; ')}; the broker was not removed`);
  await o.host.exec(`rm -f ${REASSIGNMENT_FILE}`);
  return { moved: moves.length };
}

/** Forgets a removed broker's registration in the KRaft metadata (it is fenced until then). */
export async function unregisterBroker(id: number, o: Pick<DrainOptions, 'host' | 'bootstrap' | 'classpath' | 'clientConfig'>): Promise<void> {
  await o.host.execOrThrow(cmd(...JAVA_TOOL, '-cp', o.classpath, 'org.apache.kafka.tools.ClusterTool', 'unregister', '--bootstrap-server', o.bootstrap, '--config', o.clientConfig, '--id', String(id)), {
    what: `unregister broker ${id}`,
  });
}
