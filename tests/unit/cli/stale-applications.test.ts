/**
 * `up` names the running applications a change does not reach: a driver reads spark-defaults.conf
 * and the Hadoop client config once, at submit, on the master's node.
 */
import { describeStale, driverConfigChanges } from '../../../cli/bootstrap';

describe('applications running on a client config that `up` changed', () => {
  it('counts only the files a driver reads at submit', () => {
    expect(
      driverConfigChanges([
        '/etc/millrace/kafka/server.properties',
        '/etc/millrace/spark/spark-defaults.conf',
        '/etc/millrace/spark/spark-env.sh',
        '/etc/millrace/hadoop/hdfs-site.xml',
        '/etc/millrace/hadoop/kms-site.xml',
      ]),
    ).toEqual(['/etc/millrace/spark/spark-defaults.conf', '/etc/millrace/hadoop/hdfs-site.xml']);
  });

  it('names each application, the files and how to pick the change up', () => {
    const text = describeStale({
      changed: ['/etc/millrace/spark/spark-defaults.conf'],
      applications: [{ id: 'app-20261203031500-0001', name: 'millrace-ingest-flights' }],
    });
    expect(text).toContain('1 running application(s) keep the spark-defaults.conf they were submitted with until resubmitted: millrace-ingest-flights (app-20261203031500-0001)');
    expect(text).toContain('millrace jobs kill <id>');
  });

  it('says nothing when no driver config changed, or nothing runs', () => {
    expect(describeStale({ changed: [], applications: [{ id: 'a', name: 'n' }] })).toBeUndefined();
    expect(describeStale({ changed: ['/etc/millrace/hadoop/core-site.xml'], applications: [] })).toBeUndefined();
  });

  it('says the change is there when the master could not be asked', () => {
    expect(describeStale({ changed: ['/etc/millrace/hadoop/core-site.xml'], applications: [], error: 'connection refused' })).toBe(
      "core-site.xml changed on the Spark master's node; running applications keep their old copy until resubmitted (could not list them: connection refused)",
    );
  });
});
