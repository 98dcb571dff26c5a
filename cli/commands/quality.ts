/** `millrace quality`: data quality of a pipeline's lake, measured by a Spark job on the cluster (spark-jobs/quality.py). */
import * as path from 'node:path';
import { Command } from 'commander';
import { DURATION, durationSeconds } from '../../lib/config';
import { UsageError } from '../../lib/errors';
import { loadPipelineSpec } from '../../lib/pipeline-spec';
import { configFor, globals, output } from '../context';
import { runJobForResult } from '../spark-job';
import { formatTable } from '../table';

/** One day's (or one micro-batch's) measures, as quality.py reports them. */
export interface QualityRow {
  scope: 'day' | 'batch';
  /** The UTC day (YYYY-MM-DD) or the micro-batch's start time. */
  period: string;
  /** A micro-batch's id in ingest's checkpoint (absent without one). */
  batch?: number;
  acknowledged?: number | null;
  events: number;
  quarantined?: number;
  completeness?: number | null;
  duplicates: number;
  late: number;
  nulls: Record<string, number>;
  unknown_fields?: Record<string, number>;
  freshness_p50_s: number | null;
  freshness_max_s: number | null;
}

export interface QualityResult {
  spec: string;
  late_after_s: number;
  totals: Omit<QualityRow, 'scope' | 'period' | 'freshness_p50_s'> & { freshness_max_s: number | null };
  days: QualityRow[];
  batches: QualityRow[];
  quality_path: string;
  metrics_file: string | null;
}

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
const num = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toLocaleString('en-US'));
const secs = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${v.toFixed(1)} s`);
/** "tail 2, gate 1", or "-" for none. */
const counts = (m: Record<string, number> | undefined): string => {
  const e = Object.entries(m ?? {}).filter(([, n]) => n > 0);
  return e.length ? e.map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`).join(', ') : '-';
};

/** The days as a table, then the totals, then (with batches > 0) the newest micro-batches. */
export function formatQuality(r: QualityResult, batches: number): string {
  const header = ['day', 'acknowledged', 'events', 'quarantined', 'complete', 'duplicates', 'late', 'nulls', 'unknown fields', 'freshness p50', 'max'];
  const row = (d: QualityRow | (QualityResult['totals'] & { period: string; freshness_p50_s?: null })): string[] => [
    d.period,
    num(d.acknowledged),
    num(d.events),
    num(d.quarantined),
    pct(d.completeness),
    num(d.duplicates),
    num(d.late),
    counts(d.nulls),
    counts(d.unknown_fields),
    secs(d.freshness_p50_s),
    secs(d.freshness_max_s),
  ];
  const lines = [r.days.length ? formatTable([header, ...r.days.map(row), row({ ...r.totals, period: 'all' })]) : `the lake of ${r.spec} holds no events yet`];
  if (batches > 0 && r.batches.length) {
    lines.push('', `the newest ${Math.min(batches, r.batches.length)} micro-batches of ingest:`);
    lines.push(
      formatTable([
        ['batch', 'started', 'records', 'events', 'quarantined', 'complete', 'duplicates', 'late', 'nulls', 'freshness p50', 'max'],
        ...r.batches
          .slice(0, batches)
          .map((b) => [num(b.batch), b.period, num(b.acknowledged), num(b.events), num(b.quarantined), pct(b.completeness), num(b.duplicates), num(b.late), counts(b.nulls), secs(b.freshness_p50_s), secs(b.freshness_max_s)]),
      ]),
    );
    lines.push("A batch's records are the offsets it read (ingest's checkpoint); complete: the lake's rows at those offsets over them.");
  }
  lines.push('', `late: produced more than ${r.late_after_s} s after the event time. Stored in ${r.quality_path} (the \`quality\` table of \`millrace sql\`).`);
  return lines.join('\n');
}

export function registerQuality(program: Command): void {
  program
    .command('quality')
    .description("measure the data quality of a pipeline's lake per day and per micro-batch: completeness against the topic, duplicates, nulls, late events, unknown fields, freshness")
    .requiredOption('--spec <pipeline.yaml>', "the pipeline whose lake is measured")
    .option('--late-after <duration>', 'an event produced this long after its event time is late, e.g. 30m or 2h', '1h')
    .option('--batches <n>', 'also show the newest n ingest micro-batches', '0')
    .addHelpText(
      'after',
      `
A Spark job on the master node reads the pipeline's events and quarantine from the lake and its
topic from Kafka. A day is the UTC day Kafka acknowledged a record; completeness is the rows in the
lake (events and quarantine) over the records in the topic (records a retention removed are not
counted). The results replace the lake's quality/ table (\`millrace sql "SELECT * FROM quality"\`),
and Prometheus gets them as millrace_quality_* metrics.

Examples:
  millrace quality --spec examples/pipelines/flights.yaml
  millrace quality --spec examples/pipelines/flights.yaml --batches 10 --late-after 30m
  millrace quality --spec examples/pipelines/flights.yaml --json | jq '.totals'`,
    )
    .action(async function (this: Command, opts: { spec: string; lateAfter: string; batches: string }) {
      if (!DURATION.test(opts.lateAfter)) throw new UsageError(`--late-after ${opts.lateAfter}: expected a number and a unit (s, m, h or d), e.g. 1h`);
      const batches = Number(opts.batches);
      if (!Number.isInteger(batches) || batches < 0) throw new UsageError(`--batches ${opts.batches}: expected a whole number, 0 or more`);
      const spec = loadPipelineSpec(path.resolve(opts.spec));
      const config = configFor(this);
      const result = await runJobForResult<QualityResult>(config, {
        job: 'quality.py',
        args: ['--late-after', String(durationSeconds(opts.lateAfter))],
        spec,
        name: `millrace-quality-${spec.name}`,
        what: `measuring the lake of ${spec.name}`,
        resultKey: 'days',
      });
      if (globals(this).json) output(this, '', result);
      else process.stdout.write(formatQuality(result, batches) + '\n');
    });
}
