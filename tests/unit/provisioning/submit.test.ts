import * as path from 'node:path';
import { planSubmit } from '../../../provisioning/jobs/submit';
import { factsFor } from '../../fixtures/facts';

describe('submit', () => {
  it('starts the driver as spark with the cluster config and unbuffered Python, the job package zipped beside it', () => {
    const plan = planSubmit(factsFor(), { job: path.resolve('spark-jobs/lake_stats.py'), args: ['--id-prefix', 'run #1'], spec: { name: 'flights' } }, 'abc123');
    expect(plan.appName).toBe('lake_stats');
    expect(plan.workDir).toMatch(/^\/var\/lib\/millrace\/spark\/apps\/\d{8}T\d{6}-lake_stats-abc123$/);
    expect(plan.command).toContain(
      `exec runuser -u spark -- env SPARK_CONF_DIR=/etc/millrace/spark HADOOP_CONF_DIR=/etc/millrace/hadoop PYTHONUNBUFFERED=1 /opt/millrace/spark/current/bin/spark-submit --master spark://127.0.0.12:7077 --name lake_stats --py-files ${plan.workDir}/millrace_pipeline.zip \${jars:+--jars "$jars"} ${plan.workDir}/lake_stats.py --id-prefix 'run #1' --spec ${plan.workDir}/spec.json`,
    );
    expect(plan.uploads.map((u) => path.basename(u.path))).toEqual(expect.arrayContaining(['lake_stats.py', '__init__.py', 'spec.json']));
  });
});
