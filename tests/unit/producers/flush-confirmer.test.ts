/**
 * Batches acknowledged by flushing (producers/flush-confirmer.ts), against a scripted producer whose
 * flushes end when the test says. The real one, librdkafka's, runs in tests/integration/20-kafka.
 */
import { FlushConfirmer, type FlushableProducer } from '../../../producers/flush-confirmer';
import type { BatchResult, OutgoingMessage } from '../../../producers/kafka-types';

const QUEUE_FULL = Object.assign(new Error('Local: Queue full'), { code: -184 });
const TIMED_OUT = Object.assign(new Error('Local: Timed out'), { code: -185 });

/** A producer whose flushes wait for the test: `handed` is what it was given, in order. */
function scripted() {
  const handed: string[] = [];
  const flushes: { handedBefore: number; end: (error?: Error) => void }[] = [];
  let refuse: ((topic: string, m: OutgoingMessage) => Error | undefined) | undefined;
  const producer: FlushableProducer = {
    produce(topic, m) {
      const error = refuse?.(topic, m);
      if (error) throw error;
      handed.push(`${topic}:${m.value}`);
    },
    queueIsFull: (e) => e === QUEUE_FULL,
    flush: () => new Promise<void>((resolve, reject) => flushes.push({ handedBefore: handed.length, end: (error) => (error ? reject(error) : resolve()) })),
    flushTimedOut: (e) => e === TIMED_OUT,
    explain: (e) => new Error(`explained: ${e.message}`),
  };
  return { producer, handed, flushes, refuseWith: (f: typeof refuse) => (refuse = f) };
}

const msgs = (...values: string[]): OutgoingMessage[] => values.map((value) => ({ value }));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await turn();
}
const options = { messageTimeoutMs: 60_000, queueFullPauseMs: 1, failureSettleMs: 1 };

describe('batches acknowledged by flushing (librdkafka reports failed messages only)', () => {
  it('a batch resolves only after a flush that began once its messages were handed over; batches sent during that flush wait for the next', async () => {
    const s = scripted();
    const c = new FlushConfirmer(s.producer, options);
    const results: string[] = [];
    const a = c.send('t', msgs('a1', 'a2')).then((r) => results.push(`a:${r.ok}`));
    await settled();
    expect(s.handed).toEqual(['t:a1', 't:a2']);
    expect(s.flushes).toHaveLength(1);
    expect(s.flushes[0]!.handedBefore).toBe(2);

    const b = c.send('t', msgs('b1'));
    const d = c.send('t.dlq', msgs('d1'));
    await settled();
    // Not handed over while the first flush runs: that flush could not speak for them.
    expect(s.handed).toEqual(['t:a1', 't:a2']);
    expect(results).toEqual([]);

    s.flushes[0]!.end();
    await a;
    expect(results).toEqual(['a:true']);
    await settled();
    expect(s.handed).toEqual(['t:a1', 't:a2', 't:b1', 't.dlq:d1']);
    expect(s.flushes).toHaveLength(2);
    expect(s.flushes[1]!.handedBefore).toBe(4);
    s.flushes[1]!.end();
    const [rb, rd] = await Promise.all([b, d]);
    expect(rb).toEqual({ ok: true, topic: 't', count: 1 });
    expect(rd).toEqual({ ok: true, topic: 't.dlq', count: 1 });
  });

  it("a failed message's report fails its epoch's batches of that topic, with the producer's explanation, and no batch of another topic or epoch", async () => {
    const s = scripted();
    const c = new FlushConfirmer(s.producer, options);
    const r1 = c.send('t', msgs('x'));
    await settled();
    const r2 = c.send('t', msgs('y'));
    const r3 = c.send('t.dlq', msgs('z'));
    s.flushes[0]!.end();
    expect((await r1).ok).toBe(true);
    await settled();
    // The report comes while the second epoch flushes, as librdkafka's would.
    c.failed('t', new Error('Broker: Topic authorization failed'));
    s.flushes[1]!.end();
    const [f, ok] = (await Promise.all([r2, r3])) as [BatchResult, BatchResult];
    expect(f).toEqual({ ok: false, topic: 't', count: 1, error: new Error('explained: Broker: Topic authorization failed') });
    expect(ok.ok).toBe(true);
    // The failure belonged to that epoch: the next batch of the same topic is not failed by it.
    const r4 = c.send('t', msgs('w'));
    await settled();
    s.flushes[2]!.end();
    expect((await r4).ok).toBe(true);
  });

  it('a full queue is waited out and offered the same message again, in order; another refusal fails its batch there, the rest of it unsent', async () => {
    const s = scripted();
    const c = new FlushConfirmer(s.producer, options);
    let full = 3;
    s.refuseWith((_t, m) => (m.value === 'b' && full-- > 0 ? QUEUE_FULL : m.value === 'bad' ? new Error('Broker: Message size too large') : undefined));
    const r1 = c.send('t', msgs('a', 'b', 'c'));
    const r2 = c.send('t', msgs('bad', 'never'));
    for (let i = 0; i < 50 && s.flushes.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
    expect(s.handed).toEqual(['t:a', 't:b', 't:c']);
    expect(full).toBe(-1);
    s.flushes[0]!.end();
    expect((await r1).ok).toBe(true);
    // The second batch went in the next epoch: its first message refused, the one after it never offered.
    await settled();
    expect(s.handed).toEqual(['t:a', 't:b', 't:c']);
    s.flushes[1]!.end();
    const failed = await r2;
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error.message).toBe('explained: Broker: Message size too large');
  });

  it('a flush that times out is flushed again; one that fails otherwise fails its epoch with that error', async () => {
    const s = scripted();
    const c = new FlushConfirmer(s.producer, options);
    const r1 = c.send('t', msgs('a'));
    await settled();
    s.flushes[0]!.end(TIMED_OUT);
    await settled();
    expect(s.flushes).toHaveLength(2);
    s.flushes[1]!.end();
    expect((await r1).ok).toBe(true);

    const r2 = c.send('t', msgs('b'));
    await settled();
    s.flushes[2]!.end(new Error('Producer is disconnected'));
    const r = await r2;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toBe('explained: Producer is disconnected');
  });
});
