import { parsePipelineSpecText } from '../../../lib/pipeline-spec';
import { Clock, newStats, ProduceSettings, runProduce, systemClock } from '../../../producers/pipeline';
import type { RecordSource, SourceItem } from '../../../producers/sources/types';
import { syntheticSource } from '../../../producers/sources/synthetic';
import { fakeKafka } from './fake-kafka';

const spec = parsePipelineSpecText(`
name: flights
topic: flights
key: origin
id: event_id
eventTime: date
fields:
  - { name: date, type: timestamp, required: true }
  - { name: delay, type: int, required: true }
  - { name: origin, type: string, required: true }
`);

const settings: ProduceSettings = { topic: 'flights', dlqTopic: 'flights.dlq', skip: 0, batchSize: 3, lingerMs: 10_000 };

function listSource(items: SourceItem[], name = 'list.jsonl'): RecordSource {
  return {
    name,
    textValues: false,
    async *read({ skip, signal }) {
      for (const item of items) if (item.position >= skip && !signal.aborted) yield item;
    },
  };
}

const rec = (position: number, minute: number, extra: Record<string, unknown> = {}): SourceItem => ({
  position,
  record: { date: new Date(Date.UTC(2001, 0, 1, 0, minute)).toISOString(), delay: position, origin: ['LAS', 'ATL', 'SFO'][position % 3], ...extra },
});

/** Time stands still except when the pipeline sleeps; every sleep is recorded. */
function fakeClock(): Clock & { sleeps: number[]; t: number } {
  const c = {
    t: 1_000_000,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  };
  return c;
}

async function produce(source: RecordSource, over: Partial<ProduceSettings> = {}, kafka = fakeKafka(), signal = new AbortController().signal, clock: Clock = fakeClock()) {
  const producer = await kafka.batchProducer({ maxInFlight: 2 });
  const result = await runProduce({ spec, settings: { ...settings, ...over }, source, producer, signal, clock });
  return { ...result, kafka };
}

