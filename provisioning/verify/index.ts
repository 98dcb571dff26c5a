/**
 * `millrace verify`: the cluster's security promises, checked against the live cluster with no
 * test fixtures, on any target. Every check is a row that passes or fails; refusals are always
 * paired with a control that shows the thing refused was there to be reached.
 */
import { sleep } from '../../lib/retry';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { servicesFor } from '../registry';
import { verifyCertificates } from './certs';
import { verifyFlowPorts } from './flows';
import { ciphertextRows, probeCiphertext } from './hdfs';
import { verifyHdfsRpc } from './hdfs-rpc';
import { KafkaProbeInput, verifyKafka } from './kafka';
import { verifyKms } from './kms';
import { verifyLake } from './lake';
import { verifyOverrides } from './overrides';
import { isController } from '../services/kafka';
import { verifyNodePorts } from './ports';
import { Secret, verifyProcessLists } from './secrets';
import { verifySparkRpcTls, verifySparkSecret, verifySparkUiKill } from './spark';
import { verifyTlsVersions } from './tls-version';
import { rowStatus, type VerifyRow } from './types';

export type { VerifyRow, VerifyStatus } from './types';

export interface VerifyInput {
  facts: ClusterFacts;
  hosts: Map<string, RemoteHost>;
  kafka: KafkaProbeInput;
  secrets: Secret[];
  report?: (message: string) => void;
}

/** The security state each service reports of itself (listeners, the zone, Spark auth), as rows. */
async function serviceStateRows(facts: ClusterFacts, hosts: Map<string, RemoteHost>): Promise<VerifyRow[]> {
  const rows = await Promise.all(
    facts.nodes.flatMap((node) =>
      servicesFor(node.roles)
        .filter((s) => s.securityChecks)
        .map(async (s) => {
          const checks = await s.securityChecks!(hosts.get(node.name)!, { cluster: facts, node });
          return checks.map((c) => ({ check: `${s.id}: ${c.name}`, target: node.name, ok: c.ok, detail: c.detail }));
        }),
    ),
  );
  return rows.flat();
}

async function orFailure(what: string, target: string, fn: () => Promise<VerifyRow[]>): Promise<VerifyRow[]> {
  try {
    return await fn();
  } catch (error) {
    return [{ check: what, target, ok: false, detail: `could not check: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` }];
  }
}

export async function runVerify(input: VerifyInput): Promise<VerifyRow[]> {
  const { facts, hosts } = input;
  const say = input.report ?? (() => undefined);
  say('service security state, ports and TLS, Kafka refusals');
  const first = await Promise.all([
    orFailure('service security state', 'cluster', () => serviceStateRows(facts, hosts)),
    ...facts.nodes.map((n) => orFailure('ports', n.name, () => verifyNodePorts(hosts.get(n.name)!, n, isController(facts, n)))),
    orFailure('Kafka refusals', input.kafka.brokers.join(','), () => verifyKafka(input.kafka)),
    orFailure('certificate expiry', 'cluster', () => verifyCertificates(facts, hosts)),
    orFailure('Spark RPC TLS', 'cluster', () => verifySparkRpcTls(facts, hosts)),
    facts.sparkMaster ? orFailure('Spark UI kill', facts.sparkMaster.name, () => verifySparkUiKill(facts, hosts.get(facts.sparkMaster!.name)!)) : Promise.resolve([]),
    // Issue 12: the flow table against the live ports, TLS versions, KMS ACLs, the lake, HDFS RPC.
    ...facts.nodes.map((n) => orFailure('flows: the flow table against the live ports', n.name, () => verifyFlowPorts(hosts.get(n.name)!, n))),
    ...facts.nodes.map((n) => orFailure('TLS: minimum version', n.name, () => verifyTlsVersions(hosts.get(n.name)!, n, undefined, isController(facts, n)))),
    facts.kms ? orFailure('KMS ACLs', facts.kms.name, () => verifyKms(facts, hosts, facts.kms!)) : Promise.resolve([]),
    orFailure('HDFS: /lake permissions', '/lake', () => verifyLake(facts, hosts.get(facts.namenode.name)!)),
    orFailure('HDFS: RPC authentication', facts.namenode.name, () => verifyHdfsRpc(facts, facts.sparkMaster && hosts.get(facts.sparkMaster.name), facts.sparkMaster)),
  ]);
  say('raw-block ciphertext scan, Spark secret enforcement, process lists');
  const sparkNode = facts.sparkMaster;
  const second = await Promise.all([
    sparkNode
      ? orFailure('HDFS ciphertext at rest', 'lake', async () => ciphertextRows(await probeCiphertext(facts, hosts, sparkNode)))
      : Promise.resolve([{ check: 'HDFS: data in the lake is ciphertext on disk', target: 'lake', ok: false, detail: 'no spark-master node to write the marker from' }]),
    sparkNode ? orFailure('Spark secret', sparkNode.name, () => verifySparkSecret(facts, hosts.get(sparkNode.name)!)) : Promise.resolve([]),
    // Sampled while the probes above run, when drivers and HDFS clients are alive too.
    sleep(6000).then(() => orFailure('process lists', 'cluster', () => verifyProcessLists(hosts, input.secrets))),
  ]);
  // The config's own acknowledgements, first: they explain the live failures they cause.
  return [verifyOverrides(facts.config), ...first, ...second].flat();
}

export function formatVerify(rows: VerifyRow[]): string {
  const cells = rows.map((r) => [rowStatus(r).toUpperCase(), r.target, r.check, r.detail]);
  const w = [4, Math.max(6, ...cells.map((c) => c[1]!.length)), Math.max(5, ...cells.map((c) => c[2]!.length))];
  const line = (c: string[]): string => c.map((x, i) => (i < 3 ? x.padEnd(w[i]!) : x)).join('  ');
  const failed = rows.filter((r) => !r.ok).length;
  const warned = rows.filter((r) => rowStatus(r) === 'warn').length;
  const warnings = warned ? `; ${warned} WARN: a known limit, named with its reason` : '';
  const summary = failed ? `${failed} of ${rows.length} checks FAILED${warnings}` : warned ? `no check failed: ${rows.length - warned} passed${warnings}` : `all ${rows.length} checks passed`;
  return [line(['', 'TARGET', 'CHECK', 'DETAIL']), ...cells.map(line), '', summary].join('\n');
}
