/**
 * The demo for any spec (issue 16 item 7): its deliberately invalid records are made from the spec,
 * each breaks it in exactly one way that the producer's own path (column mapping, validation)
 * dead-letters, and the summary speaks of the spec's id and label.
 */
import * as path from 'node:path';
import { formatDemo, invalidRecords, slowestSeconds, type DemoSummary } from '../../../cli/demo/summary';
import { loadPipelineSpec, parsePipelineSpecText, type PipelineSpec } from '../../../lib/pipeline-spec';
import { ColumnMapper } from '../../../producers/columns';
import { validateRecord } from '../../../producers/validate';

const REPO = path.resolve(__dirname, '../../..');
const flights = loadPipelineSpec(path.join(REPO, 'examples/pipelines/flights.yaml'));
const birdstrikes = loadPipelineSpec(path.join(REPO, 'examples/pipelines/birdstrikes.yaml'));

/** Each line as `produce` takes it from a JSON-lines file: parsed, mapped to the fields, validated. */
function verdicts(spec: PipelineSpec, lines: string[]): string[] {
  const mapper = new ColumnMapper(spec);
  return lines.map((line, position) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return 'not JSON';
    }
    const v = validateRecord(spec, mapper.map(record), { source: 'invalid.jsonl', position, textValues: false });
    return v.ok ? 'valid' : v.reason;
  });
}

describe('invalidRecords', () => {
  it.each([
    ['flights', flights],
    ['birdstrikes (from: columns)', birdstrikes],
  ])('%s: five kinds in turn, each refused for its one problem', (_, spec) => {
    const label = spec.model!.label;
    const got = verdicts(spec, invalidRecords(spec, 10));
    const oneKind = [
      `missing required field "${label}"`,
      new RegExp(`^field "[a-z_]+": `),
      new RegExp(`^field "${spec.eventTime}": "yesterday" is not an ISO-8601 timestamp$`),
      `missing required field "${label}"`,
      'not JSON',
    ];
    got.forEach((reason, i) => {
      const want = oneKind[i % 5]!;
      if (typeof want === 'string') expect(reason).toBe(want);
      else expect(reason).toMatch(want);
    });
    expect(got).not.toContain('valid');
  });

  it('control: the same records with the broken value put right are valid', () => {
    const [missing] = invalidRecords(birdstrikes, 1);
    const fixed = { ...(JSON.parse(missing!) as Record<string, unknown>), 'Speed IAS in knots': 140 };
    expect(verdicts(birdstrikes, [JSON.stringify(fixed)])).toEqual(['valid']);
  });

  it('a spec with no numeric field gets a wrong type in a string field', () => {
    const spec = parsePipelineSpecText('name: notes\ntopic: notes\nid: id\neventTime: at\nfields:\n  - { name: at, type: timestamp, required: true }\n  - { name: text, type: string, required: true }\n');
    const got = verdicts(spec, invalidRecords(spec, 5));
    expect(got[0]).toBe('missing required field "text"');
    expect(got[1]).toMatch(/^field "text": /);
    expect(got[3]).toBe('missing required field "text"');
  });
});

describe('formatDemo', () => {
  const summary = (spec: DemoSummary['spec'], sample: Record<string, unknown>[]): DemoSummary => ({
    cluster: 'demo',
    spec,
    events_in: 7164,
    dlq: 2936,
    rows_in_lake: 7164,
    duplicates_in_lake: 0,
    model: { version: 'v20261205T010000Z', rmse: 30.1, baseline_rmse: 43.5, mae: 22, baseline_mae: 33, rows_train: 5700, beats_baseline: true },
    predictions: { sent: 500, received: 500, sample },
    latency_ms: { produce_to_lake: { p50: 2000, p99: 4000 }, produce_to_prediction: { p50: 1500, p99: 3000 } },
    seconds: 240,
    next: 'millrace down',
  });

  it("names the spec and shows each sample's id, prediction and actual label", () => {
    const out = formatDemo(summary({ name: 'birdstrikes', id: 'strike_id', label: 'speed' }, [{ strike_id: 'demo-x-score#3', prediction: 141.26, speed: 150, event_id: 'not this' }]));
    expect(out).toContain('millrace demo of "birdstrikes" on cluster "demo"');
    expect(out).toContain('scored live (speed: predicted and actual)');
    expect(out).toMatch(/demo-x-score#3\s+predicted\s+141\.26\s+actual\s+150/);
    expect(out).not.toContain('not this');
    expect(out).toContain('RMSE 30.10 vs mean-predictor baseline 43.50 (30.8% lower); MAE 22.00 vs 33.00');
    expect(out).not.toContain('scored again');
  });

  it('says how many events were scored again, where a replay put a second prediction in the topic', () => {
    const s = summary({ name: 'flights', id: 'event_id', label: 'delay' }, []);
    const out = formatDemo({ ...s, predictions: { ...s.predictions, duplicates: 2000 } });
    expect(out).toContain('500 of 500 scored live, 2,000 scored again (at-least-once output; timed by the first)');
  });
});

describe('slowestSeconds', () => {
  it('finds the seconds of production where the latency tail lies, slowest first', () => {
    const t0 = 1_700_000_000_000;
    const samples = [];
    // 10 seconds at 10 events a second, 40 ms each, and a 3 s pause in second 6.
    for (let i = 0; i < 100; i++) samples.push({ producedAt: t0 + i * 100, latency: 40 });
    samples[61]!.latency = 3000;
    samples[62]!.latency = 2900;
    samples[25]!.latency = 900;
    expect(slowestSeconds(samples, 3)).toEqual([
      { second: 6, events: 10, p99: 3000, max: 3000 },
      { second: 2, events: 10, p99: 900, max: 900 },
      { second: 0, events: 10, p99: 40, max: 40 },
    ]);
    expect(slowestSeconds([])).toEqual([]);
    // The bench's run: 330,000 samples (a spread of them into Math.min overflowed the stack).
    const many = Array.from({ length: 330_000 }, (_, i) => ({ producedAt: t0 + i, latency: i === 200_000 ? 5000 : 30 }));
    expect(slowestSeconds(many, 1)).toEqual([{ second: 200, events: 1000, p99: 30, max: 5000 }]);
  });
});
