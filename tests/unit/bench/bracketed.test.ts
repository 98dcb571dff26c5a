/** The producer bench's arithmetic: each run against the two reference runs around it, and a median per backend. */
import { bracketedRatios, byName, median } from '../../../bench/bracketed';

describe('bracketedRatios', () => {
  it('divides each run by the mean of the reference runs just before and just after it', () => {
    expect(bracketedRatios([200, 100, 300], [150, 100])).toEqual([1, 0.5]);
  });

  it('refuses runs that are not each between two references', () => {
    expect(() => bracketedRatios([200, 100], [150, 100])).toThrow('2 runs need 3 reference runs around them, not 2');
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('the median of nothing');
  });
});

describe('byName', () => {
  it('groups alternating runs by backend, each with its rates, ratios and median', () => {
    const refs = [100, 100, 200, 200, 100];
    const runs = [50, 150, 100, 300];
    const got = byName(['kafkajs', 'librdkafka', 'kafkajs', 'librdkafka'], refs, runs);
    expect(got.get('kafkajs')).toEqual({ rates: [50, 100], ratios: [0.5, 0.5], median: 0.5 });
    expect(got.get('librdkafka')).toEqual({ rates: [150, 300], ratios: [1, 2], median: 1.5 });
  });
});
