/**
 * Live progress and the closing summary of `millrace produce`, as text. Pure: the command decides
 * where and how often (a rewritten line on a terminal, plain lines in logs).
 */
import type { ProduceStats, ProduceSummary } from './pipeline';
import { formatMapping } from './columns';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Remembers the previous sample, so each line shows the current rate besides the average. */
export class ProgressMeter {
  private prev: { at: number; sent: number } | undefined;

  constructor(private readonly startedAt: number) {}

  line(stats: ProduceStats, now: number): string {
    const elapsed = Math.max(0.001, (now - this.startedAt) / 1000);
    const current = this.prev && now > this.prev.at ? ((stats.sent - this.prev.sent) * 1000) / (now - this.prev.at) : stats.sent / elapsed;
    this.prev = { at: now, sent: stats.sent };
    return `sent ${n(stats.sent)}  ${n(current)}/s (avg ${n(stats.sent / elapsed)}/s)  dlq ${n(stats.dlq)}  errors ${n(stats.errors)}  read ${n(stats.read)}  ${formatDuration(elapsed)}`;
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatSummary(s: ProduceSummary): string {
  const lines = [
    `${s.interrupted ? 'interrupted; flushed what was read. ' : ''}produced from ${s.source} in ${s.seconds.toFixed(1)}s${s.client ? ` with ${s.client}` : ''}`,
    `  sent    ${n(s.sent)} to ${s.topic} (${n(s.rate)} events/s)`,
    `  dlq     ${n(s.dlq)} to ${s.dlqTopic}`,
    `  errors  ${n(s.errors)}`,
  ];
  if (s.retriedBatches) lines.push(`  retried ${n(s.retriedBatches)} batch send(s), after a broker was unreachable or a leader moved`);
  if (s.firstId !== null) lines.push(`  ids     ${s.firstId} … ${s.lastId}`);
  if (s.columns) lines.push(...formatMapping(s.columns).map((l, i) => `  ${i === 0 ? 'columns' : '       '} ${l}`));
  if (s.interrupted || s.error) lines.push(`  resume  --skip ${s.nextPosition}`);
  if (s.error) lines.push(`  error   ${s.error}`);
  return lines.join('\n');
}
