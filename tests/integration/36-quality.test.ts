/**
 * Issue 15, data quality: a pipeline's records with known duplicates, nulls and late events (through
 * `millrace produce`), and a foreign producer's record with a field the spec does not name and one
 * that is not JSON, go through the real ingest; `millrace quality` must report exactly those, and
 * the lake's quality table and Prometheus must hold them. `millrace sql`, with a query and as a
 * spark-sql session, reads the same numbers from the lake.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { QualityResult } from '../../cli/commands/quality';
import { createKafkaClient } from '../../producers/kafka-client';
import { cli, CONFIG, ensureBaseCluster, FLIGHTS_SPEC, JOB, kafkaAs, prometheusQuery, TEST_DIR } from './harness';

beforeAll(ensureBaseCluster);

describe('millrace quality', () => {
  it('reports the duplicates, nulls, late events, unknown field and quarantined record injected, with every acknowledged record accounted for', async () => {
    const pipeline = 'qualityflow';
    const spec = path.join(TEST_DIR, `${pipeline}.yaml`);
    // The flights spec, renamed, with an optional field (tail) that can be null.
    const flights = fs.readFileSync(FLIGHTS_SPEC, 'utf8');
    const withTail = flights.replace(/^(\s+- \{ name: destination, type: string, required: true \}\n)/m, '$1  - { name: tail, type: string }\n');
    expect(withTail).not.toBe(flights);
    fs.writeFileSync(spec, withTail.replace(/^name: flights\b/m, `name: ${pipeline}`).replace(/^topic: flights\b/m, `topic: ${pipeline}`));
    const created = await cli(['topics', 'create', pipeline, '--replication-factor', '1', '-c', CONFIG]);
    expect([created.code, created.code === 0 ? '' : created.stderr.slice(-1000)]).toEqual([0, '']);

    const now = Date.now();
    const iso = (ms: number): string => new Date(ms).toISOString();
    const flight = (id: string, fields: Record<string, unknown> = {}): Record<string, unknown> => ({ event_id: id, date: iso(now - 10 * 60_000), delay: 5, distance: 400, origin: 'MCI', destination: 'MDW', tail: 'N1', ...fields });
    const records = [
      ...Array.from({ length: 30 }, (_, i) => flight(`q-c${i}`)), // clean
      ...Array.from({ length: 3 }, () => flight('q-dup')), // 1 event, sent 3 times: 2 duplicates
      ...Array.from({ length: 5 }, (_, i) => flight(`q-n${i}`, { tail: undefined })), // tail null
      ...Array.from({ length: 4 }, (_, i) => flight(`q-l${i}`, { date: iso(now - 3 * 3600_000) })), // 3 h late
    ];
    const produced = await cli(['produce', '--json', '--spec', spec, '--source', '-', '-c', CONFIG], { input: records.map((r) => JSON.stringify(r)).join('\n') + '\n' });
    expect([produced.code, (JSON.parse(produced.stdout || '{}') as { sent?: number }).sent]).toEqual([0, records.length]);
    // Another producer, writing to the topic directly: a field the spec does not name, and a record that is not JSON.
    const admin = createKafkaClient(await kafkaAs('admin'));
    const producer = await admin.batchProducer({});
    const { result } = await producer.send(pipeline, [{ key: 'MCI', value: JSON.stringify({ ...flight('q-f0'), gate: 'B4' }) }, { key: 'MCI', value: 'not json' }]);
    await producer.close();
    expect(await result).toMatchObject({ ok: true, count: 2 });
    const acknowledged = records.length + 2;

    const ingest = await cli(['submit', '--spec', spec, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '-c', CONFIG, '--', '--available-now'], { timeoutMs: 10 * 60_000 });
    expect([ingest.code, ingest.code === 0 ? '' : ingest.stderr.slice(-3000)]).toEqual([0, '']);

    const measured = await cli(['quality', '--json', '--spec', spec, '--batches', '5', '-c', CONFIG], { timeoutMs: 10 * 60_000 });
    expect([measured.code, measured.code === 0 ? '' : measured.stderr.slice(-3000)]).toEqual([0, '']);
    const q = JSON.parse(measured.stdout) as QualityResult;
    expect({ ...q.totals, freshness_max_s: undefined }).toEqual({
      acknowledged,
      events: acknowledged - 1,
      quarantined: 1,
      completeness: 1,
      duplicates: 2,
      late: 4,
      nulls: { tail: 5 },
      unknown_fields: { gate: 1 },
      freshness_max_s: undefined,
    });
    // From production to the lake's files: the ingest ran within minutes of the producer.
    expect(q.totals.freshness_max_s).toBeGreaterThan(0);
    expect(q.totals.freshness_max_s).toBeLessThan(15 * 60);
    // The micro-batches hold the same events between them, and each one read (its checkpoint's
    // offsets) as many records as reached the lake from it: the batches account for every record.
    expect(q.batches.reduce((n, b) => n + b.events, 0)).toBe(acknowledged - 1);
    expect(q.batches.reduce((n, b) => n + (b.acknowledged ?? 0), 0)).toBe(acknowledged);
    expect(q.batches.reduce((n, b) => n + (b.quarantined ?? 0), 0)).toBe(1);
    expect(q.batches.map((b) => [typeof b.batch, b.completeness])).toEqual(q.batches.map(() => ['number', 1]));
    console.log(`quality of ${acknowledged} records: ${JSON.stringify(q.totals)}; ${q.batches.length} micro-batch(es)`);

    // The lake's quality table, through `millrace sql`.
    const sql = await cli(['sql', '--json', '--spec', spec, "SELECT sum(events), sum(duplicates), sum(late), sum(nulls['tail']) FROM quality WHERE scope = 'day'", '-c', CONFIG], { timeoutMs: 10 * 60_000 });
    expect([sql.code, sql.code === 0 ? '' : sql.stderr.slice(-3000)]).toEqual([0, '']);
    expect((JSON.parse(sql.stdout) as { rows: unknown[][] }).rows).toEqual([[acknowledged - 1, 2, 4, 5]]);

    // With no query: Spark's own spark-sql on the master node over SSH, the lake's tables already
    // views; here its statements come from stdin, as a script's would.
    const session = await cli(['sql', '--spec', spec, '-c', CONFIG], {
      input: "SELECT count(*) AS events, count(DISTINCT event_id) AS ids FROM events;\nSELECT count(*) AS quarantined FROM quarantine;\nSELECT sum(duplicates) AS duplicates FROM quality WHERE scope = 'day';\n",
      timeoutMs: 10 * 60_000,
    });
    console.log(`millrace sql session (${session.seconds.toFixed(0)} s), its stdout:\n${session.stdout}`);
    // Its stdout holds the answers alone: the driver's logs go to stderr.
    expect(session.stdout).not.toMatch(/ (WARN|INFO|ERROR) /);
    expect([session.code, session.code === 0 ? '' : session.stderr.slice(-3000)]).toEqual([0, '']);
    expect(session.stderr).toMatch(new RegExp(`spark-sql on spark-1 as spark, over the lake of ${pipeline}: events, quarantine, quality\n`));
    const lines = session.stdout.split('\n').map((l) => l.replace(/^spark-sql \([^)]*\)> /, '').trimEnd());
    const answer = (header: string): string | undefined => (lines.includes(header) ? lines[lines.indexOf(header) + 1] : undefined);
    expect({ events: answer('events\tids'), quarantined: answer('quarantined'), duplicates: answer('duplicates') }).toEqual({ events: `${acknowledged - 1}\t${acknowledged - 3}`, quarantined: '1', duplicates: '2' });

    // Prometheus, through the node exporter on the master's node (one scrape: 30 s).
    const deadline = Date.now() + 120_000;
    let seen: number | undefined;
    while (seen !== 2 && Date.now() < deadline) {
      seen = (await prometheusQuery(`millrace_quality_rows{pipeline="${pipeline}",kind="duplicates"}`)).map((s) => Number(s.value[1]))[0];
      if (seen !== 2) await new Promise((r) => setTimeout(r, 5000));
    }
    expect(seen).toBe(2);
    expect((await prometheusQuery(`millrace_quality_completeness_ratio{pipeline="${pipeline}"}`)).map((s) => Number(s.value[1]))).toEqual([1]);
  }, 20 * 60_000);
});
