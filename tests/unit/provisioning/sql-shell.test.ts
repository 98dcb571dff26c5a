/** `millrace sql` with no query: spark-sql on the master node, the lake's tables as views. */
import { sessionRefuses } from '../../../cli/commands/sql';
import { LAKE_TABLES, planSqlShell, prepareSqlShell, sqlShellInit, sqlString, tablesIn } from '../../../provisioning/jobs/sql-shell';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

describe('the spark-sql session', () => {
  it('quotes a path as a Spark SQL string: backslash and quote escaped', () => {
    expect(sqlString('/lake/flights/events')).toBe("'/lake/flights/events'");
    expect(sqlString("/lake/o'hare\\x")).toBe("'/lake/o\\'hare\\\\x'");
  });

  it('registers each table there is as a temporary view over its Parquet directory, then turns column names on', () => {
    expect(sqlShellInit({ events: '/lake/flights/events', quality: '/lake/flights/quality' })).toBe(
      "CREATE OR REPLACE TEMPORARY VIEW events USING parquet OPTIONS (path '/lake/flights/events');\n" +
        "CREATE OR REPLACE TEMPORARY VIEW quality USING parquet OPTIONS (path '/lake/flights/quality');\n" +
        'SET spark.sql.cli.print.header=true;\n',
    );
    expect(sqlShellInit({})).toBe('SET spark.sql.cli.print.header=true;\n');
  });

  it("finds the tables in the pipeline's lake listing, in their own order, and none of its other directories", () => {
    const listing = ['/lake/flights/models', '/lake/flights/quarantine', '/lake/flights/events', '/lake/flights/checkpoints', ''].join('\n');
    expect(tablesIn(listing, '/lake/flights')).toEqual({ events: '/lake/flights/events', quarantine: '/lake/flights/quarantine' });
    expect(Object.keys(tablesIn(LAKE_TABLES.map((t) => `/lake/x/${t}`).join('\n'), '/lake/x'))).toEqual([...LAKE_TABLES]);
    expect(tablesIn('', '/lake/flights')).toEqual({});
  });

  it('starts spark-sql as spark with the cluster config, two cores, UTC, an in-memory catalog, its logs on stderr and the init file', () => {
    const plan = planSqlShell(factsFor(), 'flights', { events: '/lake/flights/events' }, 'abc123');
    expect(plan.workDir).toMatch(/^\/var\/lib\/millrace\/spark\/apps\/\d{8}T\d{6}-millrace-sql-flights-abc123$/);
    expect(plan.init).toEqual({ path: `${plan.workDir}/init.sql`, content: expect.stringMatching(/^CREATE OR REPLACE TEMPORARY VIEW events USING parquet OPTIONS \(path '\/lake\/flights\/events'\);\n/) });
    expect(plan.command).toBe(
      `chown -R spark:spark ${plan.workDir} && cd ${plan.workDir} && exec runuser -u spark -- env SPARK_CONF_DIR=/etc/millrace/spark HADOOP_CONF_DIR=/etc/millrace/hadoop ` +
        '/opt/millrace/spark/current/bin/spark-sql --master spark://127.0.0.12:7077 --name millrace-sql-flights --conf spark.cores.max=2 --conf spark.sql.session.timeZone=UTC ' +
        `--conf spark.sql.catalogImplementation=in-memory --driver-java-options -Dlog4j2.configurationFile=${plan.workDir}/log4j2.properties -i ${plan.workDir}/init.sql`,
    );
    // The driver's logs go to stderr: stdout holds the answers alone.
    expect(plan.log4j.content).toMatch(/^appender\.console\.target = SYSTEM_ERR$/m);
    expect(plan.log4j.content).toMatch(/^rootLogger\.level = warn$/m);
  });

  it("lists the lake as spark on the node and writes the init file 0600; a pipeline with no lake yet has no tables; another failure is named", async () => {
    const host = fakeHost('spark-1', (c) => (c.includes('FsShell') ? { stdout: '/lake/flights/events\n/lake/flights/predictions\n' } : undefined));
    const plan = await prepareSqlShell(host, factsFor(), 'flights');
    expect(host.commands[0]).toMatch(/^runuser -u spark -- .*org\.apache\.hadoop\.fs\.FsShell -ls -C \/lake\/flights$/);
    expect(plan.tables).toEqual({ events: '/lake/flights/events', predictions: '/lake/flights/predictions' });
    expect(host.files.get(plan.init.path)).toBe(plan.init.content);
    expect(host.files.get(plan.log4j.path)).toBe(plan.log4j.content);

    const empty = fakeHost('spark-1', (c) => (c.includes('FsShell') ? { code: 1, stderr: "ls: `/lake/flights': No such file or directory\n" } : undefined));
    expect((await prepareSqlShell(empty, factsFor(), 'flights')).tables).toEqual({});

    const down = fakeHost('spark-1', (c) => (c.includes('FsShell') ? { code: 1, stderr: 'ls: Call From spark-1 to hdfs-1:8020 failed on connection exception\n' } : undefined));
    await expect(prepareSqlShell(down, factsFor(), 'flights')).rejects.toThrow(/listing \/lake\/flights as spark on spark-1 failed \(exit 1\): ls: Call From spark-1 to hdfs-1:8020/);
  });

  it('refuses the options that shape a printed result', () => {
    expect(sessionRefuses({})).toEqual([]);
    expect(sessionRefuses({ json: true, format: true, limit: true })).toEqual(['--json', '--format', '--limit']);
  });
});
