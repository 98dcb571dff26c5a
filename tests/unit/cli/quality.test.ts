/** `millrace quality`'s output (cli/commands/quality.ts); the job itself is tested by pytest and on the cluster (36-quality). */
import { formatQuality, type QualityResult } from '../../../cli/commands/quality';
import * as path from 'node:path';
import { REPO, runCli, tempHome } from './built-cli';

const day = { scope: 'day' as const, period: '2026-12-05', acknowledged: 13, events: 12, quarantined: 1, completeness: 1, duplicates: 2, late: 2, nulls: { tail: 2 }, unknown_fields: { gate: 1 }, freshness_p50_s: 3.21, freshness_max_s: 7.5 };
const result: QualityResult = {
  spec: 'flights',
  late_after_s: 3600,
  totals: { acknowledged: 13, events: 12, quarantined: 1, completeness: 1, duplicates: 2, late: 2, nulls: { tail: 2 }, unknown_fields: { gate: 1 }, freshness_max_s: 7.5 },
  days: [day],
  batches: [{ ...day, scope: 'batch', period: '2026-12-05T10:00:02', batch: 7, acknowledged: 14, completeness: 13 / 14 }],
  quality_path: '/lake/flights/quality',
  metrics_file: '/var/lib/millrace/node-exporter/quality-flights.prom',
};

describe('millrace quality output', () => {
  it('shows each day and the totals with every measure, and the batches only when asked', () => {
    const text = formatQuality(result, 0);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^day\s+acknowledged\s+events\s+quarantined\s+complete\s+duplicates\s+late\s+nulls\s+unknown fields\s+freshness p50\s+max$/);
    expect(lines[1]).toMatch(/^2026-12-05\s+13\s+12\s+1\s+100\.00%\s+2\s+2\s+tail 2\s+gate 1\s+3\.2 s\s+7\.5 s$/);
    expect(lines[2]).toMatch(/^all\s+13\s+12\s+1\s+100\.00%/);
    expect(text).not.toContain('micro-batches');
    const withBatches = formatQuality(result, 5).split('\n');
    const at = withBatches.indexOf('the newest 1 micro-batches of ingest:');
    expect(withBatches[at + 1]).toMatch(/^batch\s+started\s+records\s+events\s+quarantined\s+complete\s+duplicates/);
    expect(withBatches[at + 2]).toMatch(/^7\s+2026-12-05T10:00:02\s+14\s+12\s+1\s+92\.86%\s+2\s+2\s+tail 2\s+3\.2 s\s+7\.5 s$/);
    expect(formatQuality({ ...result, days: [] }, 0)).toContain('the lake of flights holds no events yet');
  });

  it('refuses a bad --late-after or --batches before connecting to anything', () => {
    const home = tempHome('millrace-quality-');
    const spec = path.join(REPO, 'examples/pipelines/flights.yaml');
    const late = runCli(home, ['quality', '--spec', spec, '--late-after', 'soon']);
    expect([late.code, late.stderr]).toEqual([2, expect.stringContaining('--late-after soon: expected a number and a unit')]);
    const batches = runCli(home, ['quality', '--spec', spec, '--batches', '-1']);
    expect([batches.code, batches.stderr]).toEqual([2, expect.stringContaining('--batches -1: expected a whole number')]);
  });
});
