/** What Prometheus, Alertmanager and the node exporter (Debian's Go servers, run by millrace's units) share. */
import { stringify } from 'yaml';
import { MillraceError } from '../../lib/errors';
import { q } from '../../lib/shell';
import { render } from '../../templates/render';
import type { RemoteHost } from '../remote-host';
import type { FileSpec, HealthReport, NodeContext, Service, StepOutcome } from '../service';
import { report, unitAndPortChecks } from './java-service';
import { CA_PEM, serviceKeyFiles, serviceTlsPaths } from './tls-files';

export const MONITOR_CONF = '/etc/millrace/monitor';
/** The user Debian's packages make; every one of these servers runs as it. */
export const PROMETHEUS_USER = 'prometheus';
/**
 * The node exporter's textfile collector reads every *.prom file here: the certificate scan's
 * (alerts.ts) on every node, and on the Spark master's node the streaming jobs' progress, written
 * by their drivers (spark-jobs/millrace_pipeline/prometheus.py, told the path by spark-defaults).
 */
export const TEXTFILE_DIR = '/var/lib/millrace/node-exporter';

/** Prometheus's and the node exporter's TLS key (the node's identity, readable by prometheus only). */
export function prometheusKey(ctx: NodeContext, restarts: string[]): FileSpec[] {
  return serviceKeyFiles(ctx, PROMETHEUS_USER, restarts, { pkcs12: false }).files;
}

/** The web config both Go servers read: TLS with the node's key and chain (one PEM holds both). */
export function webConfig(ctx: NodeContext, path: string, restarts: string[]): FileSpec {
  const pem = serviceTlsPaths(ctx, PROMETHEUS_USER).pem;
  return {
    path,
    content: `# Rendered by millrace: TLS for this server's HTTP endpoint.\n${stringify({ tls_server_config: { cert_file: pem, key_file: pem, min_version: 'TLS12' } })}`,
    mode: 0o644,
    owner: 'root',
    restarts,
  };
}

/** A systemd unit running one of Debian's binaries as the prometheus user. */
export function unitFile(unit: string, description: string, execStart: string[]): FileSpec {
  return {
    path: `/etc/systemd/system/${unit}`,
    content: render('systemd/service', { description, user: PROMETHEUS_USER, execStart: execStart.join(' ') }),
    mode: 0o644,
    owner: 'root',
    restarts: [unit],
  };
}

/** Masks Debian's unit for the same binary (stopping it if it ran): idempotent. */
/** The host's own units that the services of `plans` replace and that run now, as "node: unit (state)". */
export async function runningReplacedUnits(plans: { node: { name: string }; services: Service[] }[], hosts: Map<string, RemoteHost>): Promise<string[]> {
  const found = await Promise.all(
    plans.map(async (plan) => {
      const units = [...new Set(plan.services.flatMap((s) => s.replaces ?? []))];
      const host = hosts.get(plan.node.name);
      if (!units.length || !host) return [];
      // One line per unit: active, activating, reloading or deactivating means it runs (or tries to).
      const states = (await host.exec(`for u in ${units.map(q).join(' ')}; do echo "$(systemctl is-active "$u" 2>/dev/null)"; done`)).stdout.trim().split('\n');
      return units.flatMap((u, i) => (/^(active|activating|reloading|deactivating)$/.test(states[i] ?? '') ? [`${plan.node.name}: ${u} (${states[i]})`] : []));
    }),
  );
  return found.flat();
}

/** Stops before any change where a node runs its own prometheus units that millrace would stop and mask. */
export async function assertNoRunningReplacedUnits(plans: { node: { name: string }; services: Service[] }[], hosts: Map<string, RemoteHost>, replaceExisting: boolean): Promise<void> {
  if (replaceExisting) return;
  const running = await runningReplacedUnits(plans, hosts);
  if (!running.length) return;
  throw new MillraceError(
    `these nodes run monitoring of their own that millrace's would replace (its units are stopped and masked):\n${running.map((r) => `  ${r}`).join('\n')}\nNothing was changed on any node.`,
    {
      hint: "millrace runs its own Prometheus, node exporter and Alertmanager in their place (TLS, on each node's private address, on the same ports). If the host's own may go, set monitoring.replaceExisting: true and run `millrace up` again",
    },
  );
}

export async function maskDebianUnit(host: RemoteHost, unit: string): Promise<StepOutcome> {
  const state = (await host.exec(`systemctl is-enabled ${q(unit)} 2>/dev/null`)).stdout.trim();
  if (state === 'masked') return { changed: false };
  await host.execOrThrow(`systemctl disable --quiet --now ${q(unit)} 2>/dev/null || true; systemctl mask --quiet ${q(unit)}`, { what: `mask Debian's ${unit}` });
  return { changed: true, detail: `masked Debian's ${unit}` };
}

/** The unit runs, its port listens, and an HTTPS GET of `path` verified against the cluster CA answers 200. */
export async function httpsHealth(host: RemoteHost, unit: string, address: string, port: number, path: string, name: string): Promise<HealthReport> {
  const checks = await unitAndPortChecks(host, unit, address, port);
  if (checks.every((c) => c.ok)) {
    const r = await host.exec(`curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert ${q(CA_PEM)} ${q(`https://${address}:${port}${path}`)}`);
    const code = r.stdout.trim();
    checks.push({ name, ok: code === '200', detail: code && code !== '000' ? `HTTP ${code}` : r.stderr.trim().split('\n').pop() || 'no answer' });
  }
  return report(checks);
}
