/** What `millrace report` asks the cluster: Prometheus's range API on the monitor node, and the dead-letter topic. */
import { randomBytes } from 'node:crypto';
import { runConsume } from '../../consumers/consume';
import type { ClusterConfig } from '../../lib/config';
import { HealthCheckError } from '../../lib/errors';
import { ADMIN_PRINCIPAL } from '../../lib/principals';
import { portNumber } from '../../lib/roles';
import { q } from '../../lib/shell';
import { createKafkaClient } from '../../producers/kafka-client';
import type { RemoteHost } from '../../provisioning/remote-host';
import { CA_PEM } from '../../provisioning/services/tls-files';
import { kafkaConnectionFor } from '../kafka-connection';
import type { Series } from './render';

interface RangeResult {
  metric: Record<string, string>;
  values: [number, string][];
}

/** The step of a range query: about 400 points over the period, and no finer than 15 s. */
export function rangeStep(fromMs: number, toMs: number): number {
  return Math.max(15, Math.ceil((toMs - fromMs) / 1000 / 400));
}

/** Series named from their labels by `name`; NaN points (a rate with one sample) left out. */
export function toSeries(results: RangeResult[], name: (labels: Record<string, string>) => string): Series[] {
  return results
    .map((r) => ({ name: name(r.metric), points: r.values.map(([t, v]) => [t, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v)) }))
    .filter((s) => s.points.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One range query, asked with curl on the monitor node (Prometheus listens on its private address only). */
export async function rangeQuery(monitor: RemoteHost, address: string, promql: string, fromMs: number, toMs: number): Promise<RangeResult[]> {
  const params = new URLSearchParams({ query: promql, start: String(fromMs / 1000), end: String(toMs / 1000), step: `${rangeStep(fromMs, toMs)}s` });
  const url = `https://${address}:${portNumber('monitor', 'prometheus')}/api/v1/query_range?${params.toString()}`;
  const r = await monitor.exec(`curl -sS --fail-with-body --max-time 60 --cacert ${q(CA_PEM)} ${q(url)}`);
  if (r.code !== 0)
    throw new HealthCheckError(`${monitor.name}: Prometheus did not answer a range query: ${(r.stdout || r.stderr).trim().split('\n').pop() ?? `curl exited ${r.code}`}`, {
      hint: `check it with \`millrace status\` and \`millrace logs ${monitor.name} prometheus\``,
    });
  const body = JSON.parse(r.stdout) as { status: string; data: { result: RangeResult[] } };
  return body.data.result;
}

/** The streaming charts of pipeline `pipeline` over the period. */
export async function streamingSeries(monitor: RemoteHost, address: string, pipeline: string, fromMs: number, toMs: number): Promise<{ events: Series[]; lag: Series[]; latency: Series[] }> {
  const sel = `pipeline=${JSON.stringify(pipeline)}`;
  const query = (promql: string, name: (l: Record<string, string>) => string): Promise<Series[]> => rangeQuery(monitor, address, promql, fromMs, toMs).then((r) => toSeries(r, name));
  const [rowsIn, rowsOut, lag, latency] = await Promise.all([
    query(`sum by (spark_job, query) (rate(millrace_streaming_input_rows_total{${sel}}[2m]))`, (l) => `in: ${l.spark_job}/${l.query}`),
    query(`sum by (spark_job, query) (rate(millrace_streaming_output_rows_total{${sel}}[2m]))`, (l) => `out: ${l.spark_job}/${l.query}`),
    query(`max by (spark_job, query) (millrace_streaming_offsets_behind_latest{${sel}})`, (l) => `${l.spark_job}/${l.query}`),
    query(`max by (spark_job, query, stat) (millrace_streaming_latency_seconds{${sel}, query=~"events|lake"})`, (l) => `${l.spark_job === 'score' ? 'produce → prediction' : 'produce → lake'} (${l.stat})`),
  ]);
  return { events: [...rowsIn, ...rowsOut], lag, latency };
}

/** Counts the reasons of every record in the dead-letter topic, most frequent first (none when it does not exist). */
export async function deadLetterReasons(config: ClusterConfig, topic: string, top = 15): Promise<{ reason: string; count: number }[]> {
  const client = createKafkaClient(await kafkaConnectionFor(config, ADMIN_PRINCIPAL));
  try {
    if (!(await client.listTopics()).includes(topic)) return [];
    const counts = new Map<string, number>();
    await runConsume({
      client,
      topic,
      groupId: `${ADMIN_PRINCIPAL}-report-${randomBytes(4).toString('hex')}`,
      fromBeginning: true,
      commit: false,
      toEnd: { idleMs: 10_000 },
      format: 'raw',
      signal: new AbortController().signal,
      write: (value) => {
        let reason = '(no reason)';
        try {
          reason = String((JSON.parse(value) as { reason?: unknown }).reason ?? reason);
        } catch {
          reason = '(not a dead-letter record)';
        }
        counts.set(reason, (counts.get(reason) ?? 0) + 1);
      },
    });
    return [...counts.entries()]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
      .slice(0, top);
  } finally {
    await client.close();
  }
}
