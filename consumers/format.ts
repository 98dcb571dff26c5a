/** How `millrace consume` prints messages and lag: pure text, for a terminal or a pipe. */
import type { PartitionLag, ReceivedMessage } from '../producers/kafka-types';

/** One line: time, topic[partition]@offset, key, value. */
export function formatMessage(m: ReceivedMessage): string {
  const ts = m.timestamp && /^\d+$/.test(m.timestamp) ? new Date(Number(m.timestamp)).toISOString() : '-';
  return `${ts} ${m.topic}[${m.partition}]@${m.offset} ${m.key ?? '-'} ${m.value}`;
}

/** A JSON Lines envelope for --json: the value parsed when it is JSON, as text otherwise. */
export function messageEnvelope(m: ReceivedMessage): string {
  let value: unknown = m.value;
  try {
    value = JSON.parse(m.value);
  } catch {
    // Not JSON: keep the text.
  }
  return JSON.stringify({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key ?? null, timestamp: m.timestamp ?? null, headers: m.headers ?? {}, value });
}

export function totalLag(rows: PartitionLag[]): bigint {
  return rows.reduce((sum, r) => sum + BigInt(r.lag), 0n);
}

export function formatLag(group: string, topic: string, rows: PartitionLag[]): string {
  const table = [['PARTITION', 'COMMITTED', 'END', 'LAG'], ...rows.map((r) => [String(r.partition), r.committed ?? '-', r.high, r.lag])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  return [`group ${group} on ${topic}: total lag ${totalLag(rows)}`, ...lines].join('\n');
}
