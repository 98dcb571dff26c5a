/**
 * The flow table: which role (or the operator's CIDR, or the Kafka client CIDRs) may open a TCP
 * connection to which port of which role, and why. lib/roles.ts declares the ports; this file
 * declares who may reach them. The AWS security groups are built from it (stacks/ingress-plan.ts),
 * and the tests check it against the ports (every declared port has a flow, every flow names a
 * declared port).
 *
 * A connection between two processes on the same node needs no entry: it never leaves the node
 * (a Spark driver runs on the spark-master node and talks to the master there).
 *
 * What is left out on purpose: Kafka-only nodes reach no HDFS, KMS or Spark port; no role reaches
 * a web UI (only the operator does); only the monitor reaches a metrics endpoint; the Kafka client CIDRs reach only the EXTERNAL listener
 * (9095), never 9093, whose metadata names private addresses.
 */
import { NODE_METRICS_PORT, PortSpec, Role, ROLE_PORTS, ROLES, SSH_PORT } from './roles';

/** Who opens the connection: a node with this role, the operator's CIDR (network.sshCidr), or the Kafka client CIDRs. */
export type FlowSource = Role | 'operator' | 'clients';
/** The role whose port is reached; 'any' is every node (SSH, host metrics). */
export type FlowTarget = Role | 'any';

export interface Flow {
  from: FlowSource;
  to: FlowTarget;
  /** A port name of lib/roles.ts: of ROLE_PORTS[to], or SSH_PORT's or NODE_METRICS_PORT's for 'any'. */
  port: string;
  /** Why the connection exists: which process on `from` talks to which on `to`. */
  reason: string;
}

const SPARK: Role[] = ['spark-master', 'spark-worker'];
const each = (froms: FlowSource[], to: FlowTarget, port: string, reason: (from: FlowSource) => string): Flow[] =>
  froms.map((from) => ({ from, to, port, reason: reason(from) }));
const sparkSide = (from: FlowSource): string => (from === 'spark-master' ? 'Spark drivers (they run on the spark-master node) and `verify`' : 'Spark executors');

