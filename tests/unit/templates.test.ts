import * as templates from '../../templates/render';
import { render, templateNames } from '../../templates/render';
import { planCluster } from '../../provisioning/plan';
import { factsFor } from '../fixtures/facts';

describe('templates', () => {
  it('every template is rendered, without error, by the plans of a full local and a full aws cluster', () => {
    const spy = jest.spyOn(templates, 'render');
    planCluster(factsFor());
    planCluster(factsFor('name: demo\ntarget: aws\nnetwork: { sshCidr: 203.0.113.7/32 }\n'));
    const used = new Set(spy.mock.calls.map((c) => c[0]));
    spy.mockRestore();
    expect(templateNames().filter((t) => !used.has(t))).toEqual([]);
    expect(templateNames().sort()).toEqual(
      [
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

  it('fails the render when a variable is missing (strict mode)', () => {
    expect(() => render('kafka/server.properties', { properties: [] })).toThrow(/"nodeName" not defined/);
    expect(() => render('systemd/service', { description: 'x', user: 'kafka' })).toThrow(/"execStart" not defined/);
  });
});
