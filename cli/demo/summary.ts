/** What the demo prints, and the deliberately invalid records it sends. */

/** p50 and p99 (nearest rank) of a list of milliseconds. */
export function percentiles(values: number[]): { p50: number | null; p99: number | null; max: number | null } {
  if (!values.length) return { p50: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/**
 * Records that break the flights spec in the ways real feeds do: a missing field, a wrong type,
 * a timestamp that is not one, a null required field, and a line that is not JSON at all.
 */
export function invalidFlightRecords(n: number): string[] {
  const kinds = [
    (i: number) => JSON.stringify({ date: '2001-03-04T05:06:00.000Z', distance: 500 + i, origin: 'SFO', destination: 'LAX' }),
    (i: number) => JSON.stringify({ date: '2001-03-04T05:06:00.000Z', delay: 'late', distance: 500 + i, origin: 'SFO', destination: 'LAX' }),
    (i: number) => JSON.stringify({ date: 'yesterday', delay: i, distance: 500, origin: 'SFO', destination: 'LAX' }),
    (i: number) => JSON.stringify({ date: '2001-03-04T05:06:00.000Z', delay: i, distance: null, origin: 'SFO', destination: 'LAX' }),
    (i: number) => `{"date": "2001-03-04T05:06:00.000Z", "delay": ${i}, "distance": 500, "origin": "SFO"`,
  ];
  return Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!(i));
}

interface Latency {
  p50: number | null;
  p99: number | null;
}

export interface DemoSummary {
  cluster: string;
  events_in: number;
  dlq: number;
  rows_in_lake: number;
  duplicates_in_lake: number;
  model: { version: unknown; rmse: unknown; baseline_rmse: unknown; mae: unknown; baseline_mae: unknown; rows_train: unknown; beats_baseline: unknown };
  predictions: { sent: number; received: number; sample: unknown[] };
  latency_ms: { produce_to_lake: Latency | null; produce_to_prediction: Latency };
  seconds: number;
  next: string;
}

const ms = (l: Latency | null): string => (l && l.p50 !== null ? `p50 ${(l.p50 / 1000).toFixed(1)} s, p99 ${((l.p99 ?? 0) / 1000).toFixed(1)} s` : 'n/a');
const num = (v: unknown): string => (typeof v === 'number' ? v.toFixed(2) : String(v));

export function formatDemo(s: DemoSummary): string {
  const sample = s.predictions.sample
    .map((p) => {
      const r = p as Record<string, unknown>;
      return `    ${String(r.event_id ?? '').padEnd(28)} predicted ${num(r.prediction).padStart(7)}  actual ${String(r.delay ?? '?').padStart(4)}`;
    })
    .join('\n');
  return `
millrace demo on cluster "${s.cluster}" (${s.seconds}s)
  events in            ${s.events_in.toLocaleString()}
  dead-lettered        ${s.dlq.toLocaleString()} (each with its reason, in the .dlq topic)
  rows in the lake     ${s.rows_in_lake.toLocaleString()} (${s.duplicates_in_lake} duplicate ids)
  model                ${String(s.model.version)}: RMSE ${num(s.model.rmse)} vs mean-predictor baseline ${num(s.model.baseline_rmse)}; MAE ${num(s.model.mae)} vs ${num(s.model.baseline_mae)} (${String(s.model.rows_train)} training rows)
  predictions          ${s.predictions.received} of ${s.predictions.sent} scored live
${sample}
  produce → lake       ${ms(s.latency_ms.produce_to_lake)}
  produce → prediction ${ms(s.latency_ms.produce_to_prediction)}

${s.next}`;
}
