/**
 * Issue 15, alerts: break something real and watch the alert fire and resolve, delivered by
 * Alertmanager on the monitor node to a webhook receiver and an SMTP server (STARTTLS with a
 * certificate of a private CA, and a login) that this test runs on loopback. The cluster runs with
 * a 10 s scrape and rule interval for the test (an `up` with that config), and is put back to the
 * base config after.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { createKafkaClient } from '../../producers/kafka-client';
import { TEXTFILE_DIR } from '../../provisioning/services/metrics-common';
import { cli, CLUSTER_YAML, CONFIG, dashboardQueries, emptyQueries, ensureBaseCluster, ENV, FLIGHTS_SPEC, isStreamingPanel, JOB, kafkaAs, node, prometheusQuery, TEST_DIR, writeConfig } from './harness';

interface Delivered {
  at: number;
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

const received: Delivered[] = [];
let server: http.Server;
let alertsConfig = '';

/** A message the SMTP server accepted: when, its subject, whether it came over TLS, and who logged in. */
interface Mail {
  at: number;
  subject: string;
  to: string[];
  tls: boolean;
  user: unknown;
}
const mails: Mail[] = [];
let smtp: SMTPServer;
const SMTP_USER = 'millrace';
const SMTP_PASSWORD = 'itest-smtp-password-5f1c';

