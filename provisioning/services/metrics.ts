/**
 * Metrics (issue 15): Prometheus on the monitor node scrapes every node's host metrics (node
 * exporter, on every node) and every JVM service's JMX metrics (the Prometheus JMX exporter, a
 * java agent in the service's own JVM). Every scrape endpoint speaks TLS with a certificate of the
 * cluster CA and binds to the node's private address; the flow table lets only the monitor node
 * reach it (lib/flows.ts). Prometheus and the node exporter are Debian's packages, run by millrace's
 * own units on its own config: Debian's units (every address, no TLS) are masked.
 */
import { stringify } from 'yaml';
import { durationSeconds } from '../../lib/config';
import type { InventoryNode } from '../../lib/inventory';
import { NODE_METRICS_PORT, portNumber, ROLE_PORTS, type Role } from '../../lib/roles';
import { q } from '../../lib/shell';
import { render } from '../../templates/render';
import { JMX_EXPORTER_JAR } from '../artifacts/catalog';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts, DirSpec, FileSpec, HealthReport, NodeContext, Service, ServiceUser, StepOutcome } from '../service';
import { alertingConfig, buildRules, certScanFiles, ensureCertScan, RULES_FILE } from './alerts';
import { httpsHealth, MONITOR_CONF, PROMETHEUS_USER, prometheusKey, TEXTFILE_DIR, unitFile, webConfig } from './metrics-common';
import { CA_PEM, serviceTlsPaths, tlsDirectories } from './tls-files';

export const METRICS_CONF = '/etc/millrace/metrics';
const PROMETHEUS_DATA = '/var/lib/millrace/prometheus';
export const PROMETHEUS_UNIT = 'millrace-prometheus.service';
export const NODE_EXPORTER_UNIT = 'millrace-node-exporter.service';
/** Debian's own units for the same binaries: masked, so that neither takes the ports on every address. */
const DEBIAN_UNITS = { prometheus: 'prometheus.service', nodeExporter: 'prometheus-node-exporter.service' } as const;

/** What each scrape job is: the role whose nodes it scrapes and the metrics port there. */
export interface ScrapeJob {
  job: string;
  role: Role | 'every-node';
  port: number;
}

/** One job per exporter kind; a node with several roles is scraped once per role. */
export const SCRAPE_JOBS: readonly ScrapeJob[] = [
  { job: 'node', role: 'every-node', port: NODE_METRICS_PORT.port },
  { job: 'kafka', role: 'kafka', port: portNumber('kafka', 'kafka-metrics') },
  { job: 'namenode', role: 'namenode', port: portNumber('namenode', 'namenode-metrics') },
  { job: 'datanode', role: 'datanode', port: portNumber('datanode', 'datanode-metrics') },
  { job: 'kms', role: 'kms', port: portNumber('kms', 'kms-metrics') },
  { job: 'spark-master', role: 'spark-master', port: portNumber('spark-master', 'spark-master-metrics') },
  { job: 'spark-worker', role: 'spark-worker', port: portNumber('spark-worker', 'spark-worker-metrics') },
];

/** Every (job, node, address:port) Prometheus scrapes in this cluster. */
export function scrapeTargets(nodes: readonly InventoryNode[]): { job: string; node: string; target: string }[] {
  // By name: the config is the same whatever order the inventory lists the nodes in.
  const byName = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  return SCRAPE_JOBS.flatMap((j) =>
    byName.filter((n) => j.role === 'every-node' || n.roles.includes(j.role)).map((n) => ({ job: j.job, node: n.name, target: `${n.privateAddress}:${j.port}` })),
  );
}

export interface JmxExporterSpec {
  /** Names the config file: /etc/millrace/metrics/<id>.yaml. */
  id: string;
  user: ServiceUser;
  port: number;
  /** The component's home on the node, whose bundle carries the agent jar. */
  home: string;
  restarts: string[];
  /** Rules before the catch-all: e.g. a string attribute turned into a number. */
  rules?: Record<string, unknown>[];
}

/**
 * The JVM option that loads the JMX exporter into a service's JVM, and its config: HTTPS with the
 * service user's PKCS#12 keystore (its password is in the file, so it is 0600 and the user's).
 */
export function jmxExporter(ctx: NodeContext, spec: JmxExporterSpec): { jvmOpts: string[]; files: FileSpec[] } {
  const tls = serviceTlsPaths(ctx, spec.user);
  const config = `${METRICS_CONF}/${spec.id}.yaml`;
  const content = stringify({
    lowercaseOutputName: true,
    httpServer: { ssl: { keyStore: { filename: tls.keystore, password: tls.password }, certificate: { alias: 'millrace' } } },
    rules: [...(spec.rules ?? []), { pattern: '.*' }],
  });
  return {
    jvmOpts: [`-javaagent:${spec.home}/${JMX_EXPORTER_JAR}=${ctx.node.privateAddress}:${spec.port}:${config}`],
    files: [{ path: config, content: `# Rendered by millrace: the Prometheus JMX exporter of ${spec.id}.\n${content}`, mode: 0o600, owner: spec.user, restarts: spec.restarts, secret: true }],
  };
}

export function metricsDirectories(): DirSpec[] {
  return [{ path: METRICS_CONF, mode: '755', owner: 'root:root' }];
}






/**
 * The textfile collector's directory. Streaming drivers run on the Spark master's node as spark and
 * write their progress there, so on that node spark may add files. The sticky bit keeps them from
 * replacing or removing anyone else's (the certificate scan's, root's).
 */
