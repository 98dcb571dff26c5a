import { buildSparkProbeContext, probeScript, sparkSecretFiles, verifySparkSecret } from '../../../provisioning/verify/spark';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const facts = factsFor();

describe("verify's Spark secret probe", () => {
  it('quotes every shell value in the context builder, not in the template', () => {
    expect(buildSparkProbeContext(facts, '/tmp/v dir/with', '/tmp/v dir/job.py', '/etc/millrace/spark', '127.0.0.12')).toEqual({
      dir: "'/tmp/v dir/with'",
      driverLog: "'/tmp/v dir/with/driver.log'",
      confDir: '/etc/millrace/spark',
      address: '127.0.0.12',
      sparkSubmit: '/opt/millrace/spark/current/bin/spark-submit',
      masterUrl: 'spark://127.0.0.12:7077',
      job: "'/tmp/v dir/job.py'",
      waitSeconds: 90,
      connected: "'Connected to Spark cluster with app ID'",
      refused: "'Failed to connect to master'",
    });
  });

  it('runs spark-submit as spark in its own process group and stops it once the log tells', () => {
    const script = probeScript(facts, '/tmp/v/without', '/tmp/v/job.py', '/tmp/v/noauth-conf', '127.0.0.12');
    expect(script).toContain(
      'setsid runuser -u spark -- env SPARK_CONF_DIR=/tmp/v/noauth-conf SPARK_LOCAL_IP=127.0.0.12 SPARK_SUBMIT_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" /opt/millrace/spark/current/bin/spark-submit --master spark://127.0.0.12:7077 /tmp/v/job.py >"$log" 2>&1 &\n',
    );
    expect(script).toContain("log=/tmp/v/without/driver.log\n");
    expect(script).toContain(`if grep -qF 'Failed to connect to master' "$log"; then verdict=refused; break; fi\n`);
    // POSIX sh (dash runs it through sudo) has no `kill --`: the group is a negative pid after the signal.
    expect(script).toContain('kill -TERM -$pid');
    expect(script).not.toContain('kill -TERM --');
    expect(script).toContain('echo "verdict=$verdict"');
  });

  it('gives the refused client everything but the secret, and a job that only has to register', () => {
    const [job, conf] = sparkSecretFiles('/tmp/v');
    expect(job!.path).toBe('/tmp/v/job.py');
    expect(job!.content).toContain('SparkSession.builder.appName("millrace-verify").getOrCreate()');
    expect(conf!.path).toBe('/tmp/v/noauth-conf/spark-defaults.conf');
    expect(conf!.content.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['spark.authenticate false', 'spark.network.crypto.enabled false']);
  });

  it('passes when the probe without the secret is refused and the one with it connects, and cleans up', async () => {
    const host = fakeHost('spark-1', (c) => (c.includes('/without') || c.includes('/aes') ? { stdout: 'verdict=refused\n' } : c.includes('/with') ? { stdout: 'verdict=connected\n' } : undefined));
    const rows = await verifySparkSecret(facts, host);
    expect(rows.map((r) => [r.check, r.ok])).toEqual([
      ['Spark: an application without the secret is refused', true],
      ['Spark: an application without RPC TLS (secret and AES only) is refused', true],
      ['Spark: an application with the secret connects (control)', true],
    ]);
    expect(host.commands.at(-1)).toMatch(/^rm -rf \/tmp\/millrace-verify-[0-9a-f]{8}$/);
    expect([...host.files.keys()].map((p) => p.replace(/millrace-verify-[0-9a-f]+/, 'v'))).toEqual(['/tmp/v/job.py', '/tmp/v/noauth-conf/spark-defaults.conf', '/tmp/v/aes-conf/spark-defaults.conf']);
  });
});
