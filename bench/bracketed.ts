/**
 * A producer's rate against Kafka's ProducerPerformance when the reference itself drifts: on this
 * machine it moved from 151,000 to 313,000 events/s within one run. Each measured run sits
 * between two reference runs, its ratio is to their mean, and a backend's figure is the median of
 * its rounds.
 */
export interface Bracketed {
  /** Each round's ratio, in the order they ran. */
  ratios: number[];
  median: number;
}

/** refs[i] ran just before runs[i], and refs[i + 1] just after it. */
export function bracketedRatios(refs: number[], runs: number[]): number[] {
  if (refs.length !== runs.length + 1) throw new Error(`${runs.length} runs need ${runs.length + 1} reference runs around them, not ${refs.length}`);
  return runs.map((run, i) => run / ((refs[i]! + refs[i + 1]!) / 2));
}

export function median(values: number[]): number {
  if (!values.length) throw new Error('the median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The runs of each name (they alternate) with their bracketed ratios and median. */
export function byName(names: string[], refs: number[], runs: number[]): Map<string, Bracketed & { rates: number[] }> {
  const ratios = bracketedRatios(refs, runs);
  const out = new Map<string, Bracketed & { rates: number[] }>();
  for (const name of new Set(names)) {
    const mine = names.flatMap((n, i) => (n === name ? [i] : []));
    const own = mine.map((i) => ratios[i]!);
    out.set(name, { ratios: own, rates: mine.map((i) => runs[i]!), median: median(own) });
  }
  return out;
}
