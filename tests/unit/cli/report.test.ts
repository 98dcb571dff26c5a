/**
 * `millrace report`'s HTML (cli/report/render.ts) from fixed figures: self-contained, and drawn by a
 * real headless Chromium with every chart's points and no console error. The same file from a real
 * cluster is opened in 60-report (integration).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chartPoints } from '../../../cli/commands/report';
import { rangeStep, toSeries } from '../../../cli/report/gather';
import { REPORT_CHARTS, renderReport, scriptJson } from '../../../cli/report/render';
import { FIXTURE } from '../../fixtures/report';
import { openReport } from '../../report-browser';

describe('millrace report', () => {
  it('is one file: plotly and the data inlined, nothing loaded from elsewhere, and no text can end its script', () => {
    const html = renderReport(FIXTURE);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import/i);
    expect(html).toContain('Plotly');
    // A reason holding "</script>" stays inside the JSON, escaped.
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
    expect(scriptJson('</script>')).toBe('"\\u003c/script>"');
    const json = /<script type="application\/json" id="millrace-report-data">([^]*?)<\/script>/.exec(html)![1]!;
    expect((JSON.parse(json) as { lake: { quarantine_reasons: { reason: string }[] } }).lake.quarantine_reasons[0]!.reason).toContain('</script>');
    expect(chartPoints(FIXTURE)).toEqual({ events: 80, lag: 40, latency: 80, growth: 2, reasons: 2, models: 2, predictions: 50 });
  });

  it('opens in headless Chromium with no console error and no request, every chart drawn with points, and the quality table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-report-'));
    try {
      const file = path.join(dir, 'report.html');
      fs.writeFileSync(file, renderReport(FIXTURE));
      const view = await openReport(file, path.join(dir, 'report.png'));
      expect(view.consoleErrors).toEqual([]);
      expect(view.requests).toEqual([]);
      expect(Object.keys(view.charts).sort()).toEqual(REPORT_CHARTS.map((c) => c.id).sort());
      // Each trace's points: in and out (80), lag (40), latency (80), growth (2 bars + 2 points), reasons (1 + 1),
      // models (3 metrics × 2 versions), predictions (50 + the 2 ends of the diagonal).
      expect(view.charts).toEqual({ events: 80, lag: 40, latency: 80, growth: 4, reasons: 2, models: 6, predictions: 52 });
      expect(view.qualityRows).toBe(2);
      expect(fs.statSync(path.join(dir, 'report.png')).size).toBeGreaterThan(20_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('says which charts have nothing to draw instead of drawing an empty one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-report-'));
    try {
      const file = path.join(dir, 'report.html');
      fs.writeFileSync(file, renderReport({ ...FIXTURE, lag: [], dlqReasons: [], lake: { ...FIXTURE.lake, quarantine_reasons: [] } }));
      const view = await openReport(file, path.join(dir, 'report.png'));
      expect(view.consoleErrors).toEqual([]);
      expect([view.charts.lag, view.charts.reasons]).toEqual([-1, -1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the streaming series', () => {
  it('asks for about 400 points over the period, never finer than 15 s', () => {
    expect(rangeStep(0, 3600_000)).toBe(15);
    expect(rangeStep(0, 24 * 3600_000)).toBe(216);
  });

  it('names each series from its labels, drops the points that are not numbers, and drops empty series', () => {
    const s = toSeries(
      [
        { metric: { spark_job: 'score', query: 'lake' }, values: [[1, '2.5'], [2, 'NaN'], [3, '3']] },
        { metric: { spark_job: 'ingest', query: 'events' }, values: [[1, '1']] },
        { metric: { spark_job: 'ingest', query: 'quarantine' }, values: [[1, 'NaN']] },
      ],
      (l) => `${l.spark_job}/${l.query}`,
    );
    expect(s).toEqual([
      { name: 'ingest/events', points: [[1, 1]] },
      { name: 'score/lake', points: [[1, 2.5], [3, 3]] },
    ]);
  });
});