export function textfileDir(ctx: NodeContext): DirSpec {
  return ctx.node.roles.includes('spark-master') ? { path: TEXTFILE_DIR, mode: '1775', owner: 'root:spark' } : { path: TEXTFILE_DIR, mode: '755', owner: 'root:root' };
}

export const nodeExporterService: Service = {
  id: 'node-exporter',
  role: 'every-node',
  unit: NODE_EXPORTER_UNIT,
  user: PROMETHEUS_USER,
  packages: { apt: ['prometheus-node-exporter'], dnf: ['golang-github-prometheus-node-exporter'] },
  ports: [NODE_METRICS_PORT],
  replaces: [DEBIAN_UNITS.nodeExporter],
  directories: (ctx: NodeContext) => [...tlsDirectories([PROMETHEUS_USER]), { path: MONITOR_CONF, mode: '755', owner: 'root:root' }, textfileDir(ctx)],
  files: (ctx: NodeContext): FileSpec[] => {
    const web = `${MONITOR_CONF}/node-exporter-web.yml`;
    return [
      ...prometheusKey(ctx, [NODE_EXPORTER_UNIT]),
      webConfig(ctx, web, [NODE_EXPORTER_UNIT]),
      unitFile(NODE_EXPORTER_UNIT, `node exporter (${ctx.node.name})`, [
        '/usr/bin/prometheus-node-exporter',
        `--web.listen-address=${ctx.node.privateAddress}:${NODE_METRICS_PORT.port}`,
        `--web.config.file=${web}`,
        // The certificate scan's metrics (services/alerts.ts) and the streaming jobs' (textfileDir).
        `--collector.textfile.directory=${TEXTFILE_DIR}`,
      ]),
      ...certScanFiles(),
    ];
  },
  initialize: (host: RemoteHost) => ensureCertScan(host),
  healthCheck: (host: RemoteHost, ctx: NodeContext) => httpsHealth(host, NODE_EXPORTER_UNIT, ctx.node.privateAddress, NODE_METRICS_PORT.port, '/metrics', 'metrics (HTTPS)'),
};

/** prometheus.yml: one job per exporter kind, every target over HTTPS verified against the cluster CA. */
export function buildPrometheusConfig(facts: ClusterFacts): Record<string, unknown> {
  const interval = `${durationSeconds(facts.config.monitoring.scrapeInterval)}s`;
  const targets = scrapeTargets(facts.nodes);
  const monitor = facts.nodes.find((n) => n.roles.includes('monitor'));
  return {
    ...(monitor ? alertingConfig(monitor) : {}),
    global: { scrape_interval: interval, scrape_timeout: `${Math.min(10, durationSeconds(facts.config.monitoring.scrapeInterval))}s`, external_labels: { cluster: facts.config.name } },
    scrape_configs: SCRAPE_JOBS.filter((j) => targets.some((t) => t.job === j.job)).map((j) => ({
      job_name: j.job,
      scheme: 'https',
      tls_config: { ca_file: CA_PEM },
      static_configs: targets.filter((t) => t.job === j.job).map((t) => ({ targets: [t.target], labels: { node: t.node } })),
    })),
  };
}

export const prometheusService: Service = {
  id: 'prometheus',
  role: 'monitor',
  unit: PROMETHEUS_UNIT,
  user: PROMETHEUS_USER,
  packages: { apt: ['prometheus'], dnf: ['golang-github-prometheus'] },
  ports: ROLE_PORTS.monitor.filter((p) => p.name === 'prometheus'),
  replaces: [DEBIAN_UNITS.prometheus],
  directories: () => [
    ...tlsDirectories([PROMETHEUS_USER]),
    { path: MONITOR_CONF, mode: '755', owner: 'root:root' },
    { path: PROMETHEUS_DATA, mode: '750', owner: `${PROMETHEUS_USER}:${PROMETHEUS_USER}` },
  ],
  files: (ctx: NodeContext): FileSpec[] => {
    const web = `${MONITOR_CONF}/prometheus-web.yml`;
    const config = `${MONITOR_CONF}/prometheus.yml`;
    const port = portNumber('monitor', 'prometheus');
    return [
      ...prometheusKey(ctx, [PROMETHEUS_UNIT]),
      webConfig(ctx, web, [PROMETHEUS_UNIT]),
      { path: config, content: `# Rendered by millrace: what Prometheus scrapes.\n${stringify(buildPrometheusConfig(ctx.cluster))}`, mode: 0o644, owner: 'root', restarts: [PROMETHEUS_UNIT] },
      { path: RULES_FILE, content: `# Rendered by millrace: the alert rules (services/alerts.ts).\n${stringify(buildRules(ctx.cluster))}`, mode: 0o644, owner: 'root', restarts: [PROMETHEUS_UNIT] },
      unitFile(PROMETHEUS_UNIT, `Prometheus (${ctx.node.name})`, [
        '/usr/bin/prometheus',
        `--config.file=${config}`,
        `--storage.tsdb.path=${PROMETHEUS_DATA}`,
        `--storage.tsdb.retention.time=${durationSeconds(ctx.cluster.config.monitoring.retention)}s`,
        `--web.listen-address=${ctx.node.privateAddress}:${port}`,
        `--web.config.file=${web}`,
        `--web.external-url=https://${ctx.node.privateAddress}:${port}/`,
      ]),
    ];
  },
  healthCheck: (host: RemoteHost, ctx: NodeContext) => httpsHealth(host, PROMETHEUS_UNIT, ctx.node.privateAddress, portNumber('monitor', 'prometheus'), '/-/ready', 'ready (HTTPS)'),
};
