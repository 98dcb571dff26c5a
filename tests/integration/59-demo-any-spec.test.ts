/**
 * `millrace demo` with a second, non-flights spec (issue 16: "a second, non-flights spec runs
 * through demo"), on real data as exports come: vega-datasets' birdstrikes.csv, whose headers
 * have spaces, case and a "$" ("Flight Date", "Airport Name", "Cost Total $"), mapped by the spec's
 * `from:` and the tolerant match (examples/pipelines/birdstrikes.yaml). The reports with no
 * airspeed (the label) go to the DLQ with their reason; every other row lands in the lake, its
 * values in the spec's fields, counted exactly against the CSV as the test reads it itself.
 *
 * Then A/B scoring (issue 16 item 6): a second model version scores half the events side by side
 * with the demo's, each event by one of them, and compare_models.py gives each version's error.
 *
 * It runs before the pipeline file (60) and stops its own streaming jobs at the end, so the
 * worker's cores are the pipeline's again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { parseResultLine } from '../../cli/demo/steps';
import { cli, CONFIG, ensureBaseCluster, JOB, node, REPO, type CliResult } from './harness';

const SPEC = path.join(REPO, 'examples/pipelines/birdstrikes.yaml');
const CSV = path.join(REPO, 'node_modules/vega-datasets/data/birdstrikes.csv');
const EVENTS = 10_000;
const INVALID = 50;
const SCORED = 300;

/** The CSV as the test reads it, apart from the producer: which rows the spec takes, and their sums. */
const rows = parse(fs.readFileSync(CSV), { columns: true, bom: true }) as Record<string, string>[];
const takes = (r: Record<string, string>): boolean => ['Flight Date', 'Airport Name', 'Phase of flight'].every((c) => r[c]!.trim() !== '') && /^\d+$/.test(r['Speed IAS in knots']!.trim());
const valid = rows.filter(takes);
const speedSum = valid.reduce((n, r) => n + Number(r['Speed IAS in knots']), 0);
const costSum = valid.reduce((n, r) => n + Number(r['Cost Total $']), 0);

/** The MILLRACE_RESULT line of a job `submit` ran, or an error with the job's stderr. */
function resultLine<T>(r: CliResult, what: string): T {
  const result = r.code === 0 ? parseResultLine(r.stdout) : undefined;
  if (!result) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  return result as T;
}

interface Demo {
  run: string;
  spec: { name: string; id: string; label: string };
  events_in: number;
  dlq: number;
  rows_in_lake: number;
  duplicates_in_lake: number;
  model: { version: string; rmse: number; baseline_rmse: number; rows_train: number; beats_baseline: boolean };
  predictions: { sent: number; received: number; rate: number; warmup?: number; sample: Record<string, unknown>[] };
}

let demo: Demo;

