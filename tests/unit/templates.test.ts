import * as templates from '../../templates/render';
import { render, templateNames } from '../../templates/render';
import { planCluster } from '../../provisioning/plan';
import { factsFor } from '../fixtures/facts';

describe('templates', () => {
  it('every template is rendered, without error, by the plan of a full cluster', () => {
    const spy = jest.spyOn(templates, 'render');
    planCluster(factsFor());
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

  it('fails the render when a variable is missing (strict mode)', () => {
    expect(() => render('kafka/server.properties', { properties: [] })).toThrow(/"nodeName" not defined/);
    expect(() => render('systemd/service', { description: 'x', user: 'kafka' })).toThrow(/"execStart" not defined/);
  });
});
