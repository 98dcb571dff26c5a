import { runConsume } from '../../../consumers/consume';
import { formatLag, formatMessage, messageEnvelope } from '../../../consumers/format';
import { CatchUp, formatVerify, VerifyTally } from '../../../consumers/verify';
import type { ReceivedMessage } from '../../../producers/kafka-types';
import { fakeKafka } from '../producers/fake-kafka';

const msg = (partition: number, offset: number, value: string, key?: string): ReceivedMessage => ({ topic: 'flights', partition, offset: String(offset), key, value, timestamp: '978307260000' });

describe('VerifyTally', () => {
  it('counts messages, distinct ids, duplicates, invalid JSON, missing ids and partitions', () => {
    const t = new VerifyTally('event_id');
    for (const m of [
      msg(0, 0, '{"event_id":"a#0"}'),
      msg(1, 0, '{"event_id":"a#1"}'),
      msg(1, 1, '{"event_id":"a#0"}'),
      msg(2, 0, '{"event_id":"a#0"}'),
      msg(2, 1, 'not json'),
      msg(2, 2, '{"other":1}'),
      msg(0, 1, '{"event_id":7}'),
    ])
      t.add(m);
    const r = t.result();
    expect(r).toEqual({ messages: 7, distinctIds: 3, duplicates: 2, duplicateExamples: ['a#0'], invalidJson: 1, missingId: 1, perPartition: { 0: 2, 1: 2, 2: 3 }, redelivered: 0 });
    expect(formatVerify('flights', r)).toBe('flights: 7 messages, 3 distinct ids, 2 duplicates (e.g. a#0)\n  invalid JSON 1, without an id 1\n  per partition 0:2 1:2 2:3');
  });

  it('counts a record handed over again (a rebalance re-reads from the last commit) once, and reports the re-deliveries apart', () => {
    const t = new VerifyTally('event_id');
    // Partition 0 read to offset 2, then again from 1 after a rebalance; partition 1 holds a real duplicate (two offsets, one id).
    for (const m of [
      msg(0, 0, '{"event_id":"a#0"}'),
      msg(0, 1, '{"event_id":"a#1"}'),
      msg(1, 0, '{"event_id":"a#9"}'),
      msg(0, 2, '{"event_id":"a#2"}'),
      msg(0, 1, '{"event_id":"a#1"}'),
      msg(0, 2, '{"event_id":"a#2"}'),
      msg(0, 3, '{"event_id":"a#3"}'),
      msg(1, 1, '{"event_id":"a#9"}'),
    ])
      t.add(m);
    const r = t.result();
    expect(r).toEqual(expect.objectContaining({ messages: 6, distinctIds: 5, duplicates: 1, duplicateExamples: ['a#9'], redelivered: 2, perPartition: { 0: 4, 1: 2 } }));
    expect(formatVerify('flights', r)).toContain('invalid JSON 0, without an id 0; 2 handed to the consumer again (same partition and offset), counted once');
  });
});

describe('CatchUp', () => {
  it('is done when every non-empty partition reached its end offset from the start', () => {
    const c = new CatchUp([
      { partition: 0, low: '0', high: '2' },
      { partition: 1, low: '5', high: '5' },
      { partition: 2, low: '3', high: '4' },
    ]);
    expect(c.seen(0, '0')).toBe(false);
    expect(c.seen(2, '3')).toBe(false);
    expect(c.seen(0, '1')).toBe(true);
    expect(new CatchUp([{ partition: 0, low: '0', high: '0' }]).done).toBe(true);
  });
});

describe('formatting', () => {
  it('prints a message on one line, or as a JSON envelope', () => {
    expect(formatMessage(msg(2, 41, '{"a":1}', 'LAS'))).toBe('2001-01-01T00:01:00.000Z flights[2]@41 LAS {"a":1}');
    expect(formatMessage({ ...msg(0, 0, 'x'), timestamp: undefined })).toBe('- flights[0]@0 - x');
    expect(JSON.parse(messageEnvelope({ ...msg(1, 3, '{"a":1}', 'k'), headers: { h: 'v' } }))).toEqual({
      topic: 'flights',
      partition: 1,
      offset: '3',
      key: 'k',
      timestamp: '978307260000',
      headers: { h: 'v' },
      value: { a: 1 },
    });
    expect(JSON.parse(messageEnvelope(msg(1, 3, 'plain'))).value).toBe('plain');
  });

  it('tabulates lag per partition with the total', () => {
    expect(
      formatLag('pipeline-ingest', 'flights', [
        { partition: 0, committed: '100', low: '0', high: '150', lag: '50' },
        { partition: 1, committed: null, low: '0', high: '7', lag: '7' },
      ]),
    ).toBe('group pipeline-ingest on flights: total lag 57\nPARTITION  COMMITTED  END  LAG\n0                100  150   50\n1                  -    7    7');
  });
});

