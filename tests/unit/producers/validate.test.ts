import { parsePipelineSpecText } from '../../../lib/pipeline-spec';
import { assignedId, convert, dlqMessage, eventMessage, isoTimestamp, parseIsoTimestamp, validateRecord, Validation } from '../../../producers/validate';

const spec = parsePipelineSpecText(`
name: flights
topic: flights
key: origin
id: event_id
eventTime: date
fields:
  - { name: date, type: timestamp, required: true }
  - { name: delay, type: int, required: true }
  - { name: distance, type: long }
  - { name: ratio, type: double }
  - { name: cancelled, type: boolean }
  - { name: origin, type: string, required: true }
`);

const json = { source: 'flights.jsonl', position: 7, textValues: false };
const csv = { ...json, source: 'flights.csv', textValues: true };
const good = { date: '2001-01-01T00:01:00Z', delay: 33, distance: 2176, ratio: 0.5, cancelled: false, origin: 'LAS' };

function reason(v: Validation): string {
  if (v.ok) throw new Error('expected an invalid record');
  return v.reason;
}

describe('validateRecord', () => {
  it('builds the wire object in spec order with an assigned id, a key and the event time', () => {
    const v = validateRecord(spec, { ...good, extra: 'dropped' }, json);
    expect(v).toEqual({
      ok: true,
      event: {
        id: 'flights.jsonl#7',
        key: 'LAS',
        eventTimeMs: Date.UTC(2001, 0, 1, 0, 1),
        value: { date: '2001-01-01T00:01:00.000Z', delay: 33, distance: 2176, ratio: 0.5, cancelled: false, origin: 'LAS', event_id: 'flights.jsonl#7' },
      },
    });
    expect(JSON.stringify(v.ok && v.event.value)).toBe(
      '{"date":"2001-01-01T00:01:00.000Z","delay":33,"distance":2176,"ratio":0.5,"cancelled":false,"origin":"LAS","event_id":"flights.jsonl#7"}',
    );
  });

  it('keeps an id the record carries, and writes null for absent optional fields', () => {
    const v = validateRecord(spec, { date: '2001-01-01', delay: 1, origin: 'SFO', event_id: 'abc-1' }, json);
    expect(v.ok && v.event.id).toBe('abc-1');
    expect(v.ok && v.event.value).toEqual({ date: '2001-01-01T00:00:00.000Z', delay: 1, distance: null, ratio: null, cancelled: null, origin: 'SFO', event_id: 'abc-1' });
    expect(validateRecord(spec, { ...good, event_id: 42 }, json)).toMatchObject({ ok: true, event: { id: '42' } });
  });

  it('assigns the same id to the same source and position', () => {
    expect(assignedId('flights-3m.parquet', 0)).toBe('flights-3m.parquet#0');
    expect(validateRecord(spec, good, json)).toEqual(validateRecord(spec, good, json));
  });

  it('keys by an overriding key field, as text', () => {
    expect(validateRecord(spec, good, { ...json, keyField: 'delay' })).toMatchObject({ ok: true, event: { key: '33' } });
  });

  it('parses CSV text into the spec types, and an empty cell is absent', () => {
    const v = validateRecord(spec, { date: '2001-01-01 00:01', delay: '-5', distance: '', ratio: '1e-3', cancelled: 'TRUE', origin: 'ATL', event_id: '' }, csv);
    expect(v.ok && v.event.value).toEqual({ date: '2001-01-01T00:01:00.000Z', delay: -5, distance: null, ratio: 0.001, cancelled: true, origin: 'ATL', event_id: 'flights.csv#7' });
    expect(reason(validateRecord(spec, { ...good, delay: '', origin: 'ATL' }, csv))).toBe('missing required field "delay"');
  });

  it('gives exact reasons, all problems of a record together', () => {
    expect(reason(validateRecord(spec, { delay: 1.5, origin: 7 }, json))).toBe(
      'missing required field "date"; field "delay": expected int, got number 1.5; field "origin": expected string, got number 7',
    );
    expect(reason(validateRecord(spec, { ...good, delay: '12' }, json))).toBe('field "delay": expected int, got string "12"');
    expect(reason(validateRecord(spec, { ...good, delay: 3_000_000_000 }, json))).toBe('field "delay": 3000000000 is out of range for int');
    expect(reason(validateRecord(spec, { ...good, distance: 2n ** 60n }, json))).toBe(
      'field "distance": 1152921504606846976 is beyond ±2^53-1, which a JSON number cannot carry exactly',
    );
    expect(reason(validateRecord(spec, { ...good, date: 'yesterday' }, json))).toBe('field "date": "yesterday" is not an ISO-8601 timestamp');
    expect(reason(validateRecord(spec, { ...good, date: '2001-02-30' }, json))).toBe('field "date": "2001-02-30" is not an ISO-8601 timestamp');
    expect(reason(validateRecord(spec, { ...good, date: new Date(NaN) }, json))).toBe('field "date": is an invalid date');
    expect(reason(validateRecord(spec, { ...good, date: true }, json))).toBe('field "date": expected timestamp, got boolean true');
    expect(reason(validateRecord(spec, { ...good, ratio: 'x' }, csv))).toBe('field "ratio": expected double, got string "x"');
    expect(reason(validateRecord(spec, { ...good, cancelled: 'yes' }, csv))).toBe('field "cancelled": expected boolean, got string "yes"');
    expect(reason(validateRecord(spec, { ...good, origin: ['LAS'] }, json))).toBe('field "origin": expected string, got array');
    expect(reason(validateRecord(spec, { ...good, origin: { code: 'LAS' } }, json))).toBe('field "origin": expected string, got object');
    expect(reason(validateRecord(spec, { ...good, event_id: '' }, json))).toBe('field "event_id": the id is empty');
    expect(reason(validateRecord(spec, { ...good, event_id: true }, json))).toBe('field "event_id": expected a string or integer id, got boolean true');
    expect(reason(validateRecord(spec, { ...good, origin: 'x'.repeat(50), delay: 'y'.repeat(50) }, json))).toBe(
      `field "delay": expected int, got string "${'y'.repeat(40)}…"`,
    );
  });
});

