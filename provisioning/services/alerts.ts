/**
 * Alerts (issue 15): Prometheus on the monitor node evaluates millrace's rules over what it scrapes
 * (services/metrics.ts), and Alertmanager (Debian's package, millrace's own unit, TLS on the private
 * address) sends each alert that fires or resolves to the configured webhook and email. Every node
 * also exports the expiry of each certificate under /etc/millrace/tls, read there by a timer, so
 * that a certificate that nears its end alerts wherever it is.
 */
import { stringify } from 'yaml';
import { durationSeconds, splitHostPort } from '../../lib/config';
import { portNumber, ROLE_PORTS } from '../../lib/roles';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts, FileSpec, NodeContext, Service } from '../service';
import { CA_PEM, TLS_DIR } from './tls-files';
import { httpsHealth, MONITOR_CONF, PROMETHEUS_USER, prometheusKey, TEXTFILE_DIR, unitFile, webConfig } from './metrics-common';

export const ALERTMANAGER_UNIT = 'millrace-alertmanager.service';
/** Debian's own, which would listen on every address without TLS (and gossip on 9094): masked. */
const DEBIAN_ALERTMANAGER_UNIT = 'prometheus-alertmanager.service';
const ALERTMANAGER_DATA = '/var/lib/millrace/alertmanager';
export const ALERTMANAGER_CONFIG = `${MONITOR_CONF}/alertmanager.yml`;
/** monitoring.alerts.email.ca, for Alertmanager's STARTTLS to the SMTP server. */
export const SMTP_CA = `${MONITOR_CONF}/smtp-ca.pem`;
export const RULES_FILE = `${MONITOR_CONF}/rules.yml`;
export const CERT_SCAN_UNIT = 'millrace-cert-expiry.service';
export const CERT_SCAN_TIMER = 'millrace-cert-expiry.timer';
const CERT_SCAN = '/opt/millrace/bin/millrace-cert-expiry';
/**
 * A streaming driver rewrites its metrics file every 5 s: a heartbeat this old means the driver is
 * gone (killed, its node down), while a failed query says so itself (millrace_streaming_up 0).
 */
export const STREAMING_HEARTBEAT_STALE_SECONDS = 60;
/** An alert for a certificate fires this long before its end. */
export const CERT_WARNING_DAYS = 14;

export interface AlertRule {
  alert: string;
  expr: string;
  /** Overrides monitoring.alerts.for (a rule that must wait longer, e.g. a growing lag). */
  for?: string;
  severity: 'critical' | 'warning';
  summary: string;
}

