/**
 * `millrace hdfs`: HDFS's shell (`hdfs dfs`) on the cluster, as one of its principals, with no
 * kinit by hand. It runs on a node over SSH, where the identity already lives: as spark on the
 * spark-master's node, with the spark principal's ticket that its timer keeps fresh, or as the
 * hdfs superuser on the namenode's node, after a kinit from the node's keytab into a cache of
 * its own. Without Kerberos the same commands run as those OS users.
 */
import { Command } from 'commander';
import { HealthCheckError, UsageError } from '../../lib/errors';
import { readInventory } from '../../lib/inventory';
import { loadFacts, requireClusterState } from '../../provisioning/cluster-state';
import { hdfsTool } from '../../provisioning/services/hdfs';
import { clientFsShell } from '../../provisioning/verify/hdfs';
import { withHosts } from '../bootstrap';
import { configFor, globals, output } from '../context';

const USERS = ['spark', 'hdfs'] as const;
type HdfsUser = (typeof USERS)[number];

export function registerHdfs(program: Command): void {
  program
    .command('hdfs [args...]')
    .description("run HDFS's shell (hdfs dfs) on the cluster as spark, or as the hdfs superuser with --as hdfs; no kinit needed")
    .option('--as <user>', "spark (the pipeline's identity, on the spark-master's node) or hdfs (the superuser, on the namenode's node)", 'spark')
    .addHelpText(
      'after',
      "\nPut the shell's arguments after --. The shell runs over SSH on the node where the identity lives.\n" +
        "With Kerberos (the default) it uses that principal's ticket: spark's, which the node's timer keeps\n" +
        "fresh, or hdfs's, from the namenode's keytab.\n" +
        'Output streams as it arrives; --json prints {node, user, code, stdout, stderr} at the end instead.\n' +
        'Exits 1 if the shell fails, e.g. for a path that does not exist or a permission HDFS refuses.',
    )
    .action(async function (this: Command, args: string[], opts: { as: string }) {
      if (!args.length) throw new UsageError('no arguments for the HDFS shell', { hint: 'put them after --, e.g. `millrace hdfs -- -ls /lake`' });
      if (!(USERS as readonly string[]).includes(opts.as))
        throw new UsageError(`--as ${opts.as}: the HDFS shell runs as spark or hdfs`, { hint: 'use --as spark (the default) or --as hdfs (the superuser)' });
      const user = opts.as as HdfsUser;
      const json = !!globals(this).json;
      const config = configFor(this);
      const inventory = readInventory(config.name);
      // Reads only: a lost CA or secret is named, never re-made.
      requireClusterState(config.name, inventory);
      const facts = await loadFacts(config, inventory);
      const node = user === 'hdfs' ? facts.namenode : (facts.sparkMaster ?? facts.sparkWorkers[0]);
      if (!node) throw new UsageError('this cluster has no Spark node to run the shell as spark on', { hint: 'use --as hdfs' });
      const command = user === 'hdfs' ? hdfsTool({ cluster: facts, node }, 'org.apache.hadoop.fs.FsShell', ...args) : clientFsShell(facts, 'spark', ...args);
      const r = await withHosts(config, { ...inventory, nodes: [node] }, (hosts) =>
        hosts.get(node.name)!.exec(command, json ? {} : { onStdout: (c) => process.stdout.write(c), onStderr: (c) => process.stderr.write(c) }),
      );
      if (json) output(this, '', { node: node.name, user, code: r.code, stdout: r.stdout, stderr: r.stderr });
      if (r.code !== 0) throw new HealthCheckError(`the HDFS shell failed on ${node.name} as ${user} (exit ${r.code ?? 'by a signal'})`);
    });
}
