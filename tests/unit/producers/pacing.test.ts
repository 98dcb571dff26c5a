import { InFlightWindow } from '../../../producers/in-flight';
import { RateSchedule, ReplaySchedule } from '../../../producers/pacing';
import { parseProduceFlags, parseRate, ProduceFlags } from '../../../producers/produce-options';
import { parsePipelineSpecText } from '../../../lib/pipeline-spec';

describe('RateSchedule', () => {
  it('spaces events 1/rate apart from the first', () => {
    const r = new RateSchedule(4);
    expect([r.next(0), r.next(0), r.next(0), r.next(0)]).toEqual([0, 250, 500, 750]);
  });

  it('does not accumulate drift when a wake-up comes late', () => {
    const r = new RateSchedule(10);
    expect(r.next(1000)).toBe(0);
    expect(r.next(1000)).toBe(100);
    // Woke at 1130 instead of 1100: the next event is due at 1200, so only 70 ms more.
    expect(r.next(1130)).toBe(70);
    // Far behind: no wait, and no burst allowance beyond the schedule either.
    expect(r.next(2000)).toBe(0);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RateSchedule(0)).toThrow('rate must be a positive number, got 0');
  });
});

describe('ReplaySchedule', () => {
  it('maps event-time gaps to wall-clock gaps divided by the speed', () => {
    const r = new ReplaySchedule(3600);
    expect(r.next(Date.UTC(2001, 0, 1, 0), 5000)).toBe(0);
    expect(r.next(Date.UTC(2001, 0, 1, 1), 5000)).toBe(1000);
    expect(r.next(Date.UTC(2001, 0, 1, 2), 5500)).toBe(1500);
    expect(r.next(Date.UTC(2000, 11, 31), 9000)).toBe(0);
    expect(r.next(undefined, 9000)).toBe(0);
  });
});

describe('InFlightWindow', () => {
  it('never runs more than max tasks and drains them all', async () => {
    const w = new InFlightWindow<number>(2);
    let running = 0;
    let peak = 0;
    const task = (i: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 3));
      running--;
      return i;
    };
    const results = [];
    for (let i = 0; i < 6; i++) results.push((await w.add(task(i))).result);
    await w.drain();
    expect(peak).toBe(2);
    expect(w.size).toBe(0);
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('with a floor, lets tasks in past max while their weights add up to less than it, and no further', async () => {
    const w = new InFlightWindow<void>(2, 1000);
    const ends: (() => void)[] = [];
    const task = () => () => new Promise<void>((r) => ends.push(r));
    let admitted = 0;
    const adds = [300, 300, 300, 300, 300].map((weight) => w.add(task(), weight).then(() => admitted++));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    // 300 + 300 + 300 = 900 < 1000 lets the fourth in; 1,200 holds the fifth.
    expect(admitted).toBe(4);
    expect(w.size).toBe(4);
    ends[0]!();
    await Promise.all(adds);
    expect(admitted).toBe(5);
    ends.slice(1).forEach((end) => end());
    await w.drain();
    expect(w.size).toBe(0);
  });
});

describe('produce flags', () => {
  const spec = parsePipelineSpecText('name: f\ntopic: flights\nid: event_id\nkey: origin\neventTime: at\nfields:\n  - { name: origin, type: string }\n  - { name: at, type: timestamp, required: true }\n');
  const flags: ProduceFlags = { rate: 'max', skip: '0', pollInterval: '5000', seed: '1', batchSize: '500', maxInFlight: '4', retryTimeout: '300' };

  it('takes --retry-timeout in seconds (0: no re-sends), and refuses anything else', () => {
    expect(parseProduceFlags(flags, spec).retryTimeoutMs).toBe(300_000);
    expect(parseProduceFlags({ ...flags, retryTimeout: '0' }, spec).retryTimeoutMs).toBe(0);
    expect(() => parseProduceFlags({ ...flags, retryTimeout: '5m' }, spec)).toThrow(/--retry-timeout must be a whole number \(0 or more\), got "5m"/);
  });

  it('parses --rate as events per second or max', () => {
    expect(parseRate('max')).toBeUndefined();
    expect(parseRate('2500')).toBe(2500);
    expect(() => parseRate('fast')).toThrow('--rate must be a positive number, got "fast"');
    expect(() => parseRate('-1')).toThrow('--rate must be a positive number, got "-1"');
  });

  it('fills settings from the spec and the flags', () => {
    expect(parseProduceFlags({ ...flags, topic: 'other', limit: '10', skip: '5', invalidEvery: '100' }, spec)).toEqual({
      settings: { topic: 'other', dlqTopic: 'other.dlq', rate: undefined, replaySpeed: undefined, limit: 10, skip: 5, batchSize: 500, lingerMs: 50 },
      pollIntervalMs: 5000,
      seed: 1,
      invalidEvery: 100,
      maxInFlight: 4,
      retryTimeoutMs: 300_000,
    });
  });

  it('refuses bad flags with a reason', () => {
    expect(() => parseProduceFlags({ ...flags, key: 'nope' }, spec)).toThrow('--key nope is not a field of the spec');
    expect(() => parseProduceFlags({ ...flags, limit: '1.5' }, spec)).toThrow('--limit must be a whole number (0 or more), got "1.5"');
    expect(() => parseProduceFlags({ ...flags, batchSize: '0' }, spec)).toThrow('--batch-size must be a whole number of at least 1, got "0"');
  });
});
