/** Spark's RPC over TLS, its UIs without kill, and `jobs kill` over SSH: rendered config, verify rows and the kill loop. */
import { MillraceError } from '../../../lib/errors';
import { KNOWN_VERSIONS } from '../../../lib/versions';
import { ROLE_PORTS } from '../../../lib/roles';
import { killApp } from '../../../provisioning/jobs/apps';
import { planCluster } from '../../../provisioning/plan';
import { buildSparkDefaults, sparkMasterService, sparkSupportsRpcTls } from '../../../provisioning/services/spark';
import {
  aesOnlyConf,
  rpcHandshakeCommand,
  rpcTlsRow,
  sparkSecretFiles,
  uiKillCommands,
  verifySparkRpcTls,
  verifySparkSecret,
  verifySparkUiKill,
} from '../../../provisioning/verify/spark';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const facts = factsFor();
const spark1 = facts.sparkMaster!;
const props = (f = facts, node = spark1): Record<string, string | number | boolean> => buildSparkDefaults({ cluster: f, node });
const lines = (text: string): string[] => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('Spark RPC over TLS: rendered config', () => {
  it('every known Spark version has RPC TLS (4.0+); an older one would not', () => {
    for (const v of KNOWN_VERSIONS.spark) expect([v, sparkSupportsRpcTls(v)]).toEqual([v, true]);
    expect(sparkSupportsRpcTls('3.5.6')).toBe(false);
  });

  it("turns on spark.ssl.rpc with the spark identity's keystore and a truststore of the cluster CA, keeping the secret and AES", () => {
    const p = props();
    expect(p).toEqual(
      expect.objectContaining({
        'spark.ssl.rpc.enabled': true,
        'spark.ssl.rpc.keyStore': '/etc/millrace/tls/spark/keystore.p12',
        'spark.ssl.rpc.keyStoreType': 'PKCS12',
        'spark.ssl.rpc.keyStorePassword': 'fixture-spark-keystore-password',
        'spark.ssl.rpc.keyPassword': 'fixture-spark-keystore-password',
        'spark.ssl.rpc.trustStore': '/etc/millrace/tls/spark/truststore.jks',
        'spark.ssl.rpc.trustStorePassword': 'fixture-spark-keystore-password',
        'spark.ssl.rpc.protocol': 'TLSv1.3',
        'spark.authenticate': true,
        'spark.authenticate.secret': 'fixture-spark-secret',
        'spark.network.crypto.enabled': true,
      }),
    );
    // The RPC namespace has no port of its own: Spark's RPC ports stay where the firewall expects them.
    expect(p['spark.ssl.rpc.port']).toBeUndefined();
  });

  it("gives every Spark node's keystore the cluster's one Spark keystore password: an executor on another worker's node opens its own keystore with the driver's settings", () => {
    const f = factsFor('name: demo\nnodes:\n  - { name: kafka-1, roles: [kafka] }\n  - { name: spark-1, roles: [spark-master, spark-worker] }\n  - { name: hdfs-1, roles: [namenode, datanode, kms, spark-worker] }\n');
    const passwords = (node: (typeof f.nodes)[number]): string[] =>
      Object.entries(buildSparkDefaults({ cluster: f, node }))
        .filter(([k]) => /^spark\.ssl\..*Password$/.test(k))
        .map(([k, v]) => `${k}=${String(v)}`)
        .sort();
    const [master, worker] = [f.nodes.find((n) => n.name === 'spark-1')!, f.nodes.find((n) => n.name === 'hdfs-1')!];
    expect(passwords(master).length).toBeGreaterThanOrEqual(7);
    expect(passwords(worker)).toEqual(passwords(master));
    expect(passwords(master).every((p) => p.endsWith('=fixture-spark-keystore-password'))).toBe(true);
    // The keystore each node builds is locked with that password (its password file), around the node's own key.
    const plans = planCluster(f);
    for (const name of ['spark-1', 'hdfs-1']) {
      const file = plans.find((p) => p.node.name === name)!.files.find((x) => x.path === '/etc/millrace/tls/spark/keystore.password');
      expect([name, file?.content, file?.mode.toString(8), file?.owner]).toEqual([name, 'fixture-spark-keystore-password', '600', 'spark']);
    }
  });

  it('turns kill off on every UI, the decommission endpoint off, and the ACLs on with the admins named', () => {
    expect(props()).toEqual(
      expect.objectContaining({ 'spark.ui.killEnabled': false, 'spark.master.ui.decommission.allow.mode': 'DENY', 'spark.acls.enable': true, 'spark.admin.acls': 'spark' }),
    );
  });

  it('builds the RPC truststore on Spark nodes only, owned by spark, from the CA, with the spark keystore password file', () => {
    const plans = planCluster(facts);
    const stores = (node: string): [string, string, string, string][] =>
      plans.find((p) => p.node.name === node)!.keyStores.map((k) => [k.path, k.kind, k.owner, k.passwordPath] as [string, string, string, string]);
    expect(stores('spark-1')).toContainEqual(['/etc/millrace/tls/spark/truststore.jks', 'truststore', 'spark', '/etc/millrace/tls/spark/keystore.password']);
    expect(stores('kafka-1').map((s) => s[0])).not.toContain('/etc/millrace/tls/spark/truststore.jks');
    // The rendered file is spark's alone: it holds the keystore password.
    const conf = plans.find((p) => p.node.name === 'spark-1')!.files.find((f) => f.path === '/etc/millrace/spark/spark-defaults.conf')!;
    expect([conf.mode, conf.owner, conf.secret]).toEqual([0o600, 'spark', true]);
    expect(lines(conf.content)).toEqual(expect.arrayContaining(['spark.ssl.rpc.enabled true', 'spark.ui.killEnabled false', 'spark.acls.enable true']));
  });

  it("the status checks name TLS + AES, the UI kill and the ACLs from the node's file", async () => {
    const conf = lines(planCluster(facts).find((p) => p.node.name === 'spark-1')!.files.find((f) => f.path === '/etc/millrace/spark/spark-defaults.conf')!.content).join('\n');
    const checks = await sparkMasterService.securityChecks!(fakeHost('spark-1', () => ({ stdout: conf })), { cluster: facts, node: spark1 });
    expect(checks.find((c) => c.name === 'RPC encryption')).toEqual({ name: 'RPC encryption', ok: true, detail: 'TLS + AES' });
    expect(checks.find((c) => c.name === 'UI kill')).toEqual({ name: 'UI kill', ok: true, detail: 'disabled' });
    expect(checks.find((c) => c.name === 'UI ACLs')?.ok).toBe(true);
    const off = await sparkMasterService.securityChecks!(fakeHost('spark-1', () => ({ stdout: conf.replace('spark.ui.killEnabled false', 'spark.ui.killEnabled true') })), { cluster: facts, node: spark1 });
    expect(off.find((c) => c.name === 'UI kill')).toEqual({ name: 'UI kill', ok: false, detail: 'ENABLED' });
  });

  it("the ports table tells the RPC ports' truth", () => {
    const rpc = [...ROLE_PORTS['spark-master'], ...ROLE_PORTS['spark-worker']].filter((p) => p.protocol === 'spark-rpc');
    expect(rpc.map((p) => p.port).sort()).toEqual([7077, 7078, 7100, 7100]);
    for (const p of rpc) {
      expect(p.encryption).toMatch(/^TLS 1\.3 \(spark\.ssl\.rpc/);
      expect(p.authentication).toMatch(/spark\.authenticate/);
    }
  });
});

describe('verify: Spark RPC TLS, the secret, the UI kill endpoint', () => {
  it('the refused client has RPC TLS but no secret; the AES-only client has the secret but no TLS; both 0600', () => {
    const rpc = Object.fromEntries(Object.entries(props()).filter(([k]) => k.startsWith('spark.ssl.rpc.')));
    const [, noauth] = sparkSecretFiles('/tmp/v', rpc);
    expect(noauth!.mode).toBe(0o600);
    expect(lines(noauth!.content)).toEqual(expect.arrayContaining(['spark.authenticate false', 'spark.ssl.rpc.enabled true', 'spark.ssl.rpc.trustStore /etc/millrace/tls/spark/truststore.jks']));
    expect(noauth!.content).not.toContain('fixture-spark-secret');
    const aes = aesOnlyConf('/tmp/v', 'fixture-spark-secret');
    expect([aes.path, aes.mode]).toEqual(['/tmp/v/aes-conf/spark-defaults.conf', 0o600]);
    expect(lines(aes.content)).toEqual(['spark.authenticate true', 'spark.authenticate.secret fixture-spark-secret', 'spark.network.crypto.enabled true', 'spark.ssl.rpc.enabled false']);
  });

  it('fails when the AES-only client is let in', async () => {
    const host = fakeHost('spark-1', (c) => (c.includes('/without') || c.includes('/aes') ? { stdout: c.includes('/aes') ? 'verdict=connected\n' : 'verdict=refused\n' } : c.includes('/with') ? { stdout: 'verdict=connected\n' } : undefined));
    const rows = await verifySparkSecret(facts, host);
    expect(rows.map((r) => [r.check, r.ok])).toEqual([
      ['Spark: an application without the secret is refused', true],
      ['Spark: an application without RPC TLS (secret and AES only) is refused', false],
      ['Spark: an application with the secret connects (control)', true],
    ]);
    expect(host.commands.at(-1)).toMatch(/^rm -rf \/tmp\/millrace-verify-[0-9a-f]{8}$/);
  });

  it("reads openssl's verdict: a verified TLS 1.3 handshake passes, a closed connection fails", () => {
    expect(rpcHandshakeCommand('127.0.0.12', 7077)).toBe('timeout 10 openssl s_client -connect 127.0.0.12:7077 -CAfile /etc/millrace/tls/ca.pem -verify_return_error -verify_ip 127.0.0.12 -brief </dev/null 2>&1');
    const ok = 'CONNECTION ESTABLISHED\nProtocol version: TLSv1.3\nCiphersuite: TLS_AES_256_GCM_SHA384\nPeer certificate: CN = spark-1, OU = spark\nVerification: OK\n';
    expect(rpcTlsRow('spark-1', 'master', 7077, ok)).toEqual({ check: 'Spark: master RPC (7077) is TLS', target: 'spark-1', ok: true, detail: 'TLSv1.3, certificate verified against the cluster CA' });
    const aes = '40D71FD66E7F0000:error:0A000126:SSL routines:ssl3_read_n:unexpected eof while reading:../ssl/record/rec_layer_s3.c:318:\n';
    expect(rpcTlsRow('spark-1', 'master', 7077, aes).ok).toBe(false);
    expect(rpcTlsRow('spark-1', 'master', 7077, 'CONNECTION ESTABLISHED\nProtocol version: TLSv1.3\nverify error:num=19:self-signed certificate in certificate chain\n').ok).toBe(false);
  });

  it('probes the master and every worker on their own RPC ports; with no RPC TLS in the version, one warning row', async () => {
    const host = fakeHost('spark-1', () => ({ stdout: 'Protocol version: TLSv1.3\nVerification: OK\n' }));
    const rows = await verifySparkRpcTls(facts, new Map([['spark-1', host]]));
    expect(rows.map((r) => [r.check, r.ok])).toEqual([
      ['Spark: master RPC (7077) is TLS', true],
      ['Spark: worker RPC (7078) is TLS', true],
    ]);
    expect(host.commands).toEqual([rpcHandshakeCommand('127.0.0.12', 7077), rpcHandshakeCommand('127.0.0.12', 7078)]);
    const old = { ...facts, config: { ...facts.config, versions: { ...facts.config.versions, spark: "3.5.6" } } } as unknown as typeof facts;
    const warn = await verifySparkRpcTls(old, new Map());
    expect(warn).toEqual([expect.objectContaining({ ok: true, detail: expect.stringMatching(/^WARN: Spark 3\.5\.6 has no RPC TLS/) })]);
  });

  it("passes when the kill endpoint is not found and the status is served; fails when the UI takes the kill or the control fails", async () => {
    const c = uiKillCommands(facts);
    expect(c.kill).toContain("-X POST -d 'id=app-00000000000000-0000&terminate=true' https://127.0.0.12:8480/app/kill/");
    const answering = (status: string, kill: string) => fakeHost('spark-1', (cmd) => ({ stdout: cmd === c.kill ? kill : cmd === c.status ? status : '' }));
    expect((await verifySparkUiKill(facts, answering('200', '404')))[0]).toEqual(expect.objectContaining({ ok: true, detail: 'POST /app/kill/ → HTTP 404; GET /json/ → 200 (control)' }));
    expect((await verifySparkUiKill(facts, answering('200', '302')))[0]).toEqual(expect.objectContaining({ ok: false, detail: 'POST /app/kill/ → HTTP 302: the UI accepts kills' }));
    expect((await verifySparkUiKill(facts, answering('000', '404')))[0]?.ok).toBe(false);
  });
});

describe('`jobs kill`: the driver signalled over SSH, until the master forgets the application', () => {
  const app = (id: string, name = 'millrace-ingest') => ({ id, name, state: 'RUNNING', cores: 1, memoryperexecutor: 512, submitdate: 'today', duration: 5000 });
  /** A master node whose status lists `listedFor` more reads of the status after TERM, then not. */
  function master(opts: { listedAfterTerm: number; workDir?: boolean }) {
    let termSent = false;
    let reads = 0;
    return fakeHost('spark-1', (c) => {
      if (c.includes('/json/')) {
        const listed = !termSent || reads++ < opts.listedAfterTerm;
        return { stdout: JSON.stringify({ status: 'ALIVE', workers: [], activeapps: listed ? [app('app-1'), app('app-2', 'other')] : [app('app-2', 'other')] }) };
      }
      if (c.includes('app-id')) return { stdout: opts.workDir === false ? '' : '/var/lib/millrace/spark/apps/x/app-id:app-1\n' };
      if (c.startsWith('cat ') && c.includes('driver.pid')) return { stdout: '4242\n' };
      if (c === 'kill -TERM -4242 2>/dev/null') termSent = true;
      if (c === 'kill -0 -4242 2>/dev/null') return { code: 1 };
      return undefined;
    });
  }

  it('sends TERM to the driver process group and returns once the master no longer lists it; no UI request', async () => {
    const host = master({ listedAfterTerm: 2 });
    const r = await killApp(facts, host, 'app-1', { pollMs: 1, graceMs: 10_000 });
    expect(r).toEqual(expect.objectContaining({ id: 'app-1', node: 'spark-1', pid: 4242, forced: false }));
    expect(host.commands).toContain('kill -TERM -4242 2>/dev/null');
    expect(host.commands).not.toContain('kill -KILL -4242 2>/dev/null');
    expect(host.commands.join('\n')).not.toMatch(/app\/kill|-X POST/);
  });

  it('escalates to KILL after the grace period', async () => {
    const host = master({ listedAfterTerm: 1_000_000 });
    await expect(killApp(facts, host, 'app-1', { pollMs: 1, graceMs: 5, timeoutMs: 60 })).rejects.toThrow(/app-1 is still listed by the Spark master/);
    expect(host.commands).toContain('kill -KILL -4242 2>/dev/null');
  });

  it('an unknown id is an error naming it, with `millrace jobs` as the hint', async () => {
    const err = (await killApp(facts, master({ listedAfterTerm: 0 }), 'app-nope').catch((e: unknown) => e)) as MillraceError;
    expect(err).toBeInstanceOf(MillraceError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('no running application app-nope');
    expect(err.hint).toMatch(/`millrace jobs`.*app-1 millrace-ingest, app-2 other/);
  });

  it('an application millrace did not start is refused, not killed some other way', async () => {
    const host = master({ listedAfterTerm: 0, workDir: false });
    await expect(killApp(facts, host, 'app-2')).rejects.toThrow('app-2 (other) was not started by `millrace submit --detach`');
    expect(host.commands.join('\n')).not.toMatch(/kill -/);
  });
});