/** millrace's rules; their names are what `millrace alerts` and the webhook show. */
export function alertRules(facts: ClusterFacts): AlertRule[] {
  const a = facts.config.monitoring.alerts;
  const rules: AlertRule[] = [
    { alert: 'ExporterDown', expr: 'up == 0', severity: 'critical', summary: '{{ $labels.job }} on {{ $labels.node }} does not answer its scrape: the service (or its node) is down' },
    { alert: 'KafkaBrokerDown', expr: 'up{job="kafka"} == 0', severity: 'critical', summary: 'the Kafka broker on {{ $labels.node }} is down' },
    {
      alert: 'KafkaOfflinePartitions',
      expr: 'max(kafka_controller_kafkacontroller_value{name="OfflinePartitionsCount"}) > 0',
      severity: 'critical',
      summary: '{{ $value }} Kafka partitions have no leader: their records can be neither written nor read',
    },
    {
      alert: 'KafkaUnderReplicatedPartitions',
      expr: 'sum by (node) (kafka_server_replicamanager_value{name="UnderReplicatedPartitions"}) > 0',
      severity: 'warning',
      summary: '{{ $value }} partitions led by {{ $labels.node }} are under-replicated',
    },
    {
      alert: 'HdfsAlmostFull',
      expr: 'max(hadoop_namenode_capacityused) / max(hadoop_namenode_capacitytotal) > 0.8',
      severity: 'warning',
      summary: 'HDFS is {{ $value | humanizePercentage }} full',
    },
    { alert: 'HdfsDeadDataNodes', expr: 'max(hadoop_namenode_numdeaddatanodes) > 0', severity: 'critical', summary: '{{ $value }} DataNodes are dead to the NameNode' },
    { alert: 'HdfsSafemode', expr: 'max(hadoop_namenode_safemode) == 1', severity: 'critical', summary: 'the NameNode is in safe mode: HDFS is read-only' },
    { alert: 'KmsDown', expr: 'up{job="kms"} == 0', severity: 'critical', summary: 'the KMS on {{ $labels.node }} is down: nothing in the encryption zone can be read or written' },
    {
      alert: 'CertificateExpiring',
      expr: `(millrace_certificate_not_after_seconds - time()) < ${CERT_WARNING_DAYS * 86400}`,
      severity: 'warning',
      summary: '{{ $labels.subject }} in {{ $labels.file }} on {{ $labels.node }} expires in {{ $value | humanizeDuration }}: run `millrace certs rotate`',
    },
    {
      alert: 'DiskFillingUp',
      expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"} / node_filesystem_size_bytes < 0.1',
      severity: 'warning',
      summary: '{{ $labels.mountpoint }} on {{ $labels.node }} has {{ $value | humanizePercentage }} free',
    },
    {
      alert: 'DeadLetterSpike',
      expr: 'sum by (topic) (rate(kafka_server_brokertopicmetrics_count{name="MessagesInPerSec", topic=~".+\\\\.dlq"}[5m])) > 1',
      severity: 'warning',
      summary: '{{ $value | humanize }} records/s reach the dead-letter topic {{ $labels.topic }}',
    },
    // The streaming jobs' own metrics (spark-jobs/millrace_pipeline/prometheus.py), per pipeline, job and query.
    {
      alert: 'StreamingQueryStopped',
      expr: `millrace_streaming_up == 0 or (time() - millrace_streaming_heartbeat_timestamp_seconds) > ${STREAMING_HEARTBEAT_STALE_SECONDS}`,
      severity: 'critical',
      summary:
        'the {{ $labels.spark_job }} query {{ $labels.query }} of pipeline {{ $labels.pipeline }} has stopped: its driver failed or died (resubmit it; `millrace jobs kill` is how to stop one on purpose)',
    },
    {
      alert: 'StreamingQueryFallingBehind',
      expr: 'avg_over_time(millrace_streaming_processed_rows_per_second[10m]) < 0.9 * avg_over_time(millrace_streaming_input_rows_per_second[10m])',
      for: '10m',
      severity: 'warning',
      summary: 'the {{ $labels.spark_job }} query {{ $labels.query }} of pipeline {{ $labels.pipeline }} processes rows more slowly than they arrive',
    },
    {
      alert: 'KafkaConsumerLagGrowing',
      expr: 'min_over_time(millrace_streaming_offsets_behind_latest[10m]) > 0 and deriv(millrace_streaming_offsets_behind_latest[10m]) > 0',
      for: '10m',
      severity: 'warning',
      summary: 'the {{ $labels.spark_job }} query {{ $labels.query }} of pipeline {{ $labels.pipeline }} is {{ $value | humanize }} records behind its topic, and the lag grows',
    },
    {
      alert: 'LakeStale',
      expr: `(time() - millrace_streaming_last_output_timestamp_seconds{spark_job="ingest", query="events"}) > ${durationSeconds(a.lakeStaleAfter)} and millrace_streaming_up == 1`,
      severity: 'warning',
      summary: 'ingest of pipeline {{ $labels.pipeline }} runs but has written no new rows to the lake for {{ $value | humanizeDuration }}',
    },
    {
      alert: 'QuarantineSpike',
      expr: 'sum by (pipeline) (rate(millrace_streaming_output_rows_total{spark_job="ingest", query="quarantine"}[5m])) > 1',
      severity: 'warning',
      summary: '{{ $value | humanize }} records/s of pipeline {{ $labels.pipeline }} fail validation and go to quarantine',
    },
  ];
  return rules.map((r) => ({ ...r, for: r.for ?? a.for }));
}

