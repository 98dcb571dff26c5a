/**
 * Data at rest in the lake is ciphertext: a file with a random marker is written into the
 * encryption zone and, as a control, outside it; the raw block files on the DataNodes' disks are
 * then scanned for the marker. The control must show it (or the scan proves nothing); the zone
 * file must not. Both files are removed afterwards.
 */
import * as crypto from 'node:crypto';
import type { InventoryNode } from '../../lib/inventory';
import { cmd, q } from '../../lib/shell';
import { type RemoteHost, runAs } from '../remote-host';
import type { ClusterFacts } from '../service';
import { SPARK_CCACHE } from '../kerberos/realm';
import { HADOOP_CONF, HDFS_DATA, LAKE } from '../services/hadoop-conf';
import { hdfsTool } from '../services/hdfs';
import type { VerifyRow } from './types';
import { JAVA_TOOL } from '../services/java-service';

/** Runs Hadoop's FsShell as `user` on a node that has Spark's jars and the cluster's Hadoop config. */
export function clientFsShell(facts: ClusterFacts, user: string, ...args: string[]): string {
  return runAs(user, cmd(...ticket(facts, user), ...JAVA_TOOL, '-Xmx256m', '-cp', `${HADOOP_CONF}:${facts.home.spark}/jars/*`, 'org.apache.hadoop.fs.FsShell', ...args));
}

/** With Kerberos, spark's processes read the spark principal's ticket cache (renewed by a timer on the node). */
function ticket(facts: ClusterFacts, user: string): string[] {
  return facts.kerberos && user === 'spark' ? ['env', `KRB5CCNAME=${SPARK_CCACHE}`] : [];
}

/**
 * The same, as OS user `user` claiming to be `claimed` (HADOOP_USER_NAME): with simple
 * authentication the client names its user, and the NameNode believes it.
 */
export function clientFsShellClaiming(facts: ClusterFacts, user: string, claimed: string, ...args: string[]): string {
  return runAs(user, cmd('env', ...(facts.kerberos && user === 'spark' ? [`KRB5CCNAME=${SPARK_CCACHE}`] : []), `HADOOP_USER_NAME=${claimed}`, ...JAVA_TOOL, '-Xmx256m', '-cp', `${HADOOP_CONF}:${facts.home.spark}/jars/*`, 'org.apache.hadoop.fs.FsShell', ...args));
}

/** Block ids of a file, from `hdfs fsck <path> -files -blocks`. */
export function parseBlockIds(fsckOutput: string): string[] {
  return [...new Set([...fsckOutput.matchAll(/(blk_\d+)_\d+/g)].map((m) => m[1]!))];
}

export interface ZoneProbe {
  /** Raw block files that contain the marker, per file. */
  zoneHits: string[];
  controlHits: string[];
  zoneBlocks: number;
  controlBlocks: number;
  readBack: boolean;
}

export async function probeCiphertext(
  facts: ClusterFacts,
  hosts: Map<string, RemoteHost>,
  client: InventoryNode,
): Promise<ZoneProbe> {
  const marker = `MILLRACE-VERIFY-${crypto.randomBytes(8).toString('hex')}`;
  const name = `millrace-verify-${crypto.randomBytes(4).toString('hex')}.txt`;
  const local = `/tmp/${name}`;
  const inZone = `${LAKE}/${name}`;
  const outside = `/tmp/${name}`;
  const ch = hosts.get(client.name)!;
  const nn = hosts.get(facts.namenode.name)!;
  const nnCtx = { cluster: facts, node: facts.namenode };
  try {
    await ch.putFile(local, `${marker}\n`.repeat(64), { mode: 0o644, owner: 'root' });
    await ch.execOrThrow(
      [clientFsShell(facts, 'spark', '-put', '-f', local, inZone), clientFsShell(facts, 'spark', '-put', '-f', local, outside)].join(' && '),
      { what: `write the marker file into ${LAKE} and /tmp` },
    );
    const back = await ch.exec(clientFsShell(facts, 'spark', '-cat', inZone));
    const blocks = async (p: string): Promise<string[]> =>
      parseBlockIds(await nn.execOrThrow(hdfsTool(nnCtx, 'org.apache.hadoop.hdfs.tools.DFSck', p, '-files', '-blocks'), { what: `find the blocks of ${p}` }));
    const zoneBlocks = await blocks(inZone);
    const controlBlocks = await blocks(outside);
    const hits = async (ids: string[]): Promise<string[]> => {
      const found: string[] = [];
      for (const dn of facts.datanodes) {
        const names = ids.map((id) => `-name ${q(id)}`).join(' -o ');
        const r = await hosts.get(dn.name)!.exec(`find ${q(HDFS_DATA)}/data -type f \\( ${names} \\) -exec grep -l -F ${q(marker)} {} +`);
        found.push(...r.stdout.split('\n').filter(Boolean).map((f) => `${dn.name}:${f}`));
      }
      return found;
    };
    return {
      zoneHits: await hits(zoneBlocks),
      controlHits: await hits(controlBlocks),
      zoneBlocks: zoneBlocks.length,
      controlBlocks: controlBlocks.length,
      readBack: back.code === 0 && back.stdout.startsWith(marker),
    };
  } finally {
    await ch.exec(`${clientFsShell(facts, 'spark', '-rm', '-f', '-skipTrash', inZone, outside)}; rm -f ${q(local)}`);
  }
}

export function ciphertextRows(p: ZoneProbe): VerifyRow[] {
  return [
    {
      check: 'HDFS: raw-block scan finds a marker outside the zone (control)',
      target: '/tmp',
      ok: p.controlBlocks > 0 && p.controlHits.length > 0,
      detail: p.controlHits.length ? `marker found in ${p.controlHits.length} raw block file(s): the scan works` : `marker not found in ${p.controlBlocks} block(s): the scan cannot be trusted`,
    },
    {
      check: 'HDFS: data in the lake is ciphertext on disk',
      target: LAKE,
      ok: p.zoneBlocks > 0 && p.zoneHits.length === 0 && p.readBack,
      detail: p.zoneHits.length
        ? `PLAINTEXT marker found in ${p.zoneHits.join(', ')}`
        : `marker absent from ${p.zoneBlocks} raw block(s); ${p.readBack ? 'reads back through HDFS' : 'did NOT read back through HDFS'}`,
    },
  ];
}
