/**
 * Verify mode's bookkeeping: counts, distinct event ids, duplicates, invalid JSON and
 * per-partition counts. Pure, so the exit decision (duplicates → failure) is unit-tested.
 *
 * A duplicate is a record of the topic whose id another record (another offset) has too. A record
 * the consumer is handed a second time (the same partition and offset: a group rebalance, e.g.
 * while partition leaders move, resumes from the last committed offset) is the same record:
 * it is counted once, and the re-deliveries are reported apart.
 */
import type { ReceivedMessage } from '../producers/kafka-types';

export interface VerifyReport {
  messages: number;
  distinctIds: number;
  duplicates: number;
  /** A few duplicated ids, to look up. */
  duplicateExamples: string[];
  invalidJson: number;
  missingId: number;
  perPartition: Record<string, number>;
  /** Records handed to the consumer again (an offset at or below one already read), not counted twice. */
  redelivered: number;
}

const EXAMPLES = 5;

export class VerifyTally {
  private readonly ids = new Set<string>();
  private readonly report: VerifyReport = { messages: 0, distinctIds: 0, duplicates: 0, duplicateExamples: [], invalidJson: 0, missingId: 0, perPartition: {}, redelivered: 0 };
  /** The highest offset read in each partition: a partition's records come in offset order. */
  private readonly highest = new Map<number, bigint>();

  /** @param idField the JSON field holding the event id (the spec's `id`). */
  constructor(private readonly idField: string) {}

  add(m: ReceivedMessage): void {
    const r = this.report;
    const offset = BigInt(m.offset);
    const highest = this.highest.get(m.partition);
    if (highest !== undefined && offset <= highest) {
      r.redelivered++;
      return;
    }
    this.highest.set(m.partition, offset);
    r.messages++;
    r.perPartition[m.partition] = (r.perPartition[m.partition] ?? 0) + 1;
    let value: unknown;
    try {
      value = JSON.parse(m.value);
    } catch {
      r.invalidJson++;
      return;
    }
    const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[this.idField] : undefined;
    if (typeof id !== 'string' && typeof id !== 'number') {
      r.missingId++;
      return;
    }
    const key = String(id);
    if (this.ids.has(key)) {
      r.duplicates++;
      if (r.duplicateExamples.length < EXAMPLES && !r.duplicateExamples.includes(key)) r.duplicateExamples.push(key);
    } else this.ids.add(key);
  }

  result(): VerifyReport {
    return { ...this.report, distinctIds: this.ids.size, perPartition: { ...this.report.perPartition } };
  }
}

/**
 * Knows when a consumer has read everything that was in the topic when it started: each
 * partition's offset has reached the high watermark taken then. Later messages don't count.
 */
export class CatchUp {
  private readonly remaining = new Map<number, bigint>();

  constructor(ends: { partition: number; low: string; high: string }[]) {
    for (const e of ends) if (BigInt(e.high) > BigInt(e.low)) this.remaining.set(e.partition, BigInt(e.high) - 1n);
  }

  /** Records a message's offset; true once every partition is caught up. */
  seen(partition: number, offset: string): boolean {
    const last = this.remaining.get(partition);
    if (last !== undefined && BigInt(offset) >= last) this.remaining.delete(partition);
    return this.done;
  }

  get done(): boolean {
    return this.remaining.size === 0;
  }
}

export function formatVerify(topic: string, r: VerifyReport): string {
  const parts = Object.entries(r.perPartition)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([p, c]) => `${p}:${c}`)
    .join(' ');
  return [
    `${topic}: ${r.messages} messages, ${r.distinctIds} distinct ids, ${r.duplicates} duplicates${r.duplicateExamples.length ? ` (e.g. ${r.duplicateExamples.join(', ')})` : ''}`,
    `  invalid JSON ${r.invalidJson}, without an id ${r.missingId}${r.redelivered ? `; ${r.redelivered} handed to the consumer again (same partition and offset), counted once` : ''}`,
    `  per partition ${parts || '(none)'}`,
  ].join('\n');
}