describe('runConsume', () => {
  async function seeded(values: string[]) {
    const kafka = fakeKafka({ partitions: 2 });
    await kafka.produce('flights', values.map((value, i) => ({ key: `k${i % 4}`, value })));
    return kafka;
  }

  it('tails formatted, raw or JSON, and stops after --count', async () => {
    const kafka = await seeded(['{"event_id":"a"}', '{"event_id":"b"}', '{"event_id":"c"}']);
    const lines: string[] = [];
    const r = await runConsume({ client: kafka, topic: 'flights', groupId: 'pipeline-t', fromBeginning: true, commit: false, count: 2, format: 'raw', signal: new AbortController().signal, write: (l) => lines.push(l) });
    expect(r).toEqual({ messages: 2, interrupted: false });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.startsWith('{"event_id":'))).toBe(true);
  });

  it('stops on Ctrl-C while waiting for new messages', async () => {
    const kafka = await seeded(['{"event_id":"a"}']);
    const stop = new AbortController();
    const lines: string[] = [];
    const done = runConsume({ client: kafka, topic: 'flights', groupId: 'pipeline-t', fromBeginning: true, commit: false, format: 'human', signal: stop.signal, write: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    expect(await done).toEqual({ messages: 1, interrupted: true });
    expect(lines[0]).toMatch(/ flights\[\d\]@0 k0 \{"event_id":"a"\}$/);
  });

  it('verifies what the topic held at the start and finds duplicates', async () => {
    const kafka = await seeded(['{"event_id":"a"}', '{"event_id":"b"}', '{"event_id":"a"}', 'oops', '{"event_id":"c"}']);
    const lines: string[] = [];
    const r = await runConsume({ client: kafka, topic: 'flights', groupId: 'pipeline-v', fromBeginning: true, commit: false, verify: { idField: 'event_id', idleMs: 5000 }, format: 'human', signal: new AbortController().signal, write: (l) => lines.push(l) });
    expect(lines).toEqual([]);
    expect(r.verify).toMatchObject({ messages: 5, distinctIds: 3, duplicates: 1, duplicateExamples: ['a'], invalidJson: 1, caughtUp: true });
  });

  it('verifies an empty topic at once, and gives up when nothing arrives', async () => {
    const empty = fakeKafka();
    const base = { topic: 'flights', groupId: 'pipeline-v', fromBeginning: true, commit: false, format: 'human' as const, signal: new AbortController().signal, write: () => undefined };
    expect((await runConsume({ ...base, client: empty, verify: { idField: 'event_id', idleMs: 5000 } })).verify).toMatchObject({ messages: 0, caughtUp: true });
    const stuck = fakeKafka();
    // The end offsets promise a message that never comes (as after a retention cut).
    stuck.topicOffsets = async () => [{ partition: 0, low: '0', high: '1' }];
    expect((await runConsume({ ...base, client: stuck, verify: { idField: 'event_id', idleMs: 20 } })).verify).toMatchObject({ messages: 0, caughtUp: false });
  });

  it('--to-end stops at what the topic held at the start, also when messages come again (a rebalance)', async () => {
    const kafka = await seeded(['{"event_id":"a"}', '{"event_id":"b"}', '{"event_id":"c"}', '{"event_id":"d"}']);
    const held = [...kafka.messages('flights')];
    // The group is rebalanced after two messages: the first two come again before the rest,
    // and a message produced after the start follows.
    kafka.tail = async ({ signal, onMessage }) => {
      const late = msg(0, kafka.messages('flights').filter((m) => m.partition === 0).length, '{"event_id":"late"}');
      for (const m of [...held.slice(0, 2), ...held, late]) if (!signal.aborted) await onMessage(m);
    };
    const lines: string[] = [];
    const base = { client: kafka, topic: 'flights', groupId: 'pipeline-e', fromBeginning: true, commit: false, format: 'raw' as const, signal: new AbortController().signal, write: (l: string) => lines.push(l) };
    const r = await runConsume({ ...base, toEnd: { idleMs: 5000 } });
    expect(r).toEqual({ messages: 6, interrupted: false, caughtUp: true });
    expect(new Set(lines)).toEqual(new Set(held.map((m) => m.value)));
    // A count alone would have stopped at 4 messages with two of them missing.
    lines.length = 0;
    await runConsume({ ...base, count: 4 });
    expect(new Set(lines).size).toBe(2);
    // One partition from an offset: only that partition's end counts.
    const one = await seeded(['{"event_id":"a"}', '{"event_id":"b"}', '{"event_id":"c"}']);
    lines.length = 0;
    const p = await runConsume({ ...base, client: one, partition: 1, startOffset: '0', toEnd: { idleMs: 5000 } });
    expect(p.caughtUp).toBe(true);
    expect(lines).toEqual(one.messages('flights').filter((m) => m.partition === 1).map((m) => m.value));
    // Nothing where the end offsets promise messages: it gives up after the idle time.
    const stuck = fakeKafka();
    stuck.topicOffsets = async () => [{ partition: 0, low: '0', high: '1' }];
    expect(await runConsume({ ...base, client: stuck, toEnd: { idleMs: 20 } })).toEqual({ messages: 0, interrupted: false, caughtUp: false });
  });

  it('shows a committed group\'s lag', async () => {
    const kafka = await seeded(['{"event_id":"a"}', '{"event_id":"b"}', '{"event_id":"c"}', '{"event_id":"d"}']);
    await runConsume({ client: kafka, topic: 'flights', groupId: 'pipeline-g', fromBeginning: true, commit: true, count: 1, format: 'raw', signal: new AbortController().signal, write: () => undefined });
    const lag = await kafka.consumerLag('pipeline-g', 'flights');
    expect(lag.reduce((s, p) => s + Number(p.lag), 0)).toBe(3);
  });
});
