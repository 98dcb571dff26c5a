/**
 * The highest steady rate streaming ingest keeps up with: a search over rates, each held for a
 * while, judged by whether the ingest's lag stays bounded (not by how fast it drains a backlog).
 * The decisions are pure functions here, tested in tests/unit/bench; bench/pipeline.ts runs the
 * probes on a real cluster.
 */

/** One probe: events produced at `rate` for a while, with the ingest's lag after each of its micro-batches. */
export interface Probe {
  /** The rate asked for, events/s. */
  rate: number;
  /** The rate the producer reached, events/s. */
  achieved: number;
  /** Offsets behind the latest, worst partition, after each micro-batch of the probe, oldest first. */
  lag: number[];
}

export interface Verdict {
  bounded: boolean;
  /** The worst lag of the probe's first and last halves. */
  firstHalfMax: number;
  secondHalfMax: number;
  /** How much the lag may grow from the first half to the second and still count as bounded. */
  allowance: number;
  reason: string;
}

/**
 * A lag that stays bounded does not grow through the probe: ingest that falls behind by a share s
 * of the rate R adds s·R events of lag every second, so over the second half of a probe of T
 * seconds its worst lag grows by about s·R·T/2. Allowed: one trigger's worth of events per
 * partition (a micro-batch in flight when the lag was read), so a probe of 60 s with a 2 s
 * trigger catches ingest that falls behind by more than about 7% of the rate.
 */
export function judge(probe: Probe, triggerSeconds: number, partitions: number): Verdict {
  const allowance = (probe.rate * triggerSeconds) / partitions;
  if (probe.lag.length < 4) return { bounded: false, firstHalfMax: NaN, secondHalfMax: NaN, allowance, reason: `only ${probe.lag.length} micro-batches: too few to judge (the ingest is stalled or the probe too short)` };
  const half = Math.floor(probe.lag.length / 2);
  const firstHalfMax = Math.max(...probe.lag.slice(0, half));
  const secondHalfMax = Math.max(...probe.lag.slice(half));
  const bounded = secondHalfMax <= firstHalfMax + allowance;
  const reason = bounded
    ? `the lag stayed within ${Math.round(firstHalfMax + allowance)} (worst ${secondHalfMax} in the second half)`
    : `the lag grew from ${firstHalfMax} to ${secondHalfMax}, more than ${Math.round(allowance)}`;
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