describe('timestamps', () => {
  it('accepts ISO-8601 forms and treats a missing zone as UTC', () => {
    expect(parseIsoTimestamp('2001-01-01')).toBe(Date.UTC(2001, 0, 1));
    expect(parseIsoTimestamp('2001-01-01T10:20')).toBe(Date.UTC(2001, 0, 1, 10, 20));
    expect(parseIsoTimestamp('2001-01-01T10:20:30.123456Z')).toBe(Date.UTC(2001, 0, 1, 10, 20, 30, 123));
    expect(parseIsoTimestamp('2001-01-01T10:20:30+02:00')).toBe(Date.UTC(2001, 0, 1, 8, 20, 30));
    expect(parseIsoTimestamp('2001-01-01T10:20:30-0530')).toBe(Date.UTC(2001, 0, 1, 15, 50, 30));
  });

  it('refuses impossible dates and times', () => {
    for (const t of ['2001-13-01', '2001-02-29', '2001-01-01T24:00', '2001-01-01T10:60', '01/02/2001', '2001-01-01T10:20+25:00', '']) expect(parseIsoTimestamp(t)).toBeUndefined();
    expect(parseIsoTimestamp('2004-02-29')).toBe(Date.UTC(2004, 1, 29));
  });

  it('converts Dates (from any realm) and epoch milliseconds to ISO strings', () => {
    expect(convert('timestamp', new Date(Date.UTC(2001, 0, 1)), false)).toEqual({ ok: true, value: '2001-01-01T00:00:00.000Z' });
    expect(convert('timestamp', 978307200000, false)).toEqual({ ok: true, value: '2001-01-01T00:00:00.000Z' });
    // A fraction of a millisecond is dropped, as Date drops it.
    expect(convert('timestamp', 978307200000.9, false)).toEqual({ ok: true, value: '2001-01-01T00:00:00.000Z' });
    expect(convert('timestamp', 9e15, false)).toEqual({ ok: false, problem: 'expected timestamp, got number 9000000000000000' });
    expect(convert('timestamp', new Date(NaN), false)).toEqual({ ok: false, problem: 'is an invalid date' });
  });

  it('writes the ISO text toISOString writes, across days, before 1970 and beyond year 9999', () => {
    const day = 86_400_000;
    const cases = [0, -1, 1, day - 1, day, -day, -day - 1, 978307260000, 951782400000 - 1, 253402300799999, 253402300800000, -62198755200000, -8.64e15, 8.64e15];
    // Walk a few days forwards and backwards in uneven steps, so the day cache is entered and left.
    for (let t = 978307200000 - 3 * day; t < 978307200000 + 3 * day; t += 7_654_321) cases.push(t);
    for (let t = 978307200000 + 3 * day; t > 978307200000 - 3 * day; t -= 9_876_543) cases.push(t);
    for (const ms of cases) expect([ms, isoTimestamp(ms)]).toEqual([ms, new Date(ms).toISOString()]);
  });

  it('keeps the event time as epoch ms, for replay', () => {
    const v = validateRecord(spec, { ...good, date: '2001-01-01T00:01:00+01:00' }, json);
    expect(v.ok && v.event.eventTimeMs).toBe(Date.UTC(2000, 11, 31, 23, 1));
    expect(v.ok && v.event.value.date).toBe('2000-12-31T23:01:00.000Z');
  });
});

describe('messages', () => {
  it('puts the event JSON and the key on the wire, its production time as the record timestamp, and no headers', () => {
    const v = validateRecord(spec, good, json);
    if (!v.ok) throw new Error(v.reason);
    expect(eventMessage(v.event, 1700000000000)).toStrictEqual({ key: 'LAS', value: JSON.stringify(v.event.value), timestamp: 1700000000000 });
  });

  it('writes the DLQ value as reason, source, position and the payload as it was', () => {
    const m = dlqMessage('missing required field "delay"', 'flights-3m.parquet', 12, { delay: 2n ** 60n, date: new Date(0), n: 5n }, 1);
    expect(m.key).toBe('flights-3m.parquet#12');
    expect(m.headers).toEqual({ 'millrace-reason': 'missing required field "delay"', 'millrace-source': 'flights-3m.parquet', 'millrace-produced-at': '1' });
    expect(JSON.parse(m.value)).toEqual({
      reason: 'missing required field "delay"',
      source: 'flights-3m.parquet',
      position: 12,
      payload: { delay: '1152921504606846976', date: '1970-01-01T00:00:00.000Z', n: 5 },
    });
    expect(JSON.parse(dlqMessage('invalid JSON', 'a.jsonl', 0, '{"oops', 1).value).payload).toBe('{"oops');
  });
});