beforeAll(async () => {
  await ensureBaseCluster();
  const r = await cli(['demo', '--json', '-c', CONFIG, '--spec', SPEC, '--source', 'vega:birdstrikes.csv', '--events', String(EVENTS), '--invalid', String(INVALID), '--score-events', String(SCORED)], { timeoutMs: 20 * 60_000 });
  if (r.code !== 0) throw new Error(`millrace demo --spec birdstrikes.yaml failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  demo = JSON.parse(r.stdout) as Demo;
  console.log(`birdstrikes demo (${r.seconds.toFixed(0)} s):\n${r.stderr.split('\n').filter((l) => l.startsWith('== demo')).join('\n')}\nmodel RMSE ${demo.model.rmse.toFixed(2)} against the mean's ${demo.model.baseline_rmse.toFixed(2)} on ${demo.model.rows_train} rows`);
}, 20 * 60_000);

afterAll(async () => {
  const jobs = JSON.parse((await cli(['jobs', '--json', '-c', CONFIG])).stdout || '[]') as { id: string; name: string }[];
  for (const j of jobs.filter((x) => x.name.endsWith('-birdstrikes'))) await cli(['jobs', 'kill', j.id, '-c', CONFIG]);
});

describe('millrace demo with the birdstrikes spec and its CSV', () => {
  it(`the CSV's ${EVENTS.toLocaleString()} reports: those with an airspeed in the topic and the lake, once each; the rest and ${INVALID} made-up invalid records in the DLQ`, () => {
    expect(valid.length).toBeGreaterThan(7000); // the test's own reading of the CSV is sane
    expect(valid.length).toBeLessThan(EVENTS);
    expect(demo).toMatchObject({
      spec: { name: 'birdstrikes', id: 'strike_id', label: 'speed' },
      events_in: valid.length,
      dlq: EVENTS - valid.length + INVALID,
      rows_in_lake: valid.length,
      duplicates_in_lake: 0,
    });
  });

  it('trains on what landed (80% of it) and beats the mean-predictor baseline', () => {
    expect(demo.model.rows_train).toBeGreaterThan(0.75 * valid.length);
    expect(demo.model.rows_train).toBeLessThan(0.85 * valid.length);
    expect(demo.model.beats_baseline).toBe(true);
    expect(demo.model.rmse).toBeLessThan(demo.model.baseline_rmse);
  });

  it('scores live what it sent: the source ran out after the demo\'s rows, so the batch came from its start again, its dead-lettered rows unscored', () => {
    const sent = rows.slice(0, SCORED).filter(takes).length;
    expect(sent).toBeLessThan(SCORED);
    expect(demo.predictions).toMatchObject({ sent, received: sent });
    for (const p of demo.predictions.sample) expect(p).toEqual(expect.objectContaining({ strike_id: expect.stringMatching(new RegExp(`^${demo.run}-score#\\d+$`)), speed: expect.any(Number), prediction: expect.any(Number) }));
  });

  it('scores in real-time mode: every prediction came while the Kafka query was still in its first batch (a micro-batch query reports one a second), with a core for each of the 3 partitions and one for the lake', async () => {
    expect(demo.predictions).toMatchObject({ rate: 1000, warmup: 10_000 });
    const jobs = JSON.parse((await cli(['jobs', '--json', '-c', CONFIG])).stdout) as { name: string; cores: number; workDir?: string }[];
    const score = jobs.find((j) => j.name === 'millrace-score-birdstrikes');
    expect(score).toEqual(expect.objectContaining({ cores: 4, workDir: expect.any(String) }));
    const spark = await node('spark-1');
    try {
      const lines = (await spark.execOrThrow(`grep -h '"query": "kafka"' ${score!.workDir}/driver.log || true`)).trim().split('\n');
      // Ready (its batch planned) and no batch ended yet: its first checkpoint is 5 minutes after its start.
      expect(lines.some((l) => l.includes('"event": "ready"'))).toBe(true);
      expect(lines.filter((l) => l.includes('"batch":'))).toEqual([]);
      // The lake's copy runs on micro-batches: it has reported some.
      expect(Number((await spark.execOrThrow(`grep -h '"query": "lake"' ${score!.workDir}/driver.log | grep -c '"batch":' || true`)).trim())).toBeGreaterThan(0);
    } finally {
      await spark.close();
    }
  });

  it('the DLQ holds each report without an airspeed, with that reason, and the made-up records', async () => {
    const r = await cli(['consume', 'birdstrikes.dlq', '--to-end', '--json', '-c', CONFIG], { timeoutMs: 5 * 60_000 });
    expect(r.code).toBe(0);
    const records = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { value: { reason: string; source: string } }).value);
    const reasons = (source: string): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const d of records.filter((x) => x.source === source)) out[d.reason] = (out[d.reason] ?? 0) + 1;
      return out;
    };
    expect(reasons(demo.run)).toEqual({ 'missing required field "speed"': EVENTS - valid.length });
    expect(Object.values(reasons(`${demo.run}-invalid`)).reduce((a, b) => a + b, 0)).toBe(INVALID);
  });

  it("A/B: a second version (a random forest) scores about half the events side by side with the demo's model, each event once by one of them; compare_models gives each version's error on them", async () => {
    const trained = await cli(['submit', '--spec', SPEC, '--conf', 'spark.cores.max=2', JOB('train.py'), '-c', CONFIG, '--', '--algorithm', 'random_forest'], { timeoutMs: 10 * 60_000 });
    const forest = resultLine<{ version: string; algorithm: string }>(trained, 'train.py --algorithm random_forest');
    expect(forest.algorithm).toBe('random_forest');
    const a = demo.model.version;
    const b = forest.version;
    expect(b).not.toBe(a);
    // The demo's scoring job gives way to one that scores with both versions, from the same checkpoints.
    const jobs = JSON.parse((await cli(['jobs', '--json', '-c', CONFIG])).stdout) as { id: string; name: string }[];
    for (const j of jobs.filter((x) => x.name === 'millrace-score-birdstrikes')) expect((await cli(['jobs', 'kill', j.id, '-c', CONFIG])).code).toBe(0);
    const started = await cli(['submit', '--detach', '--json', '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('score.py'), '-c', CONFIG, '--', '--trigger-seconds', '1', '--model-version', a, '--ab-version', b, '--ab-share', '0.5']);
    expect(`${started.code} ${started.stderr.slice(-1500)}`).toMatch(/^0 /);
    const { log } = JSON.parse(started.stdout) as { log: string };
    const spark = await node('spark-1');
    try {
      const ready = async (): Promise<number> => Number((await spark.exec(`grep -c '"event": "ready"' ${log} || true`)).stdout.trim());
      const until = Date.now() + 5 * 60_000;
      while ((await ready()) < 2) {
        if (Date.now() > until) throw new Error(`the A/B score job's queries did not start in 5 minutes:\n${(await spark.exec(`tail -30 ${log}`)).stdout}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    } finally {
      await spark.close();
    }
    const source = `${demo.run}-ab`;
    const produced = await cli(['produce', '--json', '--spec', SPEC, '--source', 'vega:birdstrikes.csv', '--limit', '1000', '--rate', '500', '--source-name', source, '-c', CONFIG]);
    expect(produced.code).toBe(0);
    const sent = (JSON.parse(produced.stdout) as { sent: number }).sent;
    expect(sent).toBe(rows.slice(0, 1000).filter(takes).length);
    // Every event's prediction, from the predictions topic.
    let mine: { strike_id: string; model_version: string }[] = [];
    for (const until = Date.now() + 3 * 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 5000))) {
      const r = await cli(['consume', 'birdstrikes.predictions', '--to-end', '--json', '-c', CONFIG], { timeoutMs: 5 * 60_000 });
      mine = r.stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { value: { strike_id: string; model_version: string } }).value).filter((p) => p.strike_id.startsWith(`${source}#`));
      if (mine.length >= sent) break;
    }
    expect(new Set(mine.map((p) => p.strike_id)).size).toBe(sent);
    expect(mine).toHaveLength(sent);
    const byVersion = (v: string): number => mine.filter((p) => p.model_version === v).length;
    expect(byVersion(a) + byVersion(b)).toBe(sent);
    expect(byVersion(b) / sent).toBeGreaterThan(0.4);
    expect(byVersion(b) / sent).toBeLessThan(0.6);
    // Each version's error on the events it scored, from the lake's predictions (the lake query may trail the topic's by a trigger).
    type Compared = { versions: { model_version: string; predictions: number; rmse: number; trained?: { algorithm: string } }[] };
    let compared: Compared = { versions: [] };
    for (let i = 0; i < 3; i++) {
      const r = await cli(['submit', '--spec', SPEC, '--conf', 'spark.cores.max=1', JOB('compare_models.py'), '-c', CONFIG, '--', '--id-prefix', `${source}#`], { timeoutMs: 8 * 60_000 });
      compared = resultLine<Compared>(r, 'compare_models.py');
      if (compared.versions.reduce((n, v) => n + v.predictions, 0) >= sent) break;
      await new Promise((r) => setTimeout(r, 10_000));
    }
    console.log(`A/B on ${sent} events: ${JSON.stringify(compared.versions)}`);
    // By version, oldest first: the demo's, then the forest trained since.
    expect(compared.versions.map((v) => [v.model_version, v.predictions, v.trained?.algorithm])).toEqual([
      [a, byVersion(a), 'linear'],
      [b, byVersion(b), 'random_forest'],
    ]);
    for (const v of compared.versions) expect(v.rmse).toBeGreaterThan(0);
  }, 20 * 60_000);

  it("the lake's rows carry the CSV's values in the spec's fields: `millrace sql` sums them as the test sums the CSV", async () => {
    // The demo's streaming jobs go first: their cores are the pipeline's (60) and this query's.
    const jobs = JSON.parse((await cli(['jobs', '--json', '-c', CONFIG])).stdout) as { id: string; name: string }[];
    for (const j of jobs.filter((x) => x.name.endsWith('-birdstrikes'))) expect((await cli(['jobs', 'kill', j.id, '-c', CONFIG])).code).toBe(0);
    const q = `SELECT count(*) AS n, count(DISTINCT strike_id) AS ids, sum(speed) AS speed, round(sum(cost_total)) AS cost, count(DISTINCT phase) AS phases FROM events WHERE strike_id LIKE '${demo.run}#%'`;
    const sql = await cli(['sql', '--json', '--spec', SPEC, '-c', CONFIG, q], { timeoutMs: 8 * 60_000 });
    expect({ code: sql.code, stderr: sql.code === 0 ? '' : sql.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    const phases = new Set(valid.map((r) => r['Phase of flight'])).size;
    expect((JSON.parse(sql.stdout) as { rows: number[][] }).rows).toEqual([[valid.length, valid.length, speedSum, costSum, phases]]);
  }, 10 * 60_000);
});
