/** Spark applications: `submit` (driver on the master node, output streamed) and `jobs` (list, kill). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { MillraceError, UsageError } from '../../lib/errors';
import { readInventory } from '../../lib/inventory';
import { loadPipelineSpec } from '../../lib/pipeline-spec';
import { loadFacts, requireClusterState } from '../../provisioning/cluster-state';
import { killApp, listApps } from '../../provisioning/jobs/apps';
import { planSubmit, submitAttached, submitDetached } from '../../provisioning/jobs/submit';
import { parseSubmitExtras, SubmitExtraFlags } from '../../provisioning/jobs/submit-options';
import type { RemoteHost } from '../../provisioning/remote-host';
import type { ClusterFacts } from '../../provisioning/service';
import { withHosts } from '../bootstrap';
import { configFor, output } from '../context';
import { formatTable } from '../table';
import type { ClusterConfig } from '../../lib/config';

/** Connects to the Spark master node only. */
export async function onMaster<T>(config: ClusterConfig, fn: (facts: ClusterFacts, master: RemoteHost) => Promise<T>): Promise<T> {
  const inventory = readInventory(config.name);
  const master = inventory.nodes.find((n) => n.roles.includes('spark-master'));
  if (!master) throw new UsageError(`cluster ${config.name} has no spark-master node`, { hint: 'give one node the spark-master role and run `millrace up`' });
  // Jobs use the cluster's existing CA and secrets, and never make new ones.
  requireClusterState(config.name, inventory);
  return withHosts(config, { ...inventory, nodes: [master] }, async (hosts) => fn(await loadFacts(config, inventory), hosts.get(master.name)!));
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];
/** A repeatable flag without a default, so help shows none. */
const collectList = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function registerJobs(program: Command): void {
  program
    .command('submit <job> [args...]')
    .description('run a Spark job (.py or .jar) on the cluster, the driver on the Spark master node, and stream its output')
    .option('--spec <pipeline.yaml>', 'a pipeline spec, validated here and given to the job as `--spec <json>`')
    .option('--name <name>', 'application name (default: the file name)')
    .option('--class <main>', 'main class of a .jar job')
    .option('--conf <key=value>', 'an extra Spark setting (repeatable)', collect, [])
    .option('--py-files <files>', 'Python modules, .zip or .egg files for the job (comma list, repeatable): local files are uploaded', collectList)
    .option('--files <files>', "files placed in each executor's working directory (comma list, repeatable); SparkFiles.get(name) finds them", collectList)
    .option('--jars <jars>', 'extra jars on the driver and executor classpaths (comma list, repeatable)', collectList)
    .option('--packages <coords>', 'Maven coordinates group:artifact:version, resolved by spark-submit on the master node (comma list, repeatable)', collectList)
    .option('--driver-memory <size>', 'driver memory, e.g. 512m or 2g')
    .option('--executor-memory <size>', 'memory per executor, e.g. 1g')
    .option('--total-executor-cores <n>', 'cores for the whole application across the cluster')
    .option('--executor-cores <n>', 'cores per executor')
    .option('-d, --detach', 'leave the job running (e.g. a streaming job) and print its application id')
    .addHelpText(
      'after',
      `
The cluster's Spark security settings, the Kafka connector jars, the pipeline principal's Kafka
credentials (spark.millrace.kafka.*) and the HDFS/KMS client config are wired in; a package
directory millrace_pipeline/ next to a .py job ships with it. Put job arguments after --.

Local files given to --py-files, --files and --jars are uploaded with the job; a URI is passed to
spark-submit as it is (local:/path for a file already on every node, hdfs:///path for one in HDFS).
--packages needs the master node to reach Maven Central (or the repositories set with
--conf spark.jars.repositories=...).

Examples:
  millrace submit spark-jobs/check_pi.py 8
  millrace submit --spec examples/pipelines/flights.yaml spark-jobs/train.py -- --max-rows 1000000
  millrace submit -d --spec examples/pipelines/flights.yaml spark-jobs/ingest.py
  millrace submit --py-files helpers.py --files lookup.csv job.py
  millrace submit --driver-memory 1g --executor-memory 2g --total-executor-cores 4 --executor-cores 2 job.py`,
    )
    .action(async function (this: Command, job: string, args: string[], opts: { spec?: string; name?: string; class?: string; conf: string[]; detach?: boolean } & SubmitExtraFlags) {
      // Every flag is checked here, before connecting: a typo costs no SSH session.
      const jobStat = fs.statSync(job, { throwIfNoEntry: false });
      if (!jobStat?.isFile()) throw new UsageError(`${job}: ${jobStat ? 'not a file' : 'no such file'}`, { hint: 'pass the path of a .py or .jar job on this machine' });
      const extras = parseSubmitExtras(opts);
      const config = configFor(this);
      const conf = Object.fromEntries(
        opts.conf.map((kv) => {
          const i = kv.indexOf('=');
          if (i < 1) throw new UsageError(`--conf ${kv}: expected key=value`, { hint: 'e.g. --conf spark.executor.memory=2g' });
          return [kv.slice(0, i), kv.slice(i + 1)];
        }),
      );
      const spec = opts.spec ? loadPipelineSpec(path.resolve(opts.spec)) : undefined;
      await onMaster(config, async (facts, master) => {
        const plan = planSubmit(facts, { job: path.resolve(job), args, spec, name: opts.name, mainClass: opts.class, conf, extras });
        if (opts.detach) {
          const d = { ...(await submitDetached(master, plan)), node: master.name };
          output(
            this,
            d.appId
              ? `${d.appId} is running (driver pid ${d.pid} on ${master.name})\nlog: millrace exec ${master.name} -- tail -f ${d.log}\nstop: millrace jobs kill ${d.appId}`
              : `the driver is running (pid ${d.pid}) but the master has not accepted it yet; log: ${d.log}`,
            d,
          );
          return;
        }
        const code = await submitAttached(master, plan, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
        if (code !== 0) throw new MillraceError(`${path.basename(job)} failed on ${master.name} with exit code ${code}`, { hint: 'its output is above; the driver ran in ' + plan.workDir });
      });
    });

  const jobs = program
    .command('jobs')
    .description('list the running Spark applications (`jobs kill <id>` stops one)')
    .action(async function (this: Command) {
      const config = configFor(this);
      const { apps, master } = await onMaster(config, async (facts, host) => ({ apps: await listApps(facts, host), master: host.name }));
      // DRIVER: where millrace started it (`jobs kill` can stop it), or "-" for one it did not start.
      const rows = [['ID', 'NAME', 'STATE', 'CORES', 'UPTIME', 'DRIVER'], ...apps.map((a) => [a.id, a.name, a.state, String(a.cores), `${a.durationSeconds}s`, a.workDir ? master : '-'])];
      const human = apps.length ? formatTable(rows) : 'no running applications';
      output(this, human, apps);
    });

  jobs
    .command('kill <id>')
    .description("stop a running application started by `submit --detach`: its driver is signalled over SSH (Spark's UIs cannot kill)")
    .action(async function (this: Command, id: string) {
      const config = configFor(this);
      const r = await onMaster(config, (facts, master) => killApp(facts, master, id));
      output(this, `killed ${id}: its driver (pid ${r.pid} on ${r.node}) ${r.forced ? 'did not stop on TERM and was killed' : 'stopped'}; the master no longer lists it (${r.seconds} s)`, r);
    });
}