export const FLOWS: readonly Flow[] = [
  { from: 'operator', to: 'any', port: 'ssh', reason: 'millrace provisions and operates every node over SSH' },

  // Kafka
  { from: 'kafka', to: 'kafka', port: 'kafka-client', reason: 'inter-broker replication on the broker listener' },
  ...each(SPARK, 'kafka', 'kafka-client', (f) => `${sparkSide(f)} read and write records`),
  { from: 'kafka', to: 'kafka', port: 'kafka-controller', reason: 'KRaft: controllers vote, brokers fetch the metadata log' },
  { from: 'operator', to: 'kafka', port: 'kafka-external', reason: "millrace produce, consume, topics and verify from the operator's machine" },
  { from: 'clients', to: 'kafka', port: 'kafka-external', reason: 'Kafka clients outside the cluster network' },

  // HDFS
  { from: 'datanode', to: 'namenode', port: 'namenode-rpc', reason: 'DataNodes register, heartbeat and report their blocks' },
  ...each(SPARK, 'namenode', 'namenode-rpc', (f) => `${sparkSide(f)} read and write lake metadata`),
  { from: 'operator', to: 'namenode', port: 'namenode-https', reason: 'the NameNode web UI, for the operator' },
  { from: 'datanode', to: 'datanode', port: 'datanode-transfer', reason: 'the write pipeline and re-replication copy blocks between DataNodes' },
  ...each(SPARK, 'datanode', 'datanode-transfer', (f) => `${sparkSide(f)} read and write blocks`),
  { from: 'datanode', to: 'datanode', port: 'datanode-ipc', reason: 'block recovery between DataNodes' },
  ...each(SPARK, 'datanode', 'datanode-ipc', (f) => `${sparkSide(f)} ask for the length of a block being written`),
  { from: 'operator', to: 'datanode', port: 'datanode-https', reason: 'the DataNode web UI, for the operator' },

  // KMS
  { from: 'namenode', to: 'kms', port: 'kms-https', reason: 'the NameNode makes encrypted data keys for files in the lake zone; provisioning creates the lake key from there' },
  ...each(SPARK, 'kms', 'kms-https', (f) => `${sparkSide(f)} decrypt the data keys of lake files`),

  // Spark
  { from: 'spark-worker', to: 'spark-master', port: 'spark-master-rpc', reason: 'workers register with the master and heartbeat' },
  { from: 'operator', to: 'spark-master', port: 'spark-master-ui', reason: 'the Spark master web UI, for the operator (redirect to HTTPS)' },
  { from: 'operator', to: 'spark-master', port: 'spark-master-https', reason: 'the Spark master web UI, for the operator' },
  { from: 'spark-master', to: 'spark-worker', port: 'spark-worker-rpc', reason: 'the master tells workers to launch and stop executors' },
  { from: 'operator', to: 'spark-worker', port: 'spark-worker-ui', reason: 'the Spark worker web UI, for the operator (redirect to HTTPS)' },
  { from: 'operator', to: 'spark-worker', port: 'spark-worker-https', reason: 'the Spark worker web UI, for the operator' },
  { from: 'spark-worker', to: 'spark-master', port: 'spark-app', reason: "executors connect to their driver's RPC and block manager" },
  { from: 'spark-master', to: 'spark-worker', port: 'spark-app', reason: "drivers fetch results and blocks from executors' block managers" },
  { from: 'spark-worker', to: 'spark-worker', port: 'spark-app', reason: 'executors fetch shuffle and broadcast blocks from each other' },
  { from: 'operator', to: 'spark-master', port: 'spark-app-ui', reason: "a running application's web UI, for the operator" },

  // Kerberos (kerberos.enabled): every process that logs in to HDFS or the KMS asks the KDC for tickets
  ...each(['namenode', 'datanode', 'kms'], 'kdc', 'kerberos', (f) => `the ${f === 'kms' ? 'KMS' : f === 'namenode' ? 'NameNode' : 'DataNode'} logs in from its keytab and checks its clients' tickets`),
  ...each(SPARK, 'kdc', 'kerberos', (f) => `${sparkSide(f)} renew the spark principal's ticket and get service tickets for HDFS and the KMS`),

  // Monitoring: Prometheus on the monitor node scrapes every exporter; nothing else reaches them
  { from: 'monitor', to: 'any', port: 'node-metrics', reason: "Prometheus scrapes each node's host metrics (node exporter)" },
  { from: 'monitor', to: 'kafka', port: 'kafka-metrics', reason: "Prometheus scrapes the broker's JMX metrics" },
  { from: 'monitor', to: 'namenode', port: 'namenode-metrics', reason: "Prometheus scrapes the NameNode's JMX metrics" },
  { from: 'monitor', to: 'datanode', port: 'datanode-metrics', reason: "Prometheus scrapes the DataNode's JMX metrics" },
  { from: 'monitor', to: 'kms', port: 'kms-metrics', reason: "Prometheus scrapes the KMS's JMX metrics" },
  { from: 'monitor', to: 'spark-master', port: 'spark-master-metrics', reason: "Prometheus scrapes the Spark master's metrics" },
  { from: 'monitor', to: 'spark-worker', port: 'spark-worker-metrics', reason: "Prometheus scrapes the Spark worker's metrics" },
  { from: 'operator', to: 'monitor', port: 'prometheus', reason: 'the Prometheus web UI and query API, for the operator' },
  { from: 'operator', to: 'monitor', port: 'alertmanager', reason: 'the Alertmanager web UI (silences), for the operator' },
];

/** The port spec a flow names. Throws for a name the target does not declare (a bug in FLOWS). */
export function flowPort(flow: Pick<Flow, 'to' | 'port'>): PortSpec {
  const spec = flow.to === 'any' ? [SSH_PORT, NODE_METRICS_PORT].find((p) => p.name === flow.port) : ROLE_PORTS[flow.to].find((p) => p.name === flow.port);
  if (!spec) throw new Error(`flow table: role ${flow.to} has no port named ${flow.port}`);
  return spec;
}

/** The flows into a node with these roles, on the given port (by name). */
export function flowsInto(roles: readonly Role[], port: string): Flow[] {
  return FLOWS.filter((f) => f.port === port && (f.to === 'any' || roles.includes(f.to)));
}

/**
 * Whether a connection from a node with `fromRoles` (or from the operator or a client) to `port`
 * on a node with `toRoles` is in the table. For observed connections: one flow of any of the
 * source's roles to any of the target's roles is enough.
 */
export function flowAllowed(from: readonly Role[] | 'operator' | 'clients', toRoles: readonly Role[], port: number): Flow | undefined {
  const sources: readonly FlowSource[] = typeof from === 'string' ? [from] : from;
  return FLOWS.find((f) => {
    if (!sources.includes(f.from) || !(f.to === 'any' || toRoles.includes(f.to))) return false;
    const spec = flowPort(f);
    return port >= spec.port && port <= (spec.toPort ?? spec.port);
  });
}

/** The roles (of those given) that may reach `port` on `to`; for a quick "who may connect" line. */
export function rolesReaching(to: Role, port: string, among: readonly Role[] = ROLES): Role[] {
  return among.filter((r) => FLOWS.some((f) => f.from === r && (f.to === to || f.to === 'any') && f.port === port));
}