/** The rules file Prometheus loads. */
export function buildRules(facts: ClusterFacts): Record<string, unknown> {
  return {
    groups: [
      {
        name: 'millrace',
        interval: `${durationSeconds(facts.config.monitoring.scrapeInterval)}s`,
        rules: alertRules(facts).map((r) => ({
          alert: r.alert,
          expr: r.expr,
          for: `${durationSeconds(r.for!)}s`,
          labels: { severity: r.severity },
          annotations: { summary: r.summary },
        })),
      },
    ],
  };
}

/** Where Prometheus sends alerts: the monitor's own Alertmanager, over TLS. */
export function alertingConfig(monitor: { privateAddress: string }): Record<string, unknown> {
  return {
    rule_files: [RULES_FILE],
    alerting: {
      alertmanagers: [{ scheme: 'https', tls_config: { ca_file: CA_PEM }, static_configs: [{ targets: [`${monitor.privateAddress}:${portNumber('monitor', 'alertmanager')}`] }] }],
    },
  };
}

/** alertmanager.yml: every alert to each configured receiver, resolved ones too. */
export function buildAlertmanagerConfig(facts: ClusterFacts): Record<string, unknown> {
  const a = facts.config.monitoring.alerts;
  const email = a.email;
  const receiver: Record<string, unknown> = { name: 'millrace' };
  if (a.webhook) receiver.webhook_configs = [{ url: a.webhook, send_resolved: true, ...(a.webhook.startsWith('https:') ? { http_config: { tls_config: { ca_file: '/etc/ssl/certs/ca-certificates.crt' } } } : {}) }];
  if (email) {
    const { host, port } = splitHostPort(email.smarthost, 587);
    receiver.email_configs = [
      {
        to: email.to,
        from: email.from,
        smarthost: `${host}:${port}`,
        require_tls: true,
        send_resolved: true,
        // STARTTLS verified against the given CA, else the node's own CAs (Alertmanager's default).
        ...(facts.smtpCa ? { tls_config: { ca_file: SMTP_CA, server_name: host } } : {}),
        ...(email.username ? { auth_username: email.username, auth_password: facts.alertSecrets?.smtpPassword ?? '' } : {}),
      },
    ];
  }
  return {
    route: { receiver: 'millrace', group_by: ['alertname', 'node'], group_wait: '10s', group_interval: '30s', repeat_interval: '4h' },
    receivers: [receiver],
  };
}

/** The script each node's timer runs: every certificate under /etc/millrace/tls, its end as a metric. */
export function certScanScript(): string {
  return `#!/bin/sh
# Rendered by millrace: exports the end of each certificate under ${TLS_DIR} for Prometheus.
set -eu
out=${TEXTFILE_DIR}/certificates.prom
tmp=$(mktemp ${TEXTFILE_DIR}/.certificates.XXXXXX)
echo '# HELP millrace_certificate_not_after_seconds When the first certificate of a PEM file on this node expires (Unix time).' > "$tmp"
echo '# TYPE millrace_certificate_not_after_seconds gauge' >> "$tmp"
find ${TLS_DIR} -name '*.pem' -type f | sort | while read -r f; do
  end=$(openssl x509 -noout -enddate -in "$f" 2>/dev/null | sed 's/^notAfter=//') || continue
  [ -n "$end" ] || continue
  subject=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$f" 2>/dev/null | sed 's/^subject=//; s/["\\\\]//g')
  printf 'millrace_certificate_not_after_seconds{file="%s",subject="%s"} %s\\n' "$f" "$subject" "$(date -d "$end" +%s)" >> "$tmp"
done
chmod 644 "$tmp"
mv "$tmp" "$out"
`;
}

