import * as templates from '../../templates/render';
import { render, templateNames } from '../../templates/render';
import { clientPropertiesFile } from '../../cli/commands/credentials';
import { doctorProbe } from '../../cli/commands/doctor';
import { initTemplate } from '../../cli/commands/init';
import { planClientStores } from '../../provisioning/keystores';
import { planCluster } from '../../provisioning/plan';
import { probeScript, sparkSecretFiles } from '../../provisioning/verify/spark';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { renderUserData } from '../../templates/cloud-init';
import { renderReport } from '../../cli/report/render';
import { FIXTURE as REPORT_FIXTURE } from '../fixtures/report';
import { factsFor } from '../fixtures/facts';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITemplateTestTemplateTestTemplateTestTempl';

/** Everything that renders a template: the plans of a full local and a full aws cluster, the user-data, the local nodes' files, and the commands that write files of their own. */
function renderEverything(): void {
  planCluster(factsFor('name: demo\n', {}, { dataVolume: { sizeBytes: 8 * 1024 ** 3, deviceTypes: ['loop'] } }));
  planCluster(factsFor('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\n'));
  planCluster(factsFor('name: demo\nkerberos: { enabled: true }\n'));
  renderUserData('demo', 'admin', PUBLIC_KEY);
  // The local target's image and rootfs files (targets/local), rendered as it renders them.
  render('local/cloud.cfg', {});
  render('local/container-fstab.service', {});
  render('local/meta-data', { instanceId: 'millrace-demo-kafka-1-0a1b2c3d', hostname: 'kafka-1' });
  render('local/sshd-listen.conf', { address: '127.0.0.11' });
  planClientStores('alice', { certPem: 'CERT\n', keyPem: 'KEY\n', caPem: 'CA\n' }, 'secret');
  clientPropertiesFile('alice', ['127.0.0.11:9093'], '/home/op/credentials/alice/alice.keystore.pem', '/home/op/credentials/alice/ca.pem');
  doctorProbe();
  for (const target of ['local', 'static', 'aws'] as const) initTemplate(target, 'demo');
  sparkSecretFiles('/tmp/millrace-verify-test');
  probeScript(factsFor(), '/tmp/millrace-verify-test/with', '/tmp/millrace-verify-test/job.py', '/etc/millrace/spark', '127.0.0.12');
  renderReport(REPORT_FIXTURE);
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
        'cloud-init/user-data',
        'credentials/client.properties',
        'doctor/probe.sh',
        'hadoop/core-site.xml',
        'hadoop/hadoop-policy.xml',
        'hadoop/hdfs-site.xml',
        'hadoop/kms-acls.xml',
        'hadoop/kms-site.xml',
        'hadoop/log4j.properties',
        'hadoop/ssl-client.xml',
        'hadoop/ssl-server.xml',
        'host/data-volume.sh',
        'init/aws.yaml',
        'init/local.yaml',
        'init/static.yaml',
        'host/keystores.sh',
        'host/prepare.sh',
        'kafka/client.properties',
        'kafka/log4j2.properties',
        'kafka/server.properties',
        'local/cloud.cfg',
        'local/container-fstab.service',
        'local/meta-data',
        'local/sshd-listen.conf',
        'opt/launcher.sh',
        'report/report.html',
        'spark/log4j2.properties',
        'spark/spark-defaults.conf',
        'spark/credentials.py',
        'spark/spark-env.sh',
        'systemd/service',
        'verify/spark/job.py',
        'verify/spark/noauth-conf/spark-defaults.conf',
        'verify/spark/probe.sh',
      ].sort(),
    );
  });

  it('gives nodes whose inventory has a data volume a script for its size and device types, and others none', () => {
    const withVolume = planCluster(factsFor('name: demo\n', {}, { dataVolume: { sizeBytes: 200 * 1024 ** 3, deviceTypes: ['disk'] } }));
    for (const p of withVolume) {
      expect(p.dataVolumeScript).toContain(`MOUNT='/var/lib/millrace'`);
      expect(p.dataVolumeScript).toContain(`SIZE_BYTES=${200 * 1024 ** 3}\n`);
      expect(p.dataVolumeScript).toContain(`TYPES=' disk '`);
    }
    expect(planCluster(factsFor()).map((p) => p.dataVolumeScript)).toEqual(['', '', '']);
  });

  it('renders the cloud-init user-data as YAML that creates the login user with the key and passwordless sudo, and refuses root', () => {
    const text = renderUserData('demo', 'admin', `${PUBLIC_KEY} operator: "quoted" #comment`);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = YAML.parse(text) as { users: { name: string; sudo: string; lock_passwd: boolean; ssh_authorized_keys: string[] }[]; disable_root: boolean; write_files: { path: string; content: string }[] };
    expect(doc.users).toHaveLength(1);
    expect(doc.users[0]).toMatchObject({ name: 'admin', sudo: 'ALL=(ALL) NOPASSWD:ALL', lock_passwd: true });
    expect(doc.users[0]!.ssh_authorized_keys).toEqual([`${PUBLIC_KEY} operator: "quoted" #comment`]);
    expect(doc.disable_root).toBe(true);
    expect(doc.write_files.find((f) => f.path.startsWith('/etc/ssh/sshd_config.d/'))!.content).toMatch(/^PermitRootLogin no$/m);
    expect(() => renderUserData('demo', 'root; rm', PUBLIC_KEY)).toThrow(/not a login user name/);
    expect(() => renderUserData('demo', 'admin', `${PUBLIC_KEY}\n  - ssh-rsa AAAA injected`)).toThrow(/not one line of OpenSSH public key text/);
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

  it('every rendered shell script parses as POSIX sh (dash): the nodes run commands through `sudo -n -- sh -c`, not bash', () => {
    const spy = jest.spyOn(templates, 'render');
    renderEverything();
    const scripts = spy.mock.calls.flatMap((c, i) => (/\.sh$|^opt\/launcher|spark-env/.test(c[0]) ? [{ name: c[0], text: spy.mock.results[i]!.value as string }] : []));
    spy.mockRestore();
    expect(scripts.length).toBeGreaterThan(5);
    const dash = ['/usr/bin/dash', '/bin/dash'].find((p) => fs.existsSync(p));
    if (!dash) throw new Error('dash is missing on this machine (Debian package dash); it checks that the scripts are POSIX sh');
    for (const s of scripts) {
      const r = spawnSync(dash, ['-n'], { input: s.text, encoding: 'utf8' });
      expect(`${s.name}: ${r.status} ${r.stderr}`).toBe(`${s.name}: 0 `);
      // dash's kill builtin has no `--`: `kill -TERM -- -$pid` fails there, silently with 2>/dev/null.
      expect(`${s.name}: ${/kill (-[A-Z0-9]+ )?--/.test(s.text)}`).toBe(`${s.name}: false`);
    }
  });

  it('fails the render when a variable is missing (strict mode)', () => {
    expect(() => render('kafka/server.properties', { properties: [] })).toThrow(/"nodeName" not defined/);
    expect(() => render('systemd/service', { description: 'x', user: 'kafka' })).toThrow(/"execStart" not defined/);
  });
});