describe('runProduce', () => {
  it('sends valid events to the topic and invalid or unparseable records to the DLQ, dropping none', async () => {
    const items: SourceItem[] = [rec(0, 1), rec(1, 2, { delay: 'late' }), { position: 2, unparseable: 'invalid JSON: oops', raw: '{oops' }, rec(3, 3), rec(4, 4, { origin: undefined })];
    const { summary, failure, kafka } = await produce(listSource(items));
    expect(failure).toBeUndefined();
    expect(summary).toMatchObject({ read: 5, sent: 2, dlq: 3, errors: 0, firstId: 'list.jsonl#0', lastId: 'list.jsonl#3', nextPosition: 5, interrupted: false });
    expect(kafka.messages('flights').map((m) => JSON.parse(m.value).event_id)).toEqual(['list.jsonl#0', 'list.jsonl#3']);
    const dlq = kafka.messages('flights.dlq');
    expect(dlq.map((m) => JSON.parse(m.value))).toEqual([
      { reason: 'field "delay": expected int, got string "late"', source: 'list.jsonl', position: 1, payload: { date: '2001-01-01T00:02:00.000Z', delay: 'late', origin: 'ATL' } },
      { reason: 'invalid JSON: oops', source: 'list.jsonl', position: 2, payload: '{oops' },
      { reason: 'missing required field "origin"', source: 'list.jsonl', position: 4, payload: { date: '2001-01-01T00:04:00.000Z', delay: 4 } },
    ]);
    expect(dlq.map((m) => m.headers?.['millrace-reason'])).toEqual(['field "delay": expected int, got string "late"', 'invalid JSON: oops', 'missing required field "origin"']);
    const first = kafka.messages('flights')[0]!;
    expect(first.key).toBe('LAS');
    expect([first.timestamp, first.headers]).toEqual(['1000000', undefined]);
  });

  it('gives the same ids and values when the same source runs twice', async () => {
    const source = syntheticSource(spec, { seed: 7, invalidEvery: 4 });
    const a = await produce(source, { limit: 20 });
    const b = await produce(source, { limit: 20 });
    expect(a.kafka.messages('flights').map((m) => m.value)).toEqual(b.kafka.messages('flights').map((m) => m.value));
    expect(a.kafka.messages('flights').map((m) => JSON.parse(m.value).event_id)).toEqual(
      [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 18].map((p) => `synthetic-7#${p}`),
    );
    expect(a.summary).toMatchObject({ read: 20, sent: 15, dlq: 5 });
  });

  it('keeps ids of a skipped-ahead run equal to those of a full run', async () => {
    const full = await produce(syntheticSource(spec, { seed: 1 }), { limit: 10 });
    const tail = await produce(syntheticSource(spec, { seed: 1 }), { skip: 6, limit: 4 });
    expect(tail.kafka.messages('flights').map((m) => m.value)).toEqual(full.kafka.messages('flights').slice(6).map((m) => m.value));
    expect(tail.summary).toMatchObject({ firstId: 'synthetic-1#6', lastId: 'synthetic-1#9', nextPosition: 10 });
  });

  it('paces to the target rate by an absolute schedule', async () => {
    const clock = fakeClock();
    const { summary } = await produce(syntheticSource(spec, { seed: 1 }), { rate: 100, limit: 50 }, fakeKafka(), undefined, clock);
    // 50 events at 100/s: the last is due 490 ms after the first; 10 ms waits, each slept once.
    expect(clock.sleeps).toEqual(Array(49).fill(10));
    expect(summary.seconds).toBeCloseTo(0.49, 5);
    expect(summary.rate).toBeCloseTo(50 / 0.49, 0);
  });

  it('saves up waits too short for a timer and sleeps them in one go', async () => {
    const clock = fakeClock();
    await produce(syntheticSource(spec, { seed: 1 }), { rate: 2000, limit: 11 }, fakeKafka(), undefined, clock);
    // 0.5 ms apart: events 4 and 8 are 2 ms ahead and sleep; event 10 is 1 ms ahead, under a timer's reach.
    expect(clock.sleeps).toEqual([2, 2]);
  });

  it('replays event time at the speed factor', async () => {
    const clock = fakeClock();
    const items = [rec(0, 0), rec(1, 1), rec(2, 1), rec(3, 3), rec(4, 2)];
    await produce(listSource(items), { replaySpeed: 60 }, fakeKafka(), undefined, clock);
    // One event minute per wall second at 60x; the out-of-order last event goes at once.
    expect(clock.sleeps).toEqual([1000, 2000]);
  });

  it('on abort, stops reading, flushes what was read, and says where to resume', async () => {
    const stop = new AbortController();
    const kafka = fakeKafka({ ackDelayMs: 5 });
    const clock = fakeClock();
    const source: RecordSource = {
      name: 'endless',
      textValues: false,
      async *read({ skip, signal }) {
        for (let p = skip; !signal.aborted; p++) {
          if (p === 7) stop.abort();
          yield rec(p, p);
        }
      },
    };
    const { summary, kafka: k } = await produce(source, { batchSize: 100 }, kafka, stop.signal, clock);
    expect(summary).toMatchObject({ read: 7, sent: 7, dlq: 0, errors: 0, interrupted: true, nextPosition: 7, lastId: 'endless#6' });
    expect(k.messages('flights')).toHaveLength(7);
  });

  it('counts a failed batch as errors and stops, keeping the books balanced', async () => {
    const kafka = fakeKafka({ failTopic: 'flights' });
    const { summary, failure } = await produce(syntheticSource(spec, { seed: 1, invalidEvery: 2 }), { limit: 100, batchSize: 2 }, kafka);
    expect((failure as Error).message).toBe('Not authorized to access topics: [flights]');
    expect(summary.error).toBe('Not authorized to access topics: [flights]');
    expect(summary.sent).toBe(0);
    expect(summary.read).toBeLessThan(100);
    expect(summary.read).toBe(summary.sent + summary.dlq + summary.errors);
  });

  it('stops soon after a batch fails when the brokers are slow: batches sent by their linger timer hold reading back, and none is sent after the failure', async () => {
    // A source that trickles (a record a millisecond) into batches sent by the linger timer, and a
    // producer whose every batch fails after 100 ms: before, reading ran ahead of the window, and
    // each queued batch waited its turn to fail after the first had (kafkajs, --retry-timeout 0).
    const trickle: RecordSource = {
      name: 'trickle',
      textValues: false,
      async *read({ skip, signal }) {
        for (let position = skip; position < 2000 && !signal.aborted; position++) {
          await new Promise((r) => setTimeout(r, 1));
          yield rec(position, position);
        }
      },
    };
    const kafka = fakeKafka({ failTopic: 'flights', ackDelayMs: 100 });
    const started = Date.now();
    const { summary, failure } = await produce(trickle, { batchSize: 1000, lingerMs: 5 }, kafka, new AbortController().signal, systemClock);
    expect((failure as Error).message).toBe('Not authorized to access topics: [flights]');
    // The window holds 2 batches; reading waits for a third; the rest of what was read is not sent.
    expect(kafka.batches.length).toBeLessThanOrEqual(3);
    expect(summary.sent).toBe(0);
    expect(summary.read).toBe(summary.errors);
    expect(summary.read).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports a source that fails, after flushing what it gave', async () => {
    const source: RecordSource = {
      name: 'flaky',
      textValues: false,
      async *read() {
        yield rec(0, 0);
        throw new Error('GET http://127.0.0.1/feed answered HTTP 500');
      },
    };
    const { summary, failure } = await produce(source);
    expect((failure as Error).message).toBe('GET http://127.0.0.1/feed answered HTTP 500');
    expect(summary).toMatchObject({ read: 1, sent: 1, error: 'GET http://127.0.0.1/feed answered HTTP 500' });
  });

  it('sends a half-full batch after the linger time, for slow sources', async () => {
    const kafka = fakeKafka();
    const stop = new AbortController();
    const source: RecordSource = {
      name: 'slow',
      textValues: false,
      async *read({ signal }) {
        yield rec(0, 0);
        // Waits like an HTTP poll would; the batch of one must not wait with it.
        await new Promise((r) => setTimeout(r, 100));
        expect(kafka.messages('flights')).toHaveLength(1);
        if (!signal.aborted) stop.abort();
      },
    };
    const { summary } = await produce(source, { batchSize: 100, lingerMs: 10 }, kafka, stop.signal);
    expect(summary.sent).toBe(1);
  });

  it('bounds the batches in flight and fills live stats', async () => {
    const kafka = fakeKafka({ ackDelayMs: 2 });
    const producer = await kafka.batchProducer({ maxInFlight: 2 });
    const stats = newStats();
    await runProduce({ spec, settings: { ...settings, batchSize: 5, limit: 100 }, source: syntheticSource(spec, { seed: 3 }), producer, signal: new AbortController().signal, stats, clock: fakeClock() });
    expect(kafka.maxInFlightSeen).toBe(2);
    expect(kafka.batches).toHaveLength(20);
    expect(stats).toEqual({ read: 100, sent: 100, dlq: 0, errors: 0 });
  });

  it('reads nothing with --limit 0', async () => {
    const { summary } = await produce(syntheticSource(spec, { seed: 1 }), { limit: 0 });
    expect(summary).toMatchObject({ read: 0, sent: 0, firstId: null, lastId: null });
  });
});

