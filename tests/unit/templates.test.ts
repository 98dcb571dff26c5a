import * as templates from '../../templates/render';
import { render, templateNames } from '../../templates/render';
import { planCluster } from '../../provisioning/plan';
import * as YAML from 'yaml';
import { renderUserData } from '../../templates/cloud-init';
import { factsFor } from '../fixtures/facts';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITemplateTestTemplateTestTemplateTestTempl';

describe('templates', () => {
  it('every template is rendered, without error, by the plans of a full local and a full aws cluster, the user-data and the local nodes', () => {
    const spy = jest.spyOn(templates, 'render');
    planCluster(factsFor('name: demo\n', {}, { dataVolume: { sizeBytes: 8 * 1024 ** 3, deviceTypes: ['loop'] } }));
    planCluster(factsFor('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\n'));
    renderUserData('demo', 'admin', PUBLIC_KEY);
    // The local target's image and rootfs files (targets/local), rendered as it renders them.
    render('local/cloud.cfg', {});
    render('local/container-fstab.service', {});
    render('local/meta-data', { instanceId: 'millrace-demo-kafka-1-0a1b2c3d', hostname: 'kafka-1' });
    render('local/sshd-listen.conf', { address: '127.0.0.11' });
    const used = new Set(spy.mock.calls.map((c) => c[0]));
    spy.mockRestore();
    expect(templateNames().filter((t) => !used.has(t))).toEqual([]);
    expect(templateNames().sort()).toEqual(
      [
        'cloud-init/user-data',
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
        'local/cloud.cfg',
        'local/container-fstab.service',
        'local/meta-data',
        'local/sshd-listen.conf',
        'opt/launcher.sh',
        'spark/log4j2.properties',
        'spark/spark-defaults.conf',
        'spark/spark-env.sh',
        'systemd/service',
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

  it('fails the render when a variable is missing (strict mode)', () => {
    expect(() => render('kafka/server.properties', { properties: [] })).toThrow(/"nodeName" not defined/);
    expect(() => render('systemd/service', { description: 'x', user: 'kafka' })).toThrow(/"execStart" not defined/);
  });
});
