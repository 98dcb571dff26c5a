import * as templates from '../../templates/render';
import { render, templateNames } from '../../templates/render';
import { clientPropertiesFile } from '../../cli/commands/credentials';
import { doctorProbe } from '../../cli/commands/doctor';
import { planClientStores } from '../../provisioning/keystores';
import { planCluster } from '../../provisioning/plan';
import { probeScript, sparkSecretFiles } from '../../provisioning/verify/spark';
import { factsFor } from '../fixtures/facts';

/** Everything that renders a template: the plans of a full local and a full aws cluster, and the commands that write files of their own. */
function renderEverything(): void {
  planCluster(factsFor());
  planCluster(factsFor('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\n'));
  planClientStores('alice', { certPem: 'CERT\n', keyPem: 'KEY\n', caPem: 'CA\n' }, 'secret');
  clientPropertiesFile('alice', ['127.0.0.11:9093'], '/home/op/credentials/alice/alice.keystore.pem', '/home/op/credentials/alice/ca.pem');
  doctorProbe();
  sparkSecretFiles('/tmp/millrace-verify-test');
  probeScript(factsFor(), '/tmp/millrace-verify-test/with', '/tmp/millrace-verify-test/job.py', '/etc/millrace/spark', '127.0.0.12');
}

describe('templates', () => {
  it('every template is rendered, without error, by the plans and by the commands that write files', () => {
    const spy = jest.spyOn(templates, 'render');
    // A variable named like a handlebars helper ({{log}}) calls the helper, which logs, instead of failing strict mode.
    const consoleCalls = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(() => undefined));
    renderEverything();
    const used = new Set(spy.mock.calls.map((c) => c[0]));
    spy.mockRestore();
    const logged = consoleCalls.flatMap((c) => c.mock.calls);
    consoleCalls.forEach((c) => c.mockRestore());
    expect(logged).toEqual([]);
    expect(templateNames().filter((t) => !used.has(t))).toEqual([]);
    expect(templateNames().sort()).toEqual(
      [
        'credentials/client.properties',
        'doctor/probe.sh',
        'hadoop/core-site.xml',
        'hadoop/hdfs-site.xml',
        'hadoop/kms-acls.xml',
        'hadoop/kms-site.xml',
        'hadoop/log4j.properties',
        'hadoop/ssl-client.xml',
        'hadoop/ssl-server.xml',
        'host/data-volume.sh',
        'host/keystores.sh',
        'host/prepare.sh',
        'kafka/client.properties',
        'kafka/log4j2.properties',
        'kafka/server.properties',
        'opt/launcher.sh',
        'spark/log4j2.properties',
        'spark/spark-defaults.conf',
        'spark/spark-env.sh',
        'systemd/service',
        'verify/spark/job.py',
        'verify/spark/noauth-conf/spark-defaults.conf',
        'verify/spark/probe.sh',
      ].sort(),
    );
  });

  it('gives aws nodes a data volume script for their configured size, and other targets none', () => {
    const aws = planCluster(factsFor('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\naws: { dataVolumeGb: 200 }\n'));
    for (const p of aws) {
      expect(p.dataVolumeScript).toContain(`MOUNT='/var/lib/millrace'`);
      expect(p.dataVolumeScript).toContain(`SIZE_BYTES=${200 * 1024 ** 3}\n`);
      expect(p.dataVolumeScript).toContain(`TYPES=' disk '`);
    }
    expect(planCluster(factsFor()).map((p) => p.dataVolumeScript)).toEqual(['', '', '']);
  });

  it("writes the operator's client.properties from sorted properties, naming the principal", () => {
    expect(clientPropertiesFile('alice', ['203.0.113.7:9095', '203.0.113.8:9095'], '/op/alice.keystore.pem', '/op/ca.pem')).toBe(
      [
        '# Rendered by millrace credentials: Kafka Java clients (and Kafka\'s own tools) as User:alice.',
        'bootstrap.servers=203.0.113.7:9095,203.0.113.8:9095',
        'security.protocol=SSL',
        'ssl.keystore.location=/op/alice.keystore.pem',
        'ssl.keystore.type=PEM',
        'ssl.truststore.location=/op/ca.pem',
        'ssl.truststore.type=PEM',
        '',
      ].join('\n'),
    );
  });

  it("reads a node for doctor in one script: the data volume's free space, memory, clock, Java, failed millrace units", () => {
    expect(doctorProbe().split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      `df -Pk /var/lib/millrace 2>/dev/null | tail -1 | awk '{print "disk", $4}'`,
      `awk '/MemAvailable/ {print "mem", $2}' /proc/meminfo`,
      'echo "clock $(date +%s)"',
      'echo "java $(java -version 2>&1 | head -1)"',
      `echo "failed $(systemctl --failed --no-legend --plain 'millrace-*' 2>/dev/null | awk '{print $1}' | tr '\\n' ' ')"`,
    ]);
  });

  it('fails the render when a variable is missing (strict mode)', () => {
    expect(() => render('kafka/server.properties', { properties: [] })).toThrow(/"nodeName" not defined/);
    expect(() => render('systemd/service', { description: 'x', user: 'kafka' })).toThrow(/"execStart" not defined/);
  });
});