/** The certificate scan's files on every node: the script, a oneshot unit, and its timer (every minute). */
export function certScanFiles(): FileSpec[] {
  return [
    { path: CERT_SCAN, content: certScanScript(), mode: 0o755, owner: 'root', restarts: [] },
    {
      path: `/etc/systemd/system/${CERT_SCAN_UNIT}`,
      content: `# Rendered by millrace.\n[Unit]\nDescription=millrace certificate expiry for Prometheus\n\n[Service]\nType=oneshot\nExecStart=${CERT_SCAN}\n`,
      mode: 0o644,
      owner: 'root',
      restarts: [],
    },
    {
      path: `/etc/systemd/system/${CERT_SCAN_TIMER}`,
      content: `# Rendered by millrace.\n[Unit]\nDescription=millrace certificate expiry for Prometheus, every minute\n\n[Timer]\nOnActiveSec=0\nOnUnitActiveSec=60s\nAccuracySec=5s\n\n[Install]\nWantedBy=timers.target\n`,
      mode: 0o644,
      owner: 'root',
      restarts: [],
    },
  ];
}

/** Starts the certificate scan's timer (and runs it once) if it is not running yet. */
export async function ensureCertScan(host: RemoteHost): Promise<{ changed: boolean; detail?: string }> {
  if ((await host.exec(`systemctl is-active ${CERT_SCAN_TIMER}`)).stdout.trim() === 'active') return { changed: false };
  await host.execOrThrow(`systemctl enable --quiet --now ${CERT_SCAN_TIMER} && systemctl start ${CERT_SCAN_UNIT}`, { what: 'start the certificate expiry scan' });
  return { changed: true, detail: `certificate expiry scan (${CERT_SCAN_TIMER})` };
}

export const alertmanagerService: Service = {
  id: 'alertmanager',
  role: 'monitor',
  unit: ALERTMANAGER_UNIT,
  user: PROMETHEUS_USER,
  packages: { apt: ['prometheus-alertmanager'], dnf: ['alertmanager'] },
  ports: ROLE_PORTS.monitor.filter((p) => p.name === 'alertmanager'),
  replaces: [DEBIAN_ALERTMANAGER_UNIT],
  directories: () => [
    { path: MONITOR_CONF, mode: '755', owner: 'root:root' },
    { path: ALERTMANAGER_DATA, mode: '750', owner: `${PROMETHEUS_USER}:${PROMETHEUS_USER}` },
  ],
  files: (ctx: NodeContext): FileSpec[] => {
    const web = `${MONITOR_CONF}/alertmanager-web.yml`;
    const port = portNumber('monitor', 'alertmanager');
    const smtpAuth = !!ctx.cluster.config.monitoring.alerts.email?.username;
    return [
      ...prometheusKey(ctx, [ALERTMANAGER_UNIT]),
      webConfig(ctx, web, [ALERTMANAGER_UNIT]),
      ...(ctx.cluster.smtpCa ? [{ path: SMTP_CA, content: ctx.cluster.smtpCa, mode: 0o644, owner: 'root', restarts: [ALERTMANAGER_UNIT] }] : []),
      {
        path: ALERTMANAGER_CONFIG,
        content: `# Rendered by millrace: where alerts go.\n${stringify(buildAlertmanagerConfig(ctx.cluster))}`,
        // With an SMTP password in it, only Alertmanager reads it.
        mode: smtpAuth ? 0o600 : 0o644,
        owner: smtpAuth ? PROMETHEUS_USER : 'root',
        restarts: [ALERTMANAGER_UNIT],
        ...(smtpAuth ? { secret: true } : {}),
      },
      unitFile(ALERTMANAGER_UNIT, `Alertmanager (${ctx.node.name})`, [
        '/usr/bin/prometheus-alertmanager',
        `--config.file=${ALERTMANAGER_CONFIG}`,
        `--storage.path=${ALERTMANAGER_DATA}`,
        `--web.listen-address=${ctx.node.privateAddress}:${port}`,
        `--web.config.file=${web}`,
        `--web.external-url=https://${ctx.node.privateAddress}:${port}/`,
        // One Alertmanager: no gossip port.
        '--cluster.listen-address=',
      ]),
    ];
  },
  healthCheck: (host: RemoteHost, ctx: NodeContext) => httpsHealth(host, ALERTMANAGER_UNIT, ctx.node.privateAddress, portNumber('monitor', 'alertmanager'), '/-/ready', 'ready (HTTPS)'),
};
