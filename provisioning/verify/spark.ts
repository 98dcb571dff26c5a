/**
 * Spark's RPC security, live: an application without the secret is refused by the master, and so
 * is one with the secret but without RPC TLS (the AES-only settings of earlier millrace), while one
 * with the cluster's settings connects (the control). Each probe stops as soon as the driver's log
 * says which it was, so the check takes seconds, not the driver's minute of retries. Then the RPC
 * ports' TLS handshakes against the cluster CA, and the master UI's kill endpoint.
 */
import * as crypto from 'node:crypto';
import { q } from '../../lib/shell';
import { render, sortedProperties } from '../../templates/render';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { buildSparkDefaults, masterUi, masterUrl, SPARK_CONF, sparkSupportsRpcTls } from '../services/spark';
import { CA_PEM } from '../services/tls-files';
import type { InventoryNode } from '../../lib/inventory';
import { portNumber } from '../../lib/roles';
import type { VerifyRow } from './types';

const CONNECTED = 'Connected to Spark cluster with app ID';
const REFUSED = 'Failed to connect to master';
/** A driver retries an unanswered master for about a minute; the probe gives up after this. */
const PROBE_SECONDS = 90;

/** The probe script's context: every value it hands to the shell, quoted. */
export function buildSparkProbeContext(facts: ClusterFacts, dir: string, job: string, confDir: string, address: string): Record<string, string | number> {
  return {
    dir: q(dir),
    driverLog: q(`${dir}/driver.log`),
    confDir: q(confDir),
    address: q(address),
    sparkSubmit: q(`${facts.home.spark}/bin/spark-submit`),
    masterUrl: q(masterUrl(facts)),
    job: q(job),
    waitSeconds: PROBE_SECONDS,
    connected: q(CONNECTED),
    refused: q(REFUSED),
  };
}

/** A shell script: run spark-submit in its own process group, wait for a telling line, then stop it. */
export function probeScript(facts: ClusterFacts, dir: string, job: string, confDir: string, address: string): string {
  return render('verify/spark/probe.sh', buildSparkProbeContext(facts, dir, job, confDir, address));
}

/** The RPC TLS settings of the cluster's Spark clients on this node (empty where Spark has none). */
export function rpcTlsSettings(facts: ClusterFacts, node: InventoryNode): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(buildSparkDefaults({ cluster: facts, node })).filter(([k]) => k.startsWith('spark.ssl.rpc.')));
}

/**
 * The files the check puts in its directory on the master node: the job, a client config without
 * the secret (but with RPC TLS, so the refusal is the secret's), and one with the secret and AES
 * but without RPC TLS. Both configs hold a keystore password or the secret: 0600, for spark.
 */
export function sparkSecretFiles(dir: string, rpcTls: Record<string, string | number | boolean> = {}): { path: string; content: string; mode: number }[] {
  const conf = (name: string, props: Record<string, string | number | boolean>): { path: string; content: string; mode: number } => ({
    path: `${dir}/${name}/spark-defaults.conf`,
    content: render('verify/spark/noauth-conf/spark-defaults.conf', { properties: sortedProperties(props) }),
    mode: 0o600,
  });
  return [
    // A Python string literal: JSON's quoting is Python's for this name.
    { path: `${dir}/job.py`, content: render('verify/spark/job.py', { appName: JSON.stringify('millrace-verify') }), mode: 0o644 },
    conf('noauth-conf', { 'spark.authenticate': false, 'spark.network.crypto.enabled': false, ...rpcTls }),
  ];
}

/** A client config with the secret and AES but no RPC TLS: what millrace gave clients before RPC TLS. */
export function aesOnlyConf(dir: string, secret: string): { path: string; content: string; mode: number } {
  return {
    path: `${dir}/aes-conf/spark-defaults.conf`,
    content: render('verify/spark/noauth-conf/spark-defaults.conf', {
      properties: sortedProperties({ 'spark.authenticate': true, 'spark.authenticate.secret': secret, 'spark.network.crypto.enabled': true, 'spark.ssl.rpc.enabled': false }),
    }),
    mode: 0o600,
  };
}

const verdictOf = (out: string): string => /verdict=(\w+)/.exec(out)?.[1] ?? 'unknown';