describe('a messy CSV export, through from: mappings (issue 16)', () => {
  it('lands every record with its fields from columns named with spaces, symbols and a byte-order mark; the summary shows the mapping', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { csvFileSource } = await import('../../../producers/sources/csv-file');
    const { formatSummary } = await import('../../../producers/progress');
    const trips = parsePipelineSpecText(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'specs', 'valid-from-columns.yaml'), 'utf8'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-messy-'));
    const file = path.join(dir, 'export.csv');
    const rows = Array.from({ length: 250 }, (_, i) => `2024-05-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z,"Airport, ${i}",${i % 10 === 0 ? '' : (i * 1.25).toFixed(2)},note ${i}`);
    // Three bad rows: no date (required), a cost that is no number, a short row.
    const bad = [',"Nowhere",1.00,x', '2024-05-02T10:00:00Z,"Somewhere",12 dollars,x', '2024-05-02T10:00:00Z,"Short"'];
    fs.writeFileSync(file, `\uFEFFFlight Date,Airport Name,Cost Total $,Remarks\r\n${[...rows.slice(0, 100), ...bad, ...rows.slice(100)].join('\r\n')}\r\n`);
    try {
      const kafka = fakeKafka();
      const producer = await kafka.batchProducer({ maxInFlight: 2 });
      const { summary, failure } = await runProduce({ spec: trips, settings: { ...settings, topic: 'trips', dlqTopic: 'trips.dlq', batchSize: 100 }, source: csvFileSource(file), producer, signal: new AbortController().signal, clock: fakeClock() });
      expect(failure).toBeUndefined();
      expect({ read: summary.read, sent: summary.sent, dlq: summary.dlq }).toEqual({ read: 253, sent: 250, dlq: 3 });
      const events = kafka.messages('trips').map((m) => JSON.parse(m.value) as Record<string, unknown>);
      expect(events[7]).toEqual({ flight_date: '2024-05-08T10:00:00.000Z', airport: 'Airport, 7', cost_total: 8.75, trip_id: 'export.csv#7' });
      expect(events.filter((e) => e.cost_total === null)).toHaveLength(25);
      expect(kafka.messages('trips.dlq').map((m) => (JSON.parse(m.value) as { reason: string }).reason)).toEqual([
        'missing required field "flight_date"',
        expect.stringMatching(/^field "cost_total": /),
        'CSV row has 2 columns, the header has 4',
      ]);
      expect(formatSummary(summary)).toContain('columns "Flight Date" → flight_date (from:)');
      expect(formatSummary(summary)).toContain('not used: "Remarks"');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