/** A CA and a certificate for 127.0.0.1 that it signed, made with openssl in `dir`: the SMTP server's. */
function smtpCertificates(dir: string): { ca: string; key: string; cert: string } {
  const f = (n: string): string => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', f('smtp-ca.key'), '-out', f('smtp-ca.pem'), '-days', '30', '-subj', '/CN=itest-smtp-ca'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', f('smtp.key'), '-out', f('smtp.csr'), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  fs.writeFileSync(f('smtp.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  execFileSync('openssl', ['x509', '-req', '-in', f('smtp.csr'), '-CA', f('smtp-ca.pem'), '-CAkey', f('smtp-ca.key'), '-CAcreateserial', '-out', f('smtp.crt'), '-days', '30', '-extfile', f('smtp.ext')], { stdio: 'ignore' });
  return { ca: f('smtp-ca.pem'), key: fs.readFileSync(f('smtp.key'), 'utf8'), cert: fs.readFileSync(f('smtp.crt'), 'utf8') };
}

/** The Subject header of a raw message, unfolded. */
const subjectOf = (raw: string): string => (/^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(raw)?.[1] ?? '').replace(/\r?\n[ \t]+/g, ' ').trim();

/** The first mail at or after `since` whose subject matches, waited for. */
async function mail(subject: RegExp, since: number, timeoutMs: number): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = mails.find((m) => m.at >= since && subject.test(m.subject));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no mail with subject ${subject} within ${timeoutMs / 1000} s; mails: ${JSON.stringify(mails.map((m) => m.subject))}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  await ensureBaseCluster();
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        received.push({ at: Date.now(), ...(JSON.parse(body) as Omit<Delivered, 'at'>) });
      } catch {
        // Not Alertmanager's JSON: kept out.
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // SMTP: STARTTLS required before the login (smtp-server's default), with a private CA's certificate.
  const certs = smtpCertificates(TEST_DIR);
  smtp = new SMTPServer({
    key: certs.key,
    cert: certs.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, done) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) done(null, { user: auth.username });
      else done(new Error('invalid login'));
    },
    onData(stream, session, done) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({ at: Date.now(), subject: subjectOf(raw), to: session.envelope.rcptTo.map((r) => r.address), tls: !!session.secure, user: session.user });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  alertsConfig = writeConfig(
    path.join(TEST_DIR, 'alerts.yaml'),
    `${CLUSTER_YAML}monitoring:\n  scrapeInterval: 10s\n  alerts:\n    webhook: http://127.0.0.1:${port}/alerts\n    for: 10s\n    lakeStaleAfter: 1m\n` +
      `    email: { to: oncall@example.com, from: millrace@example.com, smarthost: "127.0.0.1:${smtpPort}", username: ${SMTP_USER}, ca: ${JSON.stringify(certs.ca)} }\n`,
  );
  // The SMTP password comes from the environment of `up`, and only there.
  const up = await cli(['up', '--json', '-c', alertsConfig], { env: { ...ENV, MILLRACE_SMTP_PASSWORD: SMTP_PASSWORD } });
  if (up.code !== 0) throw new Error(`up with the alerts config failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
}, 10 * 60_000);

afterAll(async () => {
  await cli(['up', '-c', CONFIG]);
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => smtp.close(() => resolve(undefined)));
}, 10 * 60_000);

/** The first delivery at or after `since` of `alertname` in `status` (and matching `labels`), waited for. */
async function delivery(alertname: string, status: 'firing' | 'resolved', since: number, labels: Record<string, string>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = received.find((d) => d.at >= since && d.alerts.some((a) => a.status === status && a.labels.alertname === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v)));
    if (hit) return hit.at;
    if (Date.now() > deadline)
      throw new Error(
        `no ${status} ${alertname} ${JSON.stringify(labels)} delivered within ${timeoutMs / 1000} s; deliveries: ${JSON.stringify(received.map((d) => d.alerts.map((a) => `${a.status} ${a.labels.alertname} ${a.labels.node ?? ''} ${a.labels.job ?? ''}`)))}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * A certificate of a test CA that ends in 7 days, put on kafka-1 until its alert fires, then
 * removed until it resolves. It waits on Prometheus's one-minute scan, so it runs beside the other
 * scenarios (started by the first test, asserted by its own); one run per file.
 */
let certificate: Promise<{ placed: number; fired: number; removed: number; resolved: number; subject?: string; otherFiles: string[] }> | undefined;
function certificateScenario(): NonNullable<typeof certificate> {
  certificate ??= (async () => {
    const kafka = await node('kafka-1');
    const file = '/etc/millrace/tls/itest-expiring-ca.pem';
    try {
      const placed = Date.now();
      await kafka.execOrThrow(
        `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -out ${file} -days 7 -subj /CN=itest-expiring-ca 2>/dev/null && chmod 644 ${file}`,
      );
      const fired = await delivery('CertificateExpiring', 'firing', placed, { node: 'kafka-1', file }, 240_000);
      const all = received.flatMap((d) => d.alerts).filter((a) => a.labels.alertname === 'CertificateExpiring');
      const subject = all.find((a) => a.labels.file === file)?.labels.subject;
      const otherFiles = all.filter((a) => a.labels.file !== file).map((a) => `${a.labels.node}: ${a.labels.file}`);
      const removed = Date.now();
      await kafka.execOrThrow(`rm -f ${file}`);
      const resolved = await delivery('CertificateExpiring', 'resolved', removed, { node: 'kafka-1', file }, 240_000);
      return { placed, fired, removed, resolved, subject, otherFiles };
    } finally {
      await kafka.exec(`rm -f ${file}`);
      await kafka.close();
    }
  })();
  // Its own test reports a failure; until then it must not count as unhandled.
  certificate.catch(() => undefined);
  return certificate;
}

/**
 * hdfs-1's DataNode stopped until ExporterDown fires for it (and `millrace alerts` is asked then),
 * then started until it resolves, with the mails of both. It runs while the streaming scenario
 * waits for QuarantineSpike to leave its 5-minute window, after that scenario's ingest has
 * stopped (started by that test, asserted by its own); one run per file.
 */
let dataNode: Promise<{ stopped: number; fired: number; listed: { code: number | null; stdout: string }; restarted: number; resolved: number; firingMail: Mail; resolvedMail: Mail }> | undefined;
function dataNodeScenario(): NonNullable<typeof dataNode> {
  dataNode ??= (async () => {
    const hdfs = await node('hdfs-1');
    const stopped = Date.now();
    try {
      await hdfs.execOrThrow('systemctl stop millrace-hdfs-datanode.service');
      const fired = await delivery('ExporterDown', 'firing', stopped, { job: 'datanode', node: 'hdfs-1' }, 180_000);
      const listed = await cli(['alerts', '--json', '-c', alertsConfig]);
      const restarted = Date.now();
      await hdfs.execOrThrow('systemctl start millrace-hdfs-datanode.service');
      const resolved = await delivery('ExporterDown', 'resolved', restarted, { job: 'datanode', node: 'hdfs-1' }, 180_000);
      const firingMail = await mail(/^\[FIRING:\d+\] ExporterDown hdfs-1\b/, stopped, 60_000);
      const resolvedMail = await mail(/^\[RESOLVED\] ExporterDown hdfs-1\b/, restarted, 60_000);
      return { stopped, fired, listed, restarted, resolved, firingMail, resolvedMail };
    } finally {
      await hdfs.exec('systemctl start millrace-hdfs-datanode.service');
      await hdfs.close();
    }
  })();
  // Its own test reports a failure; until then it must not count as unhandled.
  dataNode.catch(() => undefined);
  return dataNode;
}

describe('alerts, end to end through Alertmanager to a webhook and by email', () => {
  it("a streaming ingest's progress reaches Prometheus; idle, LakeStale fires, and new rows resolve it; a burst of invalid records fires QuarantineSpike; its driver killed (SIGKILL) fires StreamingQueryStopped, resubmitted it resolves; `jobs kill` stops it without an alert", async () => {
    // Its waits (Prometheus's one-minute scan of certificates) overlap this test's.
    void certificateScenario();
    // A pipeline of its own (the flights spec, renamed): its topic, lake and checkpoints are this test's.
    const pipeline = 'alertsflow';
    const spec = path.join(TEST_DIR, `${pipeline}.yaml`);
    fs.writeFileSync(spec, fs.readFileSync(FLIGHTS_SPEC, 'utf8').replace(/^name: flights\b/m, `name: ${pipeline}`).replace(/^topic: flights\b/m, `topic: ${pipeline}`));
    const labels = { pipeline, spark_job: 'ingest', query: 'events' };
    const selector = `{pipeline="${pipeline}",spark_job="ingest",query="events"}`;
    const metricsFile = `${TEXTFILE_DIR}/streaming-${pipeline}-ingest.prom`;
    const created = await cli(['topics', 'create', pipeline, '--replication-factor', '1', '-c', alertsConfig]);
    expect([created.code, created.stderr.slice(-500)]).toEqual([0, expect.anything()]);
    const submit = async (): Promise<{ appId: string; pid: number }> => {
      const r = await cli(['submit', '--detach', '--json', '--spec', spec, '--conf', 'spark.cores.max=1', JOB('ingest.py'), '-c', alertsConfig, '--', '--trigger-seconds', '2']);
      if (r.code !== 0) throw new Error(`submitting ingest failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
      const d = JSON.parse(r.stdout) as { appId?: string; pid: number };
      if (!d.appId) throw new Error(`the master did not accept ingest within 2 minutes: ${r.stdout}`);
      return { appId: d.appId, pid: d.pid };
    };
    /** Polls an instant query until `ok` holds for its value (at most `timeoutMs`); the last value. */
    const until = async (promql: string, ok: (v: number) => boolean, timeoutMs: number): Promise<number> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = (await prometheusQuery(promql)).map((x) => Number(x.value[1]))[0];
        if (v !== undefined && ok(v)) return v;
        if (Date.now() > deadline) throw new Error(`${promql}: ${v ?? 'no sample'} after ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 3000));
      }
    };
    const spark = await node('spark-1');
    let running: { appId: string; pid: number } | undefined;
    try {
      running = await submit();
      const records = 400;
      const produced = await cli(['produce', '--json', '--spec', spec, '--source', 'synthetic', '--limit', String(records), '--rate', '200', '--source-name', pipeline, '-c', alertsConfig]);
      expect([produced.code, (JSON.parse(produced.stdout || '{}') as { sent?: number }).sent]).toEqual([0, records]);
      // Then at once a burst of records that are not JSON, straight to the topic (as a foreign
      // producer would): QuarantineSpike fires (> 1/s over 5 min), and resolves only once the burst
      // has left the rule's 5-minute window. Sent first, that window passes while the rest of this
      // test runs, instead of after it.
      const burst = Date.now();
      const admin = createKafkaClient(await kafkaAs('admin'));
      const producer = await admin.batchProducer({});
      const invalid = 600;
      const { result } = await producer.send(pipeline, Array.from({ length: invalid }, (_, i) => ({ key: 'MCI', value: `not json ${i}` })));
      await producer.close();
      expect(await result).toMatchObject({ ok: true, count: invalid });
      // Spark's own progress, through the driver's file and the node exporter: every record written, a
      // produce-to-lake latency (from the records' produced_at), the consumer lag, a live heartbeat.
      await until(`millrace_streaming_output_rows_total${selector}`, (v) => v === records, 180_000);
      const latency = await until(`millrace_streaming_latency_seconds{pipeline="${pipeline}",query="events",stat="max"}`, (v) => v > 0, 60_000);
      expect(latency).toBeLessThan(120);
      const lag = await prometheusQuery(`millrace_streaming_offsets_behind_latest${selector}`);
      expect(lag.map((x) => Number(x.value[1]) >= 0)).toEqual([true]);
      await until(`time() - millrace_streaming_heartbeat_timestamp_seconds${selector}`, (v) => v < 30, 60_000);
      // The Grafana dashboard's streaming panels, which 32-metrics leaves to this test.
      const streamingPanels = dashboardQueries().filter(isStreamingPanel);
      expect(streamingPanels.length).toBeGreaterThanOrEqual(5);
      // A rate needs two scrapes of the counter: a few more seconds at most.
      let empty = await emptyQueries(streamingPanels);
      for (let i = 0; i < 6 && empty.length; i++) {
        await new Promise((r) => setTimeout(r, 5000));
        empty = await emptyQueries(streamingPanels);
      }
      expect(empty).toEqual([]);
      console.log(`streaming metrics: ${records} rows written, produce-to-lake latency ${latency.toFixed(1)} s (max of the last batch)`);

      // The lake goes stale: ingest runs, nothing new arrives (lakeStaleAfter is 1m here).
      const lastOutput = 1000 * (await until(`millrace_streaming_last_output_timestamp_seconds${selector}`, (v) => v > 0, 30_000));
      const stale = await delivery('LakeStale', 'firing', lastOutput, labels, 240_000);
      // The burst fired QuarantineSpike meanwhile, every record of it in the quarantine.
      const spike = await delivery('QuarantineSpike', 'firing', burst, { pipeline }, 180_000);
      await until(`millrace_streaming_output_rows_total{pipeline="${pipeline}",spark_job="ingest",query="quarantine"}`, (v) => v === invalid, 60_000);
      // A few valid records: LakeStale resolves.
      const freshSent = Date.now();
      const valid = await cli(['produce', '--json', '--spec', spec, '--source', 'synthetic', '--limit', '20', '--source-name', `${pipeline}-2`, '-c', alertsConfig]);
      expect(valid.code).toBe(0);
      const fresh = await delivery('LakeStale', 'resolved', freshSent, labels, 180_000);
      console.log(
        `alert LakeStale (no new rows for 1m): fired ${((stale - lastOutput) / 1000).toFixed(0)} s after the last rows were written, resolved ${((fresh - freshSent) / 1000).toFixed(0)} s after new records; ` +
          `QuarantineSpike (${invalid} invalid records): fired ${((spike - burst) / 1000).toFixed(0)} s after the burst`,
      );

      // A crash: the driver's whole process group, SIGKILL (it cannot stop its queries or clean up).
      const killed = Date.now();
      await spark.execOrThrow(`kill -KILL -${running.pid}`);
      running = undefined;
      const fired = await delivery('StreamingQueryStopped', 'firing', killed, labels, 300_000);
      const restarted = Date.now();
      running = await submit();
      const resolved = await delivery('StreamingQueryStopped', 'resolved', restarted, labels, 300_000);
      console.log(`alert StreamingQueryStopped (ingest's driver killed): fired ${((fired - killed) / 1000).toFixed(0)} s after the kill, resolved ${((resolved - restarted) / 1000).toFixed(0)} s after the resubmission began`);

      // Stopped on purpose: the driver removes its file, so nothing is left to alert on.
      const stopping = Date.now();
      const stopped = await cli(['jobs', 'kill', running.appId, '-c', alertsConfig]);
      expect(stopped.code).toBe(0);
      running = undefined;
      // The driver removes it as it stops; `jobs kill` returns once the master has let the application go, which may be a moment before.
      let present = true;
      for (let i = 0; i < 30 && present; i++) {
        present = (await spark.exec(`test -e ${metricsFile}`)).code === 0;
        if (present) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(present).toBe(false);
      // The spike resolves once the burst has left the rule's 5-minute rate window: the DataNode's
      // scenario runs meanwhile (this pipeline's ingest is stopped, so nothing of it writes to HDFS).
      void dataNodeScenario();
      const spikeOver = await delivery('QuarantineSpike', 'resolved', spike, { pipeline }, 240_000);
      console.log(`alert QuarantineSpike resolved ${((spikeOver - burst) / 1000).toFixed(0)} s after the burst (${((spikeOver - stopping) / 1000).toFixed(0)} s after \`jobs kill\`)`);
    } finally {
      if (running) await cli(['jobs', 'kill', running.appId, '-c', alertsConfig]);
      await spark.close();
    }
  }, 15 * 60_000);

  it('a stopped DataNode fires ExporterDown for it, to the webhook and by email (and `millrace alerts` lists it); started again, it resolves', async () => {
    // Started by the test before (dataNodeScenario), so that its waits overlap that test's last one.
    const r = await dataNodeScenario();
    expect(r.listed.code).toBe(0);
    const rows = (JSON.parse(r.listed.stdout) as { alerts: { alert: string; node: string; summary: string }[] }).alerts;
    expect(rows).toEqual(expect.arrayContaining([expect.objectContaining({ alert: 'ExporterDown', node: 'hdfs-1', summary: expect.stringMatching(/^datanode on hdfs-1 does not answer/) })]));
    console.log(`alert ExporterDown (DataNode stopped): fired ${((r.fired - r.stopped) / 1000).toFixed(0)} s after the stop, resolved ${((r.resolved - r.restarted) / 1000).toFixed(0)} s after the start`);
    // The same notifications by email: over STARTTLS, after the login, to the configured address.
    console.log(`by email: "${r.firingMail.subject}" ${((r.firingMail.at - r.stopped) / 1000).toFixed(0)} s after the stop, "${r.resolvedMail.subject}" ${((r.resolvedMail.at - r.restarted) / 1000).toFixed(0)} s after the start`);
    for (const m of [r.firingMail, r.resolvedMail]) expect({ to: m.to, tls: m.tls, user: m.user }).toEqual({ to: ['oncall@example.com'], tls: true, user: SMTP_USER });
  }, 8 * 60_000);

  it('a certificate of a test CA that ends in 7 days fires CertificateExpiring on its node; removed, it resolves', async () => {
    // Started with the first test (certificateScenario), so that its waits overlap the others'.
    const r = await certificateScenario();
    expect(r.subject).toBe('CN=itest-expiring-ca');
    // The cluster's own certificates (825 days) do not alert.
    expect(r.otherFiles).toEqual([]);
    console.log(`alert CertificateExpiring (a 7-day certificate): fired ${((r.fired - r.placed) / 1000).toFixed(0)} s after it was placed, resolved ${((r.resolved - r.removed) / 1000).toFixed(0)} s after its removal`);
  }, 10 * 60_000);

  it('nothing else fired while the cluster was healthy', () => {
    // LakeStale may fire again for the streaming scenario's pipeline while its killed driver is down: its lake is stale then.
    const others = received
      .flatMap((d) => d.alerts)
      .filter((a) => !['ExporterDown', 'CertificateExpiring', 'StreamingQueryStopped'].includes(a.labels.alertname ?? '') && !(['LakeStale', 'QuarantineSpike'].includes(a.labels.alertname ?? '') && a.labels.pipeline === 'alertsflow'));
    expect(others.map((a) => `${a.status} ${a.labels.alertname} ${a.labels.node ?? ''}`)).toEqual([]);
    // Control: the receiver did get deliveries (the two above), so an empty list means something.
    expect(received.length).toBeGreaterThan(0);
  });
});
