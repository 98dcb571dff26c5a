/** Shared pieces for services that are a JVM started by a systemd unit through a launcher. */
import { q } from '../../lib/shell';
import { render } from '../../templates/render';
import type { RemoteHost } from '../remote-host';
import type { FileSpec, HealthReport, ServiceUser } from '../service';

export const BIN_DIR = '/opt/millrace/bin';

/**
 * `java` with the options for the short-lived admin tools millrace runs on nodes (a Kafka or HDFS
 * command that lives a few seconds, not a daemon): the C1 compiler alone and the serial collector
 * start sooner and take about half the CPU of the server defaults, which tells on small nodes and
 * when `up`, `status` and `verify` run several at once. Spread it into cmd(): cmd(...JAVA_TOOL, '-cp', ...).
 */
export const JAVA_TOOL = ['java', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData'] as const;

export interface LauncherSpec {
  /** Unit stem, e.g. millrace-kafka. */
  name: string;
  description: string;
  user: ServiceUser;
  mainClass: string;
  classpath: string[];
  jvmOpts: string[];
  args: string[];
  env?: Record<string, string>;
}

export interface LauncherContext {
  description: string;
  user: string;
  mainClass: string;
  classpath: string;
  jvmOpts: string[];
  args: string[];
  env: { key: string; value: string }[];
}

/** Every value that reaches the shell is quoted here, not in the template. */
export function buildLauncherContext(spec: LauncherSpec): LauncherContext {
  return {
    description: spec.description,
    user: spec.user,
    mainClass: q(spec.mainClass),
    classpath: q(spec.classpath.join(':')),
    jvmOpts: spec.jvmOpts.map(q),
    args: spec.args.map(q),
    env: Object.entries(spec.env ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => ({ key, value: q(value) })),
  };
}

/** The launcher script and systemd unit for a JVM service; both restart the unit on change. */
export function launcherFiles(spec: LauncherSpec): FileSpec[] {
  const unit = `${spec.name}.service`;
  const launcher = `${BIN_DIR}/${spec.name}`;
  return [
    { path: launcher, content: render('opt/launcher.sh', buildLauncherContext(spec)), mode: 0o755, owner: 'root', restarts: [unit] },
    {
      path: `/etc/systemd/system/${unit}`,
      content: render('systemd/service', { description: spec.description, user: spec.user, execStart: launcher }),
      mode: 0o644,
      owner: 'root',
      restarts: [unit],
    },
  ];
}

/** Hadoop-style XML configuration from a sorted property map. */
export function hadoopXml(file: 'core-site' | 'hdfs-site' | 'kms-site' | 'kms-acls' | 'ssl-server' | 'ssl-client' | 'hadoop-policy', properties: { key: string; value: string }[]): string {
  return render(`hadoop/${file}.xml`, { properties: properties.map((p) => ({ key: xmlEscape(p.key), value: xmlEscape(p.value) })) });
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Shell test for a listening TCP port on an address, run on the node. */
export function portOpenCommand(address: string, port: number): string {
  // JVMs may report the socket as IPv4-mapped IPv6: [::ffff:127.0.0.11]:9093.
  const pattern = `(^|[[:space:]]|\\[(::ffff:)?)${address.replace(/\./g, '\\.')}\\]?:${port}([[:space:]]|$)`;
  return `ss -Hltn ${q(`sport = :${port}`)} | grep -qE ${q(pattern)}`;
}

/** The first two checks of every service: its unit is active and its main port listens. */
export async function unitAndPortChecks(host: RemoteHost, unit: string, address: string, port: number): Promise<HealthReport['checks']> {
  const state = (await host.exec(`systemctl is-active ${q(unit)}`)).stdout.trim();
  const open = (await host.exec(portOpenCommand(address, port))).code === 0;
  return [
    { name: 'systemd', ok: state === 'active', detail: state || 'unknown' },
    { name: `port ${port}`, ok: open, detail: open ? 'listening' : 'not listening' },
  ];
}

export function report(checks: HealthReport['checks']): HealthReport {
  return { healthy: checks.every((c) => c.ok), checks };
}

export function lastLine(s: string): string {
  return s.trim().split('\n').slice(-1)[0] ?? '';
}
