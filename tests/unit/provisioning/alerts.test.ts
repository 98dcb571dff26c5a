/** Alerts' plan (provisioning/services/alerts.ts) and `millrace alerts`' output. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { alertRows, formatAlerts } from '../../../cli/commands/alerts';
import { parseConfigText } from '../../../lib/config';
import { alertSecrets, smtpCa } from '../../../provisioning/cluster-state';
import { planCluster } from '../../../provisioning/plan';
import { alertRules, buildAlertmanagerConfig, buildRules, certScanScript, RULES_FILE, SMTP_CA } from '../../../provisioning/services/alerts';
import { buildPrometheusConfig } from '../../../provisioning/services/metrics';
import { factsFor } from '../../fixtures/facts';
import { planEgress } from '../../../stacks/security-groups';

const file = (plans: ReturnType<typeof planCluster>, node: string, p: string) => {
  const f = plans.find((x) => x.node.name === node)?.files.find((x) => x.path === p);
  if (!f) throw new Error(`${node} has no ${p}`);
  return f;
};

describe('alert rules', () => {
  it('covers the failures issue 15 names that the scraped metrics can show, each with a severity and a summary', () => {
    const names = alertRules(factsFor()).map((r) => r.alert);
    expect(names).toEqual([
      'ExporterDown',
      'KafkaBrokerDown',
      'KafkaOfflinePartitions',
      'KafkaUnderReplicatedPartitions',
      'HdfsAlmostFull',
      'HdfsDeadDataNodes',
      'HdfsSafemode',
      'KmsDown',
      'CertificateExpiring',
      'DiskFillingUp',
      'DeadLetterSpike',
      'StreamingQueryStopped',
      'StreamingQueryFallingBehind',
      'KafkaConsumerLagGrowing',
      'LakeStale',
      'QuarantineSpike',
    ]);
    for (const r of alertRules(factsFor())) expect([r.alert, r.summary.length > 10, ['critical', 'warning'].includes(r.severity)]).toEqual([r.alert, true, true]);
  });

  it('writes a rules file Prometheus loads, evaluated at the scrape interval, each rule held for monitoring.alerts.for', () => {
    const rules = buildRules(factsFor('name: demo\nmonitoring: { scrapeInterval: 10s, alerts: { for: 2m } }\n')) as { groups: { interval: string; rules: { alert: string; for: string; labels: { severity: string } }[] }[] };
    expect(rules.groups).toHaveLength(1);
    expect(rules.groups[0]!.interval).toBe('10s');
    // A growing lag and a query that falls behind must hold for 10 minutes whatever monitoring.alerts.for says.
    expect(Object.fromEntries(rules.groups[0]!.rules.filter((r) => r.for !== '120s').map((r) => [r.alert, r.for]))).toEqual({ StreamingQueryFallingBehind: '600s', KafkaConsumerLagGrowing: '600s' });
    const prometheus = buildPrometheusConfig(factsFor()) as { rule_files: string[]; alerting: { alertmanagers: { scheme: string; static_configs: { targets: string[] }[] }[] } };
    expect(prometheus.rule_files).toEqual([RULES_FILE]);
    expect(prometheus.alerting.alertmanagers).toEqual([expect.objectContaining({ scheme: 'https', static_configs: [{ targets: ['127.0.0.12:9099'] }] })]);
    const plans = planCluster(factsFor());
    expect(parse(file(plans, 'spark-1', RULES_FILE).content)).toEqual(buildRules(factsFor()));
  });
});

describe('the README', () => {
  it("has a row in its alert table for every rule, and none for a rule that is gone", () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Alerts'), readme.indexOf('## The pipeline'));
    const rows = [...section.matchAll(/^\| `([A-Z]\w+)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual(alertRules(factsFor()).map((r) => r.alert));
  });
});

describe('streaming alerts', () => {
  it("read the drivers' metrics: a stale heartbeat or a failed query, and the lake's freshness after monitoring.alerts.lakeStaleAfter", () => {
    const byName = (yaml = 'name: demo\n') => Object.fromEntries(alertRules(factsFor(yaml)).map((r) => [r.alert, r.expr]));
    expect(byName().StreamingQueryStopped).toBe('millrace_streaming_up == 0 or (time() - millrace_streaming_heartbeat_timestamp_seconds) > 60');
    expect(byName().LakeStale).toContain('> 1800 and millrace_streaming_up == 1');
    expect(byName('name: demo\nmonitoring: { alerts: { lakeStaleAfter: 2h } }\n').LakeStale).toContain('> 7200 and');
  });

  it('lets the streaming drivers (spark, on the master node) add files to the textfile directory, and no one else', () => {
    const plans = planCluster(factsFor());
    const dirs = Object.fromEntries(plans.map((p) => [p.node.name, p.directories.find((d) => d.path === '/var/lib/millrace/node-exporter')]));
    const master = plans.find((p) => p.node.roles.includes('spark-master'))!.node.name;
    for (const [name, dir] of Object.entries(dirs)) expect([name, dir?.mode, dir?.owner]).toEqual(name === master ? [name, '1775', 'root:spark'] : [name, '755', 'root:root']);
    expect(file(plans, master, '/etc/millrace/spark/spark-defaults.conf').content).toMatch(/^spark\.millrace\.metrics\.dir\s+\/var\/lib\/millrace\/node-exporter$/m);
  });
});

describe('Alertmanager', () => {
  it('sends every alert, resolved ones too, to the webhook; runs on the monitor node over TLS without a gossip port', () => {
    const facts = factsFor('name: demo\nmonitoring: { alerts: { webhook: "https://hooks.example.com/millrace" } }\n');
    const am = buildAlertmanagerConfig(facts) as { route: { receiver: string }; receivers: { name: string; webhook_configs: { url: string; send_resolved: boolean }[] }[] };
    expect(am.route.receiver).toBe('millrace');
    expect(am.receivers[0]!.webhook_configs[0]).toMatchObject({ url: 'https://hooks.example.com/millrace', send_resolved: true });
    const unit = file(planCluster(facts), 'spark-1', '/etc/systemd/system/millrace-alertmanager.service').content;
    expect(unit).toContain('--web.listen-address=127.0.0.12:9099 --web.config.file=/etc/millrace/monitor/alertmanager-web.yml');
    expect(unit).toContain('--cluster.listen-address=');
    // Each of the monitor's two services declares its own port: `up` checks only that one is free before starting it.
    const services = planCluster(facts).find((p) => p.node.name === 'spark-1')!.services;
    expect(services.filter((x) => x.role === 'monitor').map((x) => [x.id, x.ports.map((p) => p.port)])).toEqual([
      ['alertmanager', [9099]],
      ['prometheus', [9090]],
    ]);
  });

  it('with SMTP login: the password comes from the environment of `up`, lands only in a 0600 file of prometheus, and its absence is a clear error', () => {
    const yaml = 'name: demo\nmonitoring: { alerts: { email: { to: ops@example.com, from: millrace@example.com, smarthost: smtp.example.com, username: millrace } } }\n';
    const config = parseConfigText(yaml);
    expect(() => alertSecrets(config, 'create', {})).toThrow(/monitoring\.alerts\.email: \$MILLRACE_SMTP_PASSWORD is not set/);
    expect(alertSecrets(config, 'existing', {})).toEqual({});
    expect(alertSecrets(config, 'create', { MILLRACE_SMTP_PASSWORD: 's3cret-smtp' })).toEqual({ smtpPassword: 's3cret-smtp' });
    const facts = { ...factsFor(yaml), alertSecrets: { smtpPassword: 's3cret-smtp' } };
    const am = file(planCluster(facts), 'spark-1', '/etc/millrace/monitor/alertmanager.yml');
    expect([am.mode.toString(8), am.owner, am.secret]).toEqual(['600', 'prometheus', true]);
    expect(parse(am.content).receivers[0].email_configs[0]).toMatchObject({ to: 'ops@example.com', smarthost: 'smtp.example.com:587', require_tls: true, auth_username: 'millrace', auth_password: 's3cret-smtp' });
    // Without a login, nothing secret: readable.
    const open = file(planCluster(factsFor('name: demo\nmonitoring: { alerts: { email: { to: ops@example.com, from: m@example.com, smarthost: "smtp.example.com:25" } } }\n')), 'spark-1', '/etc/millrace/monitor/alertmanager.yml');
    expect(open.mode.toString(8)).toBe('644');
  });
});

describe("the SMTP server's CA (monitoring.alerts.email.ca)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smtp-ca-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const yaml = (ca: string): string => `name: demo\nmonitoring: { alerts: { email: { to: ops@example.com, from: m@example.com, smarthost: "127.0.0.1:2525", ca: ${JSON.stringify(ca)} } } }\n`;

  it('is read when `up` runs, shipped to the monitor node beside alertmanager.yml, and STARTTLS is verified against it', () => {
    const ca = path.join(dir, 'ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-out', ca, '-days', '2', '-subj', '/CN=smtp-test-ca'], { stdio: 'ignore' });
    const config = parseConfigText(yaml(ca));
    const pem = smtpCa(config, 'create')!;
    expect(pem).toBe(fs.readFileSync(ca, 'utf8'));
    const facts = { ...factsFor(yaml(ca)), smtpCa: pem };
    expect(file(planCluster(facts), 'spark-1', SMTP_CA)).toMatchObject({ content: pem, owner: 'root' });
    const email = (buildAlertmanagerConfig(facts) as { receivers: { email_configs: Record<string, unknown>[] }[] }).receivers[0]!.email_configs[0];
    expect(email).toMatchObject({ smarthost: '127.0.0.1:2525', require_tls: true, tls_config: { ca_file: SMTP_CA, server_name: '127.0.0.1' } });
    // Without one, the node's own CAs (Alertmanager's default): no tls_config, no file.
    const plain = factsFor('name: demo\nmonitoring: { alerts: { email: { to: ops@example.com, from: m@example.com, smarthost: smtp.example.com } } }\n');
    expect((buildAlertmanagerConfig(plain) as { receivers: { email_configs: Record<string, unknown>[] }[] }).receivers[0]!.email_configs[0]).not.toHaveProperty('tls_config');
    expect(planCluster(plain).find((n) => n.node.name === 'spark-1')!.files.some((f) => f.path === SMTP_CA)).toBe(false);
  });

  it('stops `up` when the file is missing or holds no certificate, naming the setting and the file', () => {
    const missing = path.join(dir, 'nope.pem');
    expect(() => smtpCa(parseConfigText(yaml(missing)), 'create')).toThrow(`monitoring.alerts.email.ca: ${missing}: no such file`);
    expect(smtpCa(parseConfigText(yaml(missing)), 'existing')).toBeUndefined();
    const key = path.join(dir, 'key.pem');
    fs.writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    expect(() => smtpCa(parseConfigText(yaml(key)), 'create')).toThrow(/monitoring\.alerts\.email\.ca: .*key\.pem: holds no PEM certificate/);
  });
});

describe('the certificate expiry scan', () => {
  it('exports the end of the first certificate of every PEM file, by file and subject, and skips files without one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cert-scan-'));
    try {
      const tls = path.join(dir, 'tls');
      const out = path.join(dir, 'textfile');
      fs.mkdirSync(path.join(tls, 'kafka'), { recursive: true });
      fs.mkdirSync(out);
      const cert = path.join(tls, 'kafka', 'node.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '7', '-subj', '/CN=itest-expiring/OU=node'], { stdio: 'ignore' });
      // As the node's files are: the key first, then the chain.
      fs.writeFileSync(cert, fs.readFileSync(path.join(dir, 'k.pem'), 'utf8') + fs.readFileSync(path.join(dir, 'c.pem'), 'utf8'));
      fs.writeFileSync(path.join(tls, 'truststore.password.pem'), 'not a certificate\n');
      const script = certScanScript().replaceAll('/etc/millrace/tls', tls).replaceAll('/var/lib/millrace/node-exporter', out);
      execFileSync('sh', ['-c', script]);
      const text = fs.readFileSync(path.join(out, 'certificates.prom'), 'utf8');
      const lines = text.split('\n').filter((l) => l.startsWith('millrace_certificate_not_after_seconds{'));
      expect(lines).toHaveLength(1);
      const m = /^millrace_certificate_not_after_seconds\{file="([^"]+)",subject="([^"]+)"\} (\d+)$/.exec(lines[0]!);
      expect(m?.[1]).toBe(cert);
      expect(m?.[2]).toBe('OU=node,CN=itest-expiring');
      expect(Math.abs(Number(m?.[3]) - (Date.now() / 1000 + 7 * 86400))).toBeLessThan(120);
      expect(fs.readdirSync(out)).toEqual(['certificates.prom']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('millrace alerts output', () => {
  it('lists the firing alerts oldest first, and says so when none fire', () => {
    const rows = alertRows([
      { labels: { alertname: 'KmsDown', severity: 'critical', node: 'hdfs-1' }, annotations: { summary: 'the KMS on hdfs-1 is down' }, startsAt: '2026-12-05T10:02:00.123Z', status: { state: 'active' } },
      { labels: { alertname: 'ExporterDown', severity: 'critical', node: 'hdfs-1' }, annotations: { summary: 'datanode on hdfs-1 does not answer' }, startsAt: '2026-12-05T10:01:00.000Z', status: { state: 'active' } },
    ]);
    expect(rows.map((r) => r.alert)).toEqual(['ExporterDown', 'KmsDown']);
    const text = formatAlerts(rows);
    expect(text).toMatch(/^ALERT +SEVERITY +NODE +SINCE +SUMMARY/);
    expect(text).toMatch(/ExporterDown +critical +hdfs-1 +2026-12-05T10:01:00Z +datanode on hdfs-1 does not answer/);
    expect(text).toMatch(/2 alerts firing$/);
    expect(formatAlerts([])).toBe('no alerts firing');
  });
});

describe('alert delivery from an EC2 monitor', () => {
  it("opens egress from the monitor's group to the smarthost and a non-443 webhook, and from no other group", () => {
    const c = parseConfigText('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\nmonitoring: { alerts: { webhook: "http://hooks.example.com:8080/a", email: { to: a@example.com, from: b@example.com, smarthost: "198.51.100.9:2525" } } }\n');
    const rules = (roles: Parameters<typeof planEgress>[2]) => planEgress(c, '10.0.0.0/16', roles).map((e) => `${e.id} ${e.port ?? ''} ${e.cidr}`);
    expect(rules(['spark-master', 'monitor'])).toEqual(expect.arrayContaining(['smtp 2525 198.51.100.9/32', 'webhook 8080 0.0.0.0/0']));
    expect(rules(['kafka']).some((r) => /^(smtp|webhook)/.test(r))).toBe(false);
    // An HTTPS webhook on 443 needs nothing new; a smarthost by name goes anywhere on its port.
    const https = parseConfigText('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\nmonitoring: { alerts: { webhook: "https://hooks.example.com/a", email: { to: a@example.com, from: b@example.com, smarthost: smtp.example.com } } }\n');
    expect(planEgress(https, '10.0.0.0/16', ['monitor']).map((e) => `${e.id} ${e.port ?? ''} ${e.cidr}`)).toEqual(['vpc  10.0.0.0/16', 'https 443 0.0.0.0/0', 'smtp 587 0.0.0.0/0']);
  });
});
