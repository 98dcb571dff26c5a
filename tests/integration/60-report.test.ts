/**
 * Issue 15, the report: after 59's demo on the shared cluster (birdstrikes: ingest, train and score
 * running as streaming jobs, invalid records to the dead-letter topic), `millrace report` writes one
 * HTML file, and a real headless Chromium (Debian's chromium) opens it: no console error, no request
 * beyond the file, every chart with data points, the quality table filled. The screenshot is kept
 * in .millrace-test/report.png.
 */
import * as path from 'node:path';
import { REPORT_CHARTS } from '../../cli/report/render';
import { openReport } from '../report-browser';
import { cli, CONFIG, ensureBaseCluster, REPO, TEST_DIR } from './harness';

const SPEC = path.join(REPO, 'examples/pipelines/birdstrikes.yaml');

beforeAll(ensureBaseCluster);

describe('millrace report', () => {
  it('writes one self-contained HTML file that headless Chromium opens with every chart drawn from the cluster, and no console error', async () => {
    const file = path.join(TEST_DIR, 'report.html');
    const r = await cli(['report', '--json', '--spec', SPEC, '-o', file, '--hours', '2', '-c', CONFIG], { timeoutMs: 10 * 60_000 });
    expect([r.code, r.code === 0 ? '' : r.stderr.slice(-3000)]).toEqual([0, '']);
    const summary = JSON.parse(r.stdout) as { file: string; charts: Record<string, number>; qualityDays: number };
    expect(summary.file).toBe(file);
    const view = await openReport(file, path.join(TEST_DIR, 'report.png'));
    console.log(`report: points per chart ${JSON.stringify(view.charts)}, ${view.qualityRows} quality rows; the CLI counted ${JSON.stringify(summary.charts)}`);
    expect(view.consoleErrors).toEqual([]);
    expect(view.requests).toEqual([]);
    expect(Object.keys(view.charts).sort()).toEqual(REPORT_CHARTS.map((c) => c.id).sort());
    expect(Object.entries(view.charts).filter(([, n]) => n <= 0)).toEqual([]);
    // A day or more, and the totals row.
    expect(view.qualityRows).toBeGreaterThanOrEqual(2);
  }, 15 * 60_000);
});
