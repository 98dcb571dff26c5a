/**
 * HDFS RPC without Kerberos, said honestly: the NameNode (8020) and DataNode IPC (9867) take the
 * user a client names. The row shows it live, from a Spark node: OS user spark, which may not
 * write HDFS's root, claims to be hdfs and is granted it.
 *
 * It is a WARN, not a FAIL: it is the documented limit of the design (README "Without Kerberos"),
 * not a setting gone wrong, and no setting of millrace fixes it until Kerberos comes; a FAIL on
 * every healthy cluster would make `verify`'s exit code useless as a gate. The row still runs
 * every time and is printed as WARN with its reason; it turns PASS by itself when a claimed user
 * is no longer believed, and FAIL when the control does not hold (spark may write the root).
 */
import type { InventoryNode } from '../../lib/inventory';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { cmd, q } from '../../lib/shell';
import { negotiateCurl, SPARK_CCACHE } from '../kerberos/realm';
import { runAs } from '../remote-host';
import { HADOOP_CONF, KMS_PORT, LAKE, LAKE_KEY } from '../services/hadoop-conf';
import { CA_PEM } from '../services/tls-files';
import { clientFsShell, clientFsShellClaiming } from './hdfs';
import type { VerifyRow } from './types';
import { JAVA_TOOL } from '../services/java-service';

export const HDFS_RPC_CHECK = 'HDFS: RPC (8020, 9867) authenticates its clients';
const REASON = "HDFS RPC (8020, 9867) has no authentication without Kerberos: a client can claim any user; see README 'Without Kerberos'";

export interface ClaimProbe {
  /** Exit code of `-test -w /` as spark itself (1: not allowed, the control). */
  asItself: number;
  /** The same as spark claiming hdfs (0: the NameNode believed the claim). */
  claimingHdfs: number;
}

export function hdfsRpcRow(target: string, p: ClaimProbe | undefined): VerifyRow {
  const row = { check: HDFS_RPC_CHECK, target };
  if (!p) return { ...row, ok: true, status: 'warn', detail: `${REASON} (not shown live: no spark-master node to ask from)` };
  if (p.asItself !== 1) return { ...row, ok: false, detail: `control failed: spark itself ${p.asItself === 0 ? 'may write /' : `could not ask the NameNode (exit ${p.asItself})`}, so the claim proves nothing` };
  if (p.claimingHdfs === 0) return { ...row, ok: true, status: 'warn', detail: `${REASON}. Shown: OS user spark, refused write on / as itself, claimed hdfs (HADOOP_USER_NAME) and was granted it. The flow table keeps these ports to DataNodes and Spark nodes` };
  if (p.claimingHdfs === 1) return { ...row, ok: true, detail: 'a claimed user is not believed: spark claiming hdfs was refused like spark itself' };
  return { ...row, ok: false, detail: `could not ask the NameNode as a claimed user (exit ${p.claimingHdfs})` };
}

export async function probeClaim(facts: ClusterFacts, host: RemoteHost): Promise<ClaimProbe> {
  const asItself = await host.exec(clientFsShell(facts, 'spark', '-test', '-w', '/'));
  const claimingHdfs = await host.exec(clientFsShellClaiming(facts, 'spark', 'hdfs', '-test', '-w', '/'));
  return { asItself: asItself.code ?? -1, claimingHdfs: claimingHdfs.code ?? -1 };
}

export async function verifyHdfsRpc(facts: ClusterFacts, host: RemoteHost | undefined, node: InventoryNode | undefined): Promise<VerifyRow[]> {
  if (!host || !node) return [hdfsRpcRow(facts.namenode.name, undefined)];
  const rows = [hdfsRpcRow(facts.namenode.name, await probeClaim(facts, host))];
  if (facts.kerberos) rows.push(...kerberosRows(facts, await probeTicketless(facts, host)));
  return rows;
}

