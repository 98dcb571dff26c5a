/** The ingest rate search's decisions (bench/ingest-search.ts); the probes themselves run on a real cluster in `npm run bench -- pipeline`. */
import { highestBounded, judge, nextRate } from '../../../bench/ingest-search';

describe('the ingest rate search', () => {
  it('calls a lag that rises and falls around a level bounded, and one that keeps growing unbounded', () => {
    const steady = judge({ rate: 4000, achieved: 4000, lag: [900, 2500, 1200, 2600, 800, 2700, 1500, 2400] }, 2, 3);
    expect(steady.bounded).toBe(true);
    // 4,000 events/s falling behind by 10%: 400 more every second, 800 a 2 s batch, a third of them per partition.
    const growing = judge({ rate: 4000, achieved: 4000, lag: Array.from({ length: 30 }, (_, i) => 1000 + Math.round((i * 800) / 3)) }, 2, 3);
    expect(growing.bounded).toBe(false);
    expect(growing.reason).toMatch(/grew from/);
    // A stalled ingest (no batches) is not judged as keeping up.
    expect(judge({ rate: 4000, achieved: 4000, lag: [100, 200] }, 2, 3).bounded).toBe(false);
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
