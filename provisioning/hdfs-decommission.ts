/**
 * Removing DataNodes without losing blocks: before a datanode role leaves the cluster, HDFS
 * decommissions it. Its address goes into the NameNode's exclude file (dfs.hosts.exclude), the
 * NameNode re-reads it (`dfsadmin -refreshNodes`) and copies every block the node holds to the
 * DataNodes that stay, and `up` goes on only once the NameNode reports the node Decommissioned.
 *
 * Files that ask for more replicas than the staying DataNodes can hold would never let a
 * decommission finish, so they are set to that many (`-setrep`) once the leaving nodes are
 * excluded (no new block goes to them after that); a removal that leaves no DataNode is refused
 * before anything changes. The tools run on the NameNode's node, over SSH, as
 * hdfs (the superuser). The NameNode takes a node out of the exclude file again when it is a
 * DataNode of the config (a node re-added at a removed node's address): see namenodeService.
 */
import type { Logger } from 'pino';
import { MillraceError } from '../lib/errors';
import { waitFor } from '../lib/retry';
import { UnsafeRemovalError } from './kafka-drain';
import type { NodeContext } from './service';
import { excludeWith } from './services/hadoop-conf';
import { dfsAdmin, hdfsTool, readExclude, writeExclude } from './services/hdfs';
import type { RemoteHost } from './remote-host';

/** A DataNode as `dfsadmin -report` lists it. */
export interface ReportedDataNode {
  /** The address the NameNode knows it by (the source address of its registration). */
  address: string;
  port: number;
  /** "Normal", "Decommission in progress", "Decommissioned", ... */
  status: string;
  /** Under "Dead datanodes". */
  dead: boolean;
}

/** Every DataNode of a `dfsadmin -report` (live and dead). Pure. */
export function parseDfsReport(text: string): ReportedDataNode[] {
  const out: ReportedDataNode[] = [];
  let dead = false;
  let current: ReportedDataNode | undefined;
  for (const line of text.split('\n')) {
    const section = /^(Live|Dead|Decommissioning|Entering maintenance|In maintenance) datanodes \(\d+\):/.exec(line);
    if (section) dead = section[1] === 'Dead';
    const name = /^Name: (\S+):(\d+) /.exec(line);
    if (name) {
      current = { address: name[1]!, port: Number(name[2]), status: 'unknown', dead };
      out.push(current);
    }
    const status = /^Decommission Status : (.+?)\s*$/.exec(line);
    if (status && current) current.status = status[1]!;
  }
  return out;
}

export interface DecommissionOptions {
  /** The NameNode's node and the cluster's facts: the HDFS tools run there. */
  host: RemoteHost;
  ctx: NodeContext;
  /** The leaving DataNodes: name and address. */
  leaving: readonly { name: string; address: string }[];
  /** How many DataNodes stay. */
  staying: number;
  timeoutMs?: number;
  log: Logger;
  report: (m: string) => void;
}

/** Decommissions the leaving DataNodes; resolves once the NameNode reports each Decommissioned (or not known to it). */
export async function decommissionDataNodes(o: DecommissionOptions): Promise<{ seconds: number }> {
  const started = Date.now();
  const names = o.leaving.map((n) => n.name).join(', ');
  if (o.staying < 1)
    throw new UnsafeRemovalError(`the config removes every DataNode the cluster has (${names}); HDFS would lose its blocks; nothing was changed`, {
      hint: 'add the new DataNodes first and run `millrace up`, then remove the old ones',
    });
  // Excluded first, so no new block is placed on a leaving node; then the files asking for more
  // replicas than the staying DataNodes can hold (e.g. written while there were more) are set to
  // that many, else the NameNode would wait for ever for replicas it has nowhere to put.
  const replication = Math.min(3, o.staying);
  await writeExclude(o.host, o.ctx, excludeWith(await readExclude(o.host), o.leaving.map((n) => n.address)));
  o.report(`decommissioning DataNode${o.leaving.length > 1 ? 's' : ''} ${names}; files set to at most ${replication} replica${replication > 1 ? 's' : ''}`);
  // A file that a running job renames or deletes meanwhile makes -setrep exit non-zero: that one no
  // longer matters. Should a file still ask for too many replicas, the wait below says which node is stuck.
  const setrep = await o.host.exec(hdfsTool(o.ctx, 'org.apache.hadoop.fs.FsShell', '-setrep', '-R', String(replication), '/'));
  if (setrep.code !== 0) o.log.warn({ code: setrep.code, stderr: setrep.stderr.split('\n').slice(-3).join(' ') }, 'setrep reported errors (files gone meanwhile?)');
  o.log.info({ leaving: o.leaving, replication }, 'decommissioning DataNodes');
  let pending: ReportedDataNode[] = [];
  await waitFor(
    async () => {
      const nodes = parseDfsReport(await o.host.execOrThrow(dfsAdmin(o.ctx, '-report'), { what: 'read the DataNode report' }));
      pending = nodes.filter((n) => o.leaving.some((l) => l.address === n.address) && !n.dead && n.status !== 'Decommissioned');
      return pending.length === 0 ? true : undefined;
    },
    { timeout: o.timeoutMs ?? 60 * 60_000, interval: 3000, what: `DataNode(s) ${names} to decommission`, hint: 'the NameNode goes on copying their blocks; run `millrace up` again to wait for it' },
  ).catch((error: unknown) => {
    throw new MillraceError(`DataNode(s) ${pending.map((p) => `${p.address} (${p.status})`).join(', ') || names} did not finish decommissioning; nothing was removed`, {
      cause: error,
      hint: 'run `millrace up` again to wait for it; `millrace status` shows the DataNodes',
    });
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  o.report(`decommissioned ${names} in ${seconds}s: their blocks are on the DataNodes that stay`);
  return { seconds };
}
