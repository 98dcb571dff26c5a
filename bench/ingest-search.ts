/**
 * The highest steady rate streaming ingest keeps up with: a search over rates, each held for a
 * while, judged by whether the ingest's backlog stays bounded (not by how fast it drains one).
 * The decisions are pure functions here, tested in tests/unit/bench; bench/pipeline.ts runs the
 * probes on a real cluster.
 */

/** One probe: events produced at `rate` for a while, with what each of the ingest's micro-batches read meanwhile. */
export interface Probe {
  /** The rate asked for, events/s. */
  rate: number;
  /** The rate the producer reached, events/s. */
  achieved: number;
  /**
   * The rows each micro-batch of the probe read, oldest first: the backlog it found. Spark's own
   * "offsets behind latest" is no measure here: a batch without a row limit reads up to the latest
   * offset it saw, so it reports 0 however far behind the stream it is.
   */
  backlog: number[];
}

export interface Verdict {
  bounded: boolean;
  /** The largest backlog of the probe's first and last halves. */
  firstHalfMax: number;
  secondHalfMax: number;
  /** How much the backlog may grow from the first half to the second and still count as bounded. */
  allowance: number;
  reason: string;
}

/**
 * Ingest that keeps up reads about a trigger's worth of events a micro-batch, a little more after
 * a slow one. Ingest that does not keeps finding a larger backlog: each batch takes longer because
 * it found more, and finds more because the one before took longer. Kept up with: the largest
 * backlog of the probe's second half is at most the first half's plus one trigger's worth of events.
 */
export function judge(probe: Probe, triggerSeconds: number): Verdict {
  const allowance = probe.rate * triggerSeconds;
  const n = probe.backlog.length;
  if (n < 4) return { bounded: false, firstHalfMax: NaN, secondHalfMax: NaN, allowance, reason: `only ${n} micro-batches: too few to judge (the ingest is stalled or the probe too short)` };
  const half = Math.floor(n / 2);
  const firstHalfMax = Math.max(...probe.backlog.slice(0, half));
  const secondHalfMax = Math.max(...probe.backlog.slice(half));
  const bounded = secondHalfMax <= firstHalfMax + allowance;
  const reason = bounded
    ? `its batches' backlog stayed within ${Math.round(firstHalfMax + allowance)} rows (largest ${secondHalfMax} in the second half)`
    : `its batches' backlog grew from ${firstHalfMax} to ${secondHalfMax} rows, more than ${Math.round(allowance)}`;
  return { bounded, firstHalfMax, secondHalfMax, allowance, reason };
}

/**
 * The next rate to try after the probes so far, or undefined when the search is done: doubling
 * from `start` until a rate is not kept up with (or the producer cannot reach it), then halving
 * the interval between the highest bounded and the lowest unbounded rate `steps` times.
 */
export function nextRate(tried: readonly { rate: number; bounded: boolean; producerLimited: boolean }[], start: number, steps: number): number | undefined {
  if (tried.length === 0) return start;
  // The producer could not reach a rate the ingest kept up with: no higher rate can be probed.
  if (tried.some((t) => t.bounded && t.producerLimited)) return undefined;
  const good = tried.filter((t) => t.bounded).map((t) => t.rate);
  const bad = tried.filter((t) => !t.bounded).map((t) => t.rate);
  const lo = good.length ? Math.max(...good) : 0;
  if (bad.length === 0) return lo * 2;
  const hi = Math.min(...bad);
  // The probes after the first unbounded one were bisections.
  const bisections = tried.length - 1 - tried.findIndex((t) => !t.bounded);
  if (bisections >= steps) return undefined;
  const mid = Math.round((lo + hi) / 2 / 100) * 100;
  return mid <= lo || mid >= hi ? undefined : mid;
}

/** The search's answer: the highest rate kept up with, or 0 when none was. */
export function highestBounded(tried: readonly { rate: number; bounded: boolean; achieved: number }[]): { rate: number; achieved: number } {
  const good = tried.filter((t) => t.bounded).sort((a, b) => b.rate - a.rate)[0];
  return good ? { rate: good.rate, achieved: good.achieved } : { rate: 0, achieved: 0 };
}
