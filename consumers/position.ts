/**
 * Where `millrace consume` starts: `--partition <n>` and `--offset <n|earliest|latest>`, checked
 * against the topic's partitions and watermarks before a consumer is started.
 */
import { UsageError } from '../lib/errors';

export type OffsetFlag = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'at'; offset: bigint };

export interface StartPosition {
  /** Undefined: every partition. */
  partition?: number;
  /** With a partition: the exact offset to start at. */
  startOffset?: string;
  /** Without a partition: from the oldest message of every partition. */
  fromBeginning: boolean;
}

export function parseOffsetFlag(value: string): OffsetFlag {
  const v = value.trim().toLowerCase();
  if (v === 'earliest' || v === 'beginning') return { kind: 'earliest' };
  if (v === 'latest' || v === 'end') return { kind: 'latest' };
  if (!/^\d+$/.test(v)) throw new UsageError(`--offset ${value}: expected a number, earliest or latest`, { hint: 'e.g. --partition 0 --offset 42' });
  return { kind: 'at', offset: BigInt(v) };
}

export function parsePartitionFlag(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 1_000_000) throw new UsageError(`--partition ${value}: expected a partition number (0, 1, ...)`, { hint: 'see the partitions with `millrace topics describe <topic>`' });
  return Number(value);
}

/** What needs no broker: the flags' syntax and how they combine. */
export function checkPositionFlags(flags: { partition?: string; offset?: string; fromBeginning?: boolean; verify?: boolean; lag?: boolean }): { partition?: number; offset?: OffsetFlag } {
  const partition = flags.partition === undefined ? undefined : parsePartitionFlag(flags.partition);
  const offset = flags.offset === undefined ? undefined : parseOffsetFlag(flags.offset);
  if ((partition !== undefined || offset !== undefined) && (flags.verify || flags.lag))
    throw new UsageError(`--partition and --offset do not go with ${flags.verify ? '--verify' : '--lag'}`, { hint: `${flags.verify ? '--verify' : '--lag'} always looks at every partition` });
  if (offset !== undefined && flags.fromBeginning) throw new UsageError('--from-beginning and --offset both say where to start', { hint: 'give one: --offset earliest is --from-beginning' });
  if (offset?.kind === 'at' && partition === undefined)
    throw new UsageError(`--offset ${flags.offset} needs --partition`, { hint: 'an offset counts within one partition: add --partition <n>' });
  return { partition, offset };
}

/** Resolves the flags against the topic's watermarks (low = oldest kept offset, high = next offset). */
export function resolveStart(
  topic: string,
  flags: { partition?: number; offset?: OffsetFlag; fromBeginning?: boolean },
  watermarks: { partition: number; low: string; high: string }[],
): StartPosition {
  const offset = flags.offset ?? (flags.fromBeginning ? { kind: 'earliest' as const } : { kind: 'latest' as const });
  if (flags.partition === undefined) return { fromBeginning: offset.kind === 'earliest' };
  const w = watermarks.find((x) => x.partition === flags.partition);
  if (!w)
    throw new UsageError(`${topic} has no partition ${flags.partition}`, { hint: `its partitions are 0 to ${watermarks.length - 1}` });
  if (offset.kind === 'earliest') return { partition: flags.partition, startOffset: w.low, fromBeginning: true };
  if (offset.kind === 'latest') return { partition: flags.partition, startOffset: w.high, fromBeginning: false };
  if (offset.offset < BigInt(w.low) || offset.offset > BigInt(w.high))
    throw new UsageError(`${topic}[${flags.partition}] ${w.low === w.high ? `holds no messages (its next offset is ${w.high})` : `holds offsets ${w.low} to ${BigInt(w.high) - 1n}`}; ${offset.offset} is outside them`, {
      hint: `pick an offset from ${w.low} to ${w.high} (${w.high} waits for the next message), or --offset earliest|latest`,
    });
  return { partition: flags.partition, startOffset: String(offset.offset), fromBeginning: false };
}

/** `--print-key`: the key, a tab, the value (kcat -K's layout); no key prints as empty. */
export function keyedLine(key: string | undefined, value: string, delimiter = '\t'): string {
  return `${key ?? ''}${delimiter}${value}`;
}
