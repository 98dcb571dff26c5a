/**
 * `millrace report`'s HTML: one self-contained file that works offline. plotly.js (npm's
 * plotly.js-dist-min) is inlined, and so is the data, as JSON; the charts are drawn in the browser.
 */
import * as fs from 'node:fs';
import type { QualityResult, QualityRow } from '../commands/quality';
import { render } from '../../templates/render';

/** A time series from Prometheus: [unix seconds, value] points. */
export interface Series {
  name: string;
  points: [number, number][];
}

export interface ModelSummary {
  version: string;
  rmse: number | null;
  mae: number | null;
  r2: number | null;
  baseline_rmse: number | null;
  algorithm: string | null;
  latest: boolean;
}

/** What spark-jobs/report_data.py reports. */
export interface LakeFigures {
  spec: string;
  label: string | null;
  quality: Pick<QualityResult, 'days' | 'totals'>;
  lake_growth: { day: string; rows: number; total: number }[];
  quarantine_reasons: { reason: string; count: number }[];
  models: ModelSummary[];
  predictions_sample: { model_version: string; prediction: number; actual: number }[];
  live_errors: { model_version: string; predictions: number; rmse: number; mae: number }[];
}

export interface ReportInput {
  cluster: string;
  spec: string;
  generatedAt: Date;
  /** The period of the streaming charts. */
  from: Date;
  to: Date;
  lake: LakeFigures;
  /** Prometheus: rows per second in and out of each streaming query. */
  events: Series[];
  /** Prometheus: each query's records behind its topic. */
  lag: Series[];
  /** Prometheus: produce → lake (ingest) and produce → prediction (score). */
  latency: Series[];
  /** The dead-letter topic's reasons (records the producer refused), most frequent first. */
  dlqReasons: { reason: string; count: number }[];
}

/** The charts, in order; each id is a div the page draws into, and every one must have points. */
export const REPORT_CHARTS = [
  { id: 'events', title: 'Events in and out', note: 'Rows per second arriving at each streaming query and written by it (Prometheus, 1-minute rate).' },
  { id: 'lag', title: 'Consumer lag', note: "Records each query's Kafka source is behind the topic's end (its worst partition)." },
  { id: 'latency', title: 'Latency: produce → lake, produce → prediction', note: "From a record's production to the end of the micro-batch that wrote it: ingest's events (lake), score's lake (prediction)." },
  { id: 'growth', title: 'Lake growth', note: 'Rows ingest wrote to the events table per UTC day, and the running total.' },
  { id: 'reasons', title: 'Dead-letter and quarantine reasons', note: "Why records were refused: by the producer (the dead-letter topic) or by ingest's validation (the quarantine)." },
  { id: 'models', title: 'Model metrics per version', note: "Each trained version's test-split error against the mean-predictor baseline (metrics.json)." },
  { id: 'predictions', title: 'Predictions against actuals', note: 'A fixed sample of scored events whose label is known, by model version.' },
] as const;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** JSON that is safe inside a <script> element: no "<" at all, so no "</script>". */
export const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

/** plotly.js, minified, from npm; nothing in it may end the <script> element it is put in. */
export function plotlySource(): string {
  return fs.readFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
}

const num = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : v.toLocaleString('en-US'));
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);
const counts = (m: Record<string, number> | undefined): string =>
  Object.entries(m ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`)
    .join(', ') || '–';

/** The quality days as an HTML table, with a totals row. */
export function qualityTable(q: LakeFigures['quality']): string {
  if (!q.days.length) return '<p class="empty">no events in the lake yet</p>';
  const head = ['day', 'acknowledged', 'events', 'quarantined', 'complete', 'duplicates', 'late', 'nulls', 'unknown fields', 'freshness max (s)'];
  const row = (d: Pick<QualityRow, 'period' | 'acknowledged' | 'events' | 'quarantined' | 'completeness' | 'duplicates' | 'late' | 'nulls' | 'unknown_fields' | 'freshness_max_s'>, cls = ''): string =>
    `<tr${cls}>${[d.period, num(d.acknowledged), num(d.events), num(d.quarantined), pct(d.completeness), num(d.duplicates), num(d.late), counts(d.nulls), counts(d.unknown_fields), num(d.freshness_max_s)].map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  return `<table id="quality"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${q.days.map((d) => row(d)).join('')}${row({ ...q.totals, period: 'all' }, ' class="total"')}</tbody></table>`;
}

export function renderReport(input: ReportInput): string {
  const title = `millrace report: ${input.spec} on ${input.cluster}`;
  const data = {
    label: input.lake.label,
    charts: {
      events: input.events,
      lag: input.lag,
      latency: input.latency,
      lakeGrowth: input.lake.lake_growth,
      reasons: [
        { name: 'dead-letter topic (producer)', items: input.dlqReasons },
        { name: 'quarantine (ingest)', items: input.lake.quarantine_reasons },
      ],
      models: input.lake.models,
      predictions: input.lake.predictions_sample,
    },
    lake: input.lake,
  };
  return render('report/report.html', {
    title: escapeHtml(title),
    meta: escapeHtml(`Generated ${input.generatedAt.toISOString()}. Streaming charts from ${input.from.toISOString()} to ${input.to.toISOString()}; the lake's figures as of generation.`),
    charts: REPORT_CHARTS.map((c) => ({ id: c.id, title: escapeHtml(c.title), note: escapeHtml(c.note) })),
    qualityNote: escapeHtml(`Per UTC day of acknowledgment by Kafka; late means produced more than the late threshold after the event time (see \`millrace quality\`).`),
    qualityTable: qualityTable(input.lake.quality),
    plotly: plotlySource(),
    data: scriptJson(data),
  });
}
