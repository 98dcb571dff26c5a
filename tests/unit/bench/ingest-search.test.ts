/** The ingest rate search's decisions (bench/ingest-search.ts); the probes themselves run on a real cluster in `npm run bench -- pipeline`. */
import { highestBounded, judge, nextRate } from '../../../bench/ingest-search';

describe('the ingest rate search', () => {
  it('calls a backlog that rises and falls around a trigger\'s worth bounded, and one that keeps growing unbounded', () => {
    // 4,000 events/s, 2 s trigger: about 8,000 rows a batch, more after a slow one.
    const steady = judge({ rate: 4000, achieved: 4000, backlog: [8000, 8100, 13_500, 8000, 7900, 15_000, 8000, 8200] }, 2);
    expect(steady.bounded).toBe(true);
    // Each batch 10% slower than the one before found: the backlog compounds.
    const growing = judge({ rate: 4000, achieved: 4000, backlog: Array.from({ length: 16 }, (_, i) => Math.round(8000 * 1.1 ** i)) }, 2);
    expect(growing.bounded).toBe(false);
    expect(growing.reason).toMatch(/grew from/);
    // A stalled ingest (no batches) is not judged as keeping up.
    expect(judge({ rate: 4000, achieved: 4000, backlog: [100, 200] }, 2).bounded).toBe(false);
  });

  it('doubles until a rate is not kept up with, then bisects between the last good and the first bad rate', () => {
    const tried: { rate: number; bounded: boolean; producerLimited: boolean }[] = [];
    const capacity = 11_000;
    const seen: number[] = [];
    for (let r = nextRate(tried, 2000, 2); r !== undefined; r = nextRate(tried, 2000, 2)) {
      seen.push(r);
      tried.push({ rate: r, bounded: r <= capacity, producerLimited: false });
    }
    expect(seen).toEqual([2000, 4000, 8000, 16_000, 12_000, 10_000]);
    expect(highestBounded(tried.map((t) => ({ ...t, achieved: t.rate })))).toEqual({ rate: 10_000, achieved: 10_000 });
  });

  it('stops when the producer cannot reach a rate the ingest keeps up with', () => {
    const tried = [
      { rate: 2000, bounded: true, producerLimited: false },
      { rate: 4000, bounded: true, producerLimited: true },
    ];
    expect(nextRate(tried, 2000, 2)).toBeUndefined();
    expect(highestBounded([{ rate: 2000, bounded: false, achieved: 2000 }])).toEqual({ rate: 0, achieved: 0 });
  });
});
