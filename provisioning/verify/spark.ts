/**
 * Spark's secret is enforced: an application that does not authenticate is refused by the
 * master, while one with the cluster's settings connects (the control). Each probe stops as soon
 * as the driver's log says which it was, so the check takes seconds, not the driver's minute of
 * retries.
 */
import * as crypto from 'node:crypto';
import { q } from '../../lib/shell';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { masterUrl, SPARK_CONF } from '../services/spark';
import type { VerifyRow } from './types';

const CONNECTED = 'Connected to Spark cluster with app ID';
const REFUSED = 'Failed to connect to master';

const JOB = `from pyspark.sql import SparkSession
SparkSession.builder.appName("millrace-verify").getOrCreate().sparkContext.parallelize(range(4), 2).count()
`;

/** A shell snippet: run spark-submit in its own process group, wait for a telling line, then stop it. */
export function probeScript(facts: ClusterFacts, dir: string, job: string, confDir: string, address: string): string {
  return `set -u
mkdir -p ${q(dir)} && chown spark ${q(dir)} && cd ${q(dir)}
log=${q(`${dir}/driver.log`)}
setsid runuser -u spark -- env SPARK_CONF_DIR=${q(confDir)} SPARK_LOCAL_IP=${q(address)} ${q(`${facts.home.spark}/bin/spark-submit`)} --master ${q(masterUrl(facts))} ${q(job)} >"$log" 2>&1 &
pid=$!
verdict=timeout
for _ in $(seq 1 90); do
  if grep -qF ${q(CONNECTED)} "$log"; then verdict=connected; break; fi
  if grep -qF ${q(REFUSED)} "$log"; then verdict=refused; break; fi
  if ! kill -0 $pid 2>/dev/null; then verdict=exited; break; fi
  sleep 1
done
kill -TERM -- -$pid 2>/dev/null; sleep 1; kill -KILL -- -$pid 2>/dev/null
echo "verdict=$verdict"
grep -E 'ERROR|WARN .*master' "$log" | tail -2
`;
}

export async function verifySparkSecret(facts: ClusterFacts, master: RemoteHost): Promise<VerifyRow[]> {
  const node = facts.sparkMaster!;
  const dir = `/tmp/millrace-verify-${crypto.randomBytes(4).toString('hex')}`;
  const noAuth = `${dir}/noauth-conf`;
  try {
    await master.execOrThrow(`mkdir -p ${q(noAuth)} && chmod 755 ${q(dir)} ${q(noAuth)}`);
    await master.putFile(`${dir}/job.py`, JOB, { mode: 0o644, owner: 'root' });
    // Everything the cluster's clients have except the secret: authentication off.
    await master.putFile(`${noAuth}/spark-defaults.conf`, 'spark.authenticate false\nspark.network.crypto.enabled false\n', { mode: 0o644, owner: 'root' });
    await master.execOrThrow(`chown -R spark ${q(dir)}`);
    const job = `${dir}/job.py`;
    const [without, withSecret] = await Promise.all([
      master.exec(probeScript(facts, `${dir}/without`, job, noAuth, node.privateAddress)),
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
