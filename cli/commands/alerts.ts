/** `millrace alerts`: what Alertmanager on the monitor node has firing now (issue 15). */
import { Command } from 'commander';
import { HealthCheckError, UsageError } from '../../lib/errors';
import { readInventory } from '../../lib/inventory';
import { portNumber } from '../../lib/roles';
import { q } from '../../lib/shell';
import { CA_PEM } from '../../provisioning/services/tls-files';
import { withHosts } from '../bootstrap';
import { configFor, output } from '../context';
import { formatTable } from '../table';

/** One alert as Alertmanager's API v2 gives it (the fields millrace shows). */
export interface FiringAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  status: { state: string };
}

export interface AlertRow {
  alert: string;
  severity: string;
  node: string;
  since: string;
  summary: string;
}

export function alertRows(alerts: FiringAlert[]): AlertRow[] {
  return alerts
    .map((a) => ({
      alert: a.labels.alertname ?? '?',
      severity: a.labels.severity ?? '',
      node: a.labels.node ?? '',
      since: a.startsAt,
      summary: a.annotations.summary ?? '',
    }))
    .sort((x, y) => x.since.localeCompare(y.since) || x.alert.localeCompare(y.alert));
}

export function formatAlerts(rows: AlertRow[]): string {
  if (!rows.length) return 'no alerts firing';
  return `${formatTable([['ALERT', 'SEVERITY', 'NODE', 'SINCE', 'SUMMARY'], ...rows.map((r) => [r.alert, r.severity, r.node, r.since.replace(/\.\d+Z$/, 'Z'), r.summary])])}\n\n${rows.length} alert${rows.length === 1 ? '' : 's'} firing`;
}

export function registerAlerts(program: Command): void {
  program
    .command('alerts')
    .description("list the alerts firing now, from Alertmanager on the monitor node (asked there over SSH)")
    .addHelpText('after', '\nSilenced and inhibited alerts are left out. Exits 0 either way; `--json` gives the rows for scripts.')
    .action(async function (this: Command) {
      const config = configFor(this);
      const inventory = readInventory(config.name);
      const monitor = inventory.nodes.find((n) => n.roles.includes('monitor'));
      if (!monitor) throw new UsageError(`cluster ${config.name} has no node with the monitor role`, { hint: 'run `millrace up`: it gives the monitor role to the spark-master\'s node unless a node has it' });
      const url = `https://${monitor.privateAddress}:${portNumber('monitor', 'alertmanager')}/api/v2/alerts?active=true&silenced=false&inhibited=false`;
      const r = await withHosts(config, { ...inventory, nodes: [monitor] }, (hosts) => hosts.get(monitor.name)!.exec(`curl -sS --fail --max-time 20 --cacert ${q(CA_PEM)} ${q(url)}`));
      if (r.code !== 0)
        throw new HealthCheckError(`${monitor.name}: Alertmanager did not answer: ${r.stderr.trim().split('\n').pop() ?? `curl exited ${r.code}`}`, {
          hint: `check it with \`millrace status\` and \`millrace logs ${monitor.name} alertmanager\``,
        });
      const rows = alertRows(JSON.parse(r.stdout) as FiringAlert[]);
      output(this, formatAlerts(rows), { cluster: config.name, monitor: monitor.name, alerts: rows });
    });
}
