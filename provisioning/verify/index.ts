/**
 * `millrace verify`: the cluster's security promises, checked against the live cluster with no
 * test fixtures, on any target. Every check is a row that passes or fails; refusals are always
 * paired with a control that shows the thing refused was there to be reached.
 */
import { sleep } from '../../lib/retry';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts } from '../service';
import { servicesFor } from '../registry';
import { ciphertextRows, probeCiphertext } from './hdfs';
import { KafkaProbeInput, verifyKafka } from './kafka';
import { verifyNodePorts } from './ports';
import { Secret, verifyProcessLists } from './secrets';
import { verifySparkSecret } from './spark';
import type { VerifyRow } from './types';

export type { VerifyRow } from './types';

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
    ...facts.nodes.map((n) => orFailure('ports', n.name, () => verifyNodePorts(hosts.get(n.name)!, n))),
    orFailure('Kafka refusals', input.kafka.brokers.join(','), () => verifyKafka(input.kafka)),
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
  return [...first, ...second].flat();
}

export function formatVerify(rows: VerifyRow[]): string {
  const cells = rows.map((r) => [r.ok ? 'PASS' : 'FAIL', r.target, r.check, r.detail]);
  const w = [4, Math.max(6, ...cells.map((c) => c[1]!.length)), Math.max(5, ...cells.map((c) => c[2]!.length))];
  const line = (c: string[]): string => c.map((x, i) => (i < 3 ? x.padEnd(w[i]!) : x)).join('  ');
  const failed = rows.filter((r) => !r.ok).length;
  return [line(['', 'TARGET', 'CHECK', 'DETAIL']), ...cells.map(line), '', failed ? `${failed} of ${rows.length} checks FAILED` : `all ${rows.length} checks passed`].join('\n');
}
