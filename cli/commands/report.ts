/** `millrace report`: one self-contained HTML file of a pipeline (issue 15): cli/report/. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../lib/errors';
import { readInventory } from '../../lib/inventory';
import { loadPipelineSpec } from '../../lib/pipeline-spec';
import { withHosts } from '../bootstrap';
import { configFor, output } from '../context';
import { deadLetterReasons, streamingSeries } from '../report/gather';
import { runJobForResult } from '../spark-job';
import { type LakeFigures, REPORT_CHARTS, renderReport, type ReportInput } from '../report/render';

/** Points per chart, as the report will draw them (what --json and the summary line show). */
export function chartPoints(input: ReportInput): Record<(typeof REPORT_CHARTS)[number]['id'], number> {
  const sum = (xs: { points: unknown[] }[]): number => xs.reduce((n, s) => n + s.points.length, 0);
  return {
    events: sum(input.events),
    lag: sum(input.lag),
    latency: sum(input.latency),
    growth: input.lake.lake_growth.length,
    reasons: input.dlqReasons.length + input.lake.quarantine_reasons.length,
    models: input.lake.models.length,
    predictions: input.lake.predictions_sample.length,
  };
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("write one self-contained HTML report of a pipeline (works offline): events in and out, lag, latency, lake growth, dead-letter reasons, models, predictions against actuals, data quality")
    .requiredOption('--spec <pipeline.yaml>', 'the pipeline to report on')
    .option('-o, --output <file.html>', 'where to write it (default: millrace-report-<pipeline>.html here)')
    .option('--hours <n>', 'the period of the streaming charts, ending now', '6')
    .addHelpText(
      'after',
      `
The streaming charts come from Prometheus on the monitor node (the streaming jobs' metrics); the
lake's figures from a Spark job on the master node (spark-jobs/report_data.py); the dead-letter
reasons from the <topic>.dlq topic. plotly.js is inlined: the file opens anywhere, with no network.

Examples:
  millrace report --spec examples/pipelines/flights.yaml
  millrace report --spec examples/pipelines/flights.yaml --hours 24 -o flights.html
  millrace report --spec examples/pipelines/flights.yaml --json | jq '.charts'`,
    )
    .action(async function (this: Command, opts: { spec: string; output?: string; hours: string }) {
      const hours = Number(opts.hours);
      if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 90) throw new UsageError(`--hours ${opts.hours}: expected a number of hours above 0, at most 2160 (90 days)`);
      const spec = loadPipelineSpec(path.resolve(opts.spec));
      const file = path.resolve(opts.output ?? `millrace-report-${spec.name}.html`);
      if (!fs.existsSync(path.dirname(file))) throw new UsageError(`--output ${opts.output}: ${path.dirname(file)} does not exist`);
      const config = configFor(this);
      const to = Date.now();
      const from = to - hours * 3600_000;
      const say = (s: string): void => void (process.stderr.isTTY && process.stderr.write(`${s}\n`));

      const lake = await runJobForResult<LakeFigures>(config, { job: 'report_data.py', args: [], spec, name: `millrace-report-${spec.name}`, what: `the lake of ${spec.name}`, resultKey: 'quality' });

      say('the streaming charts: Prometheus on the monitor node...');
      const inventory = readInventory(config.name);
      const monitor = inventory.nodes.find((n) => n.roles.includes('monitor'));
      if (!monitor) throw new UsageError(`cluster ${config.name} has no node with the monitor role`, { hint: "run `millrace up`: it gives the monitor role to the spark-master's node unless a node has it" });
      const streaming = await withHosts(config, { ...inventory, nodes: [monitor] }, (hosts) => streamingSeries(hosts.get(monitor.name)!, monitor.privateAddress, spec.name, from, to));

      say(`the dead-letter topic ${spec.topic}.dlq...`);
      const dlqReasons = await deadLetterReasons(config, `${spec.topic}.dlq`);

      const input: ReportInput = { cluster: config.name, spec: spec.name, generatedAt: new Date(), from: new Date(from), to: new Date(to), lake, ...streaming, dlqReasons };
      fs.writeFileSync(file, renderReport(input));
      const charts = chartPoints(input);
      const empty = Object.entries(charts).filter(([, n]) => n === 0).map(([id]) => id);
      output(
        this,
        `wrote ${file} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB)\n${REPORT_CHARTS.map((c) => `  ${c.title}: ${charts[c.id].toLocaleString('en-US')} points`).join('\n')}\n  data quality: ${lake.quality.days.length} day(s)${empty.length ? `\nno data for: ${empty.join(', ')} (in the last ${hours} h for the streaming charts)` : ''}`,
        { file, charts, qualityDays: lake.quality.days.length, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      );
    });
}
