/**
 * Spark's secret is enforced: an application that does not authenticate is refused by the
 * master, while one with the cluster's settings connects (the control). Each probe stops as soon
 * as the driver's log says which it was, so the check takes seconds, not the driver's minute of
 * retries.
 */
import * as crypto from 'node:crypto';
import { q } from '../../lib/shell';
import { render, sortedProperties } from '../../templates/render';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { masterUrl, SPARK_CONF } from '../services/spark';
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

/** The files the check puts in its directory on the master node: the job, and a client config without the secret. */
export function sparkSecretFiles(dir: string): { path: string; content: string; mode: number }[] {
  return [
    // A Python string literal: JSON's quoting is Python's for this name.
    { path: `${dir}/job.py`, content: render('verify/spark/job.py', { appName: JSON.stringify('millrace-verify') }), mode: 0o644 },
    {
      path: `${dir}/noauth-conf/spark-defaults.conf`,
      content: render('verify/spark/noauth-conf/spark-defaults.conf', { properties: sortedProperties({ 'spark.authenticate': false, 'spark.network.crypto.enabled': false }) }),
      mode: 0o644,
    },
  ];
}

export async function verifySparkSecret(facts: ClusterFacts, master: RemoteHost): Promise<VerifyRow[]> {
  const node = facts.sparkMaster!;
  const dir = `/tmp/millrace-verify-${crypto.randomBytes(4).toString('hex')}`;
  try {
    await master.execOrThrow(`mkdir -p ${q(`${dir}/noauth-conf`)} && chmod 755 ${q(dir)} ${q(`${dir}/noauth-conf`)}`);
    for (const f of sparkSecretFiles(dir)) await master.putFile(f.path, f.content, { mode: f.mode, owner: 'root' });
    await master.execOrThrow(`chown -R spark ${q(dir)}`);
    // The probes run as commands, not as files in a directory the spark user owns.
    const job = `${dir}/job.py`;
    const [without, withSecret] = await Promise.all([
      master.exec(probeScript(facts, `${dir}/without`, job, `${dir}/noauth-conf`, node.privateAddress)),
      master.exec(probeScript(facts, `${dir}/with`, job, SPARK_CONF, node.privateAddress)),
    ]);
    const verdict = (out: string): string => /verdict=(\w+)/.exec(out)?.[1] ?? 'unknown';
    return [
      {
        check: 'Spark: an application without the secret is refused',
        target: node.name,
        ok: verdict(without.stdout) === 'refused',
        detail: verdict(without.stdout) === 'refused' ? 'the master closed the unauthenticated connection' : `expected a refusal, got: ${verdict(without.stdout)}`,
      },
      {
        check: 'Spark: an application with the secret connects (control)',
        target: node.name,
        ok: verdict(withSecret.stdout) === 'connected',
        detail: verdict(withSecret.stdout) === 'connected' ? 'registered with the master' : `expected to connect, got: ${verdict(withSecret.stdout)}`,
      },
    ];
  } finally {
    await master.exec(`rm -rf ${q(dir)}`);
  }
}