export async function verifySparkSecret(facts: ClusterFacts, master: RemoteHost): Promise<VerifyRow[]> {
  const node = facts.sparkMaster!;
  const tls = sparkSupportsRpcTls(facts.config.versions.spark);
  const dir = `/tmp/millrace-verify-${crypto.randomBytes(4).toString('hex')}`;
  try {
    await master.execOrThrow(`mkdir -p ${q(`${dir}/noauth-conf`)} ${q(`${dir}/aes-conf`)} && chmod 755 ${q(dir)} && chmod 700 ${q(`${dir}/noauth-conf`)} ${q(`${dir}/aes-conf`)}`);
    const files = [...sparkSecretFiles(dir, rpcTlsSettings(facts, node)), ...(tls ? [aesOnlyConf(dir, facts.secrets.sparkAuthSecret)] : [])];
    for (const f of files) await master.putFile(f.path, f.content, { mode: f.mode, owner: 'root' });
    await master.execOrThrow(`chown -R spark ${q(dir)}`);
    // The probes run as commands, not as files in a directory the spark user owns.
    const job = `${dir}/job.py`;
    const [without, withSecret, aesOnly] = await Promise.all([
      master.exec(probeScript(facts, `${dir}/without`, job, `${dir}/noauth-conf`, node.privateAddress)),
      master.exec(probeScript(facts, `${dir}/with`, job, SPARK_CONF, node.privateAddress)),
      tls ? master.exec(probeScript(facts, `${dir}/aes`, job, `${dir}/aes-conf`, node.privateAddress)) : Promise.resolve(undefined),
    ]);
    const rows: VerifyRow[] = [
      {
        check: 'Spark: an application without the secret is refused',
        target: node.name,
        ok: verdictOf(without.stdout) === 'refused',
        detail: verdictOf(without.stdout) === 'refused' ? 'the master closed the unauthenticated connection' : `expected a refusal, got: ${verdictOf(without.stdout)}`,
      },
    ];
    if (aesOnly)
      rows.push({
        check: 'Spark: an application without RPC TLS (secret and AES only) is refused',
        target: node.name,
        ok: verdictOf(aesOnly.stdout) === 'refused',
        detail: verdictOf(aesOnly.stdout) === 'refused' ? 'the master speaks only TLS on its RPC port' : `expected a refusal, got: ${verdictOf(aesOnly.stdout)}`,
      });
    rows.push({
      check: 'Spark: an application with the secret connects (control)',
      target: node.name,
      ok: verdictOf(withSecret.stdout) === 'connected',
      detail: verdictOf(withSecret.stdout) === 'connected' ? 'registered with the master' : `expected to connect, got: ${verdictOf(withSecret.stdout)}`,
    });
    return rows;
  } finally {
    await master.exec(`rm -rf ${q(dir)}`);
  }
}

/** The openssl command that handshakes with address:port, verifying the chain against the cluster CA and the address. */
export function rpcHandshakeCommand(address: string, port: number): string {
  return `timeout 10 openssl s_client -connect ${q(`${address}:${port}`)} -CAfile ${q(CA_PEM)} -verify_return_error -verify_ip ${q(address)} -brief </dev/null 2>&1`;
}

/** One row from openssl's output: a TLS handshake verified against the cluster CA, or why not. */
export function rpcTlsRow(nodeName: string, what: string, port: number, out: string): VerifyRow {
  const protocol = /Protocol version: (\S+)/.exec(out)?.[1];
  const ok = /Verification: OK/.test(out) && !!protocol;
  const last = out.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? 'no answer';
  return {
    check: `Spark: ${what} RPC (${port}) is TLS`,
    target: nodeName,
    ok,
    detail: ok ? `${protocol}, certificate verified against the cluster CA` : `no verified TLS handshake: ${last.slice(0, 160)}`,
  };
}

/**
 * The RPC ports of the master and every worker speak TLS verified against the cluster CA. Where
 * the cluster's Spark version has no RPC TLS, one row says so instead (a warning: AES only).
 */
export async function verifySparkRpcTls(facts: ClusterFacts, hosts: Map<string, RemoteHost>): Promise<VerifyRow[]> {
  const version = facts.config.versions.spark;
  if (!sparkSupportsRpcTls(version))
    return [{ check: 'Spark: RPC is TLS', target: 'cluster', ok: true, detail: `WARN: Spark ${version} has no RPC TLS (spark.ssl.rpc needs 4.0): RPC is AES-encrypted (spark.network.crypto) only` }];
  const targets = [
    ...(facts.sparkMaster ? [{ node: facts.sparkMaster, what: 'master', port: portNumber('spark-master', 'spark-master-rpc') }] : []),
    ...facts.sparkWorkers.map((node) => ({ node, what: 'worker', port: portNumber('spark-worker', 'spark-worker-rpc') })),
  ];
  return Promise.all(
    targets.map(async (t) => rpcTlsRow(t.node.name, t.what, t.port, (await hosts.get(t.node.name)!.exec(rpcHandshakeCommand(t.node.privateAddress, t.port))).stdout)),
  );
}

/** The master UI's kill endpoint answers nothing but "not found", while its status is served (the control). */
export function uiKillCommands(facts: ClusterFacts, appId = 'app-00000000000000-0000'): { status: string; kill: string } {
  const ui = masterUi(facts);
  const curl = `curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert ${q(CA_PEM)}`;
  return { status: `${curl} ${q(`${ui}/json/`)}`, kill: `${curl} -X POST -d ${q(`id=${appId}&terminate=true`)} ${q(`${ui}/app/kill/`)}` };
}

export async function verifySparkUiKill(facts: ClusterFacts, master: RemoteHost): Promise<VerifyRow[]> {
  const c = uiKillCommands(facts);
  const [status, kill] = [(await master.exec(c.status)).stdout.trim(), (await master.exec(c.kill)).stdout.trim()];
  // Spark attaches no kill handler when spark.ui.killEnabled is false: Jetty answers 404 (405 would do too).
  const refused = /^40[45]$/.test(kill);
  return [
    {
      check: "Spark: the master UI's kill endpoint is off",
      target: facts.sparkMaster!.name,
      ok: refused && status === '200',
      detail: status !== '200' ? `the control failed: the master UI's status answered HTTP ${status || 'nothing'}` : refused ? `POST /app/kill/ → HTTP ${kill}; GET /json/ → 200 (control)` : `POST /app/kill/ → HTTP ${kill || 'nothing'}: the UI accepts kills`,
    },
  ];
}