export const KERBEROS_NN_CHECK = 'Kerberos: a client without a ticket is refused by the NameNode, whatever user it claims';
export const KERBEROS_KMS_CHECK = 'Kerberos: a client without a ticket is refused by the KMS, whatever user it names';

/** The attack of issue 13 and its control, from a Spark node. */
export interface TicketlessProbe {
  /** `-ls /lake` as OS user nobody, no ticket, claiming spark: exit code and the refusal's last line. */
  nn: { code: number; said: string };
  /** The same as spark with the spark principal's ticket (the control). */
  nnControl: number;
  /** GET the lake key's metadata naming user spark, no ticket: HTTP status (401 wanted). */
  kms: number;
  /** The same with SPNEGO and spark's ticket (200 wanted, the control). */
  kmsControl: number;
}

const REFUSED = /Client cannot authenticate via:?(\[[^\]]*\])?|SIMPLE authentication is not enabled[^\n]*|GSS initiate failed|Failed to find any Kerberos tgt|No valid credentials/;

export async function probeTicketless(facts: ClusterFacts, host: RemoteHost): Promise<TicketlessProbe> {
  const jars = `${HADOOP_CONF}:${facts.home.spark}/jars/*`;
  const nn = await host.exec(
    runAs('nobody', cmd('env', 'KRB5CCNAME=FILE:/nonexistent/millrace-no-ticket', 'HADOOP_USER_NAME=spark', ...JAVA_TOOL, '-Xmx256m', '-Dhadoop.log.dir=/tmp', '-cp', jars, 'org.apache.hadoop.fs.FsShell', '-ls', LAKE)),
  );
  const control = await host.exec(clientFsShell(facts, 'spark', '-ls', LAKE));
  const url = `https://${facts.kms?.privateAddress}:${KMS_PORT}/kms/v1/key/${LAKE_KEY}/_metadata`;
  const code = async (c: string): Promise<number> => Number((await host.exec(c)).stdout.trim()) || 0;
  const kms = facts.kms ? await code(`curl -sS -o /dev/null -w '%{http_code}' --cacert ${q(CA_PEM)} ${q(`${url}?user.name=spark`)}`) : 0;
  const kmsControl = facts.kms ? await code(`${negotiateCurl(SPARK_CCACHE)} -sS -o /dev/null -w '%{http_code}' --cacert ${q(CA_PEM)} ${q(url)}`) : 0;
  // The refusal's own words (Hadoop wraps them in a long line about hosts and ports), else the last line.
  const refusal = REFUSED.exec(nn.stderr);
  const said = refusal ? refusal[0] : (nn.stderr.trim().split('\n').slice(-1)[0] ?? '').trim().slice(0, 200);
  return { nn: { code: nn.code ?? -1, said }, nnControl: control.code ?? -1, kms, kmsControl };
}

export function kerberosRows(facts: ClusterFacts, p: TicketlessProbe): VerifyRow[] {
  const refused = p.nn.code !== 0 && REFUSED.test(p.nn.said);
  return [
    {
      check: KERBEROS_NN_CHECK,
      target: facts.namenode.name,
      ok: refused && p.nnControl === 0,
      detail:
        p.nnControl !== 0
          ? `control failed: spark with its ticket could not list ${LAKE} (exit ${p.nnControl}), so the refusal proves nothing`
          : refused
            ? `no ticket, claiming spark: refused (${p.nn.said}); spark with its ticket lists ${LAKE} (the control)`
            : `NOT refused: a client without a ticket claiming spark got exit ${p.nn.code} (${p.nn.said || 'no error'})`,
    },
    {
      check: KERBEROS_KMS_CHECK,
      target: facts.kms?.name ?? 'kms',
      ok: p.kms === 401 && p.kmsControl === 200,
      detail: `no ticket, user.name=spark: HTTP ${p.kms} (401 wanted); spark with its ticket (SPNEGO): HTTP ${p.kmsControl} (200, the control)`,
    },
  ];
}
