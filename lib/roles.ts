/**
 * Roles a node can carry, and the ports each role's services listen on. This is the one place
 * ports are declared: the provisioner (templates, health checks, port-conflict checks),
 * `millrace verify` and the README's security table read it. Who may connect to each port is
 * lib/flows.ts, the flow table, which the AWS security groups are built from.
 */
export const ROLES = ['kafka', 'spark-master', 'spark-worker', 'namenode', 'datanode', 'kms', 'kdc', 'monitor'] as const;
export type Role = (typeof ROLES)[number];

/** Who may reach a port: the operator's CIDR, the Kafka client CIDRs, or cluster members (lib/flows.ts says which). */
export type PortSource = 'operator' | 'clients' | 'cluster';

/**
 * What a port speaks on the wire, which decides how `verify` probes it:
 * - tls: a TLS handshake that verifies against the cluster CA;
 * - ssh: sshd;
 * - spark-rpc: Spark's RPC: TLS (spark.ssl.rpc, verified against the cluster CA) with Spark's own
 *   authentication with the cluster secret and AES inside (verify/spark.ts probes it);
 * - hadoop-rpc: Hadoop IPC, which without Kerberos is neither authenticated nor encrypted;
 * - hdfs-data: DataNode block transfer, SASL-encrypted with keys from the NameNode;
 * - https-redirect: plain HTTP that only redirects to the HTTPS port (Spark always opens it);
 * - kerberos: the KDC (TCP only: krb5.conf sets udp_preference_limit = 1).
 */
export type WireProtocol = 'tls' | 'ssh' | 'spark-rpc' | 'hadoop-rpc' | 'hdfs-data' | 'https-redirect' | 'kerberos';

export interface PortSpec {
  name: string;
  port: number;
  /** Inclusive end of a range; absent for a single port. */
  toPort?: number;
  description: string;
  protocol: WireProtocol;
  /** In-transit protection, for the security table. */
  encryption: string;
  authentication: string;
  /** A web UI (or its redirect): the flow table lets only the operator reach it. */
  webUi?: boolean;
  /** Open only while a Spark application runs (driver, executors). */
  onDemand?: boolean;
  /**
   * Open only on nodes with a public address (an EC2 public IP, a port-forwarded static host):
   * a listener bound to the private address and advertised at the public one.
   */
  publicOnly?: boolean;
  /** Open only on the KRaft quorum's voters: a broker-only kafka node has no controller listener. */
  votersOnly?: boolean;
}

/** Which of a node's role ports it has beyond its roles: the public listener, the controller listener. */
export interface NodePortOptions {
  publicAddress?: boolean;
  /** A kafka node that votes in the controller quorum; true unless said otherwise. */
  kafkaVoter?: boolean;
}

export const SSH_PORT: PortSpec = {
  name: 'ssh',
  port: 22,
  description: 'sshd (operator access and provisioning)',
  protocol: 'ssh',
  encryption: 'SSH',
  authentication: 'the cluster SSH key; host keys pinned by millrace',
};

/**
 * Every node's host metrics (Prometheus node exporter): like SSH, on every node whatever its roles.
 * provisioning/services/metrics.ts runs it.
 */
export const NODE_METRICS_PORT: PortSpec = {
  name: 'node-metrics',
  port: 9100,
  description: 'Host metrics (Prometheus node exporter), scraped by the monitor',
  protocol: 'tls',
  encryption: 'TLS (the node certificate)',
  authentication: 'none: read-only metrics; only the monitor node may connect (flow table)',
};

/** The port of a JVM service's metrics (the Prometheus JMX exporter agent in that JVM, over TLS). */
function metricsPort(name: string, port: number, what: string): PortSpec {
  return {
    name,
    port,
    description: `${what} metrics (Prometheus JMX exporter), scraped by the monitor`,
    protocol: 'tls',
    encryption: "TLS (the service's own certificate)",
    authentication: 'none: read-only metrics; only the monitor node may connect (flow table)',
  };
}

const MTLS = 'mutual TLS: client certificate from the cluster CA';

/**
 * Ports of Spark applications, fixed so that firewalls can name them (provisioning/services/spark.ts
 * sets them): a driver runs on the spark-master node (`millrace submit`) and listens on its RPC,
 * block manager and UI ports; an executor on a spark-worker node listens on its block manager port.
 * Both roles declare the RPC range; a node with both lists it once.
 */
const SPARK_APP_RPC: PortSpec = {
  name: 'spark-app',
  port: 7100,
  toPort: 7139,
  description: 'Spark application RPC (driver) and block manager ports (driver, executors)',
  protocol: 'spark-rpc',
  encryption: 'TLS 1.3 (spark.ssl.rpc; server certificate from the cluster CA) with AES (spark.network.crypto) inside, keyed from the cluster secret; local disk I/O encrypted',
  authentication: 'shared cluster secret (spark.authenticate), inside the TLS',
  onDemand: true,
};

const SPARK_APP_UI: PortSpec = {
  name: 'spark-app-ui',
  port: 7140,
  toPort: 7199,
  description: 'Spark application web UI (HTTP redirect from 7140, HTTPS from 7160)',
  protocol: 'tls',
  encryption: 'TLS (the HTTP port only redirects)',
  authentication: 'none (Spark has no login; ACLs are on but see every request as anonymous); kill from the UI disabled',
  webUi: true,
  onDemand: true,
};

export const ROLE_PORTS: Record<Role, PortSpec[]> = {
  kafka: [
    {
      name: 'kafka-client',
      port: 9093,
      description: 'Kafka clients and inter-broker traffic',
      protocol: 'tls',
      encryption: 'TLS 1.2/1.3',
      authentication: `${MTLS}; StandardAuthorizer ACLs`,
    },
    {
      name: 'kafka-controller',
      port: 9094,
      description: 'KRaft controller quorum',
      votersOnly: true,
      protocol: 'tls',
      encryption: 'TLS 1.2/1.3',
      authentication: `${MTLS}; brokers are super users`,
    },
    {
      name: 'kafka-external',
      port: 9095,
      description: 'Kafka clients outside the cluster network, at the public address',
      protocol: 'tls',
      encryption: 'TLS 1.2/1.3',
      authentication: `${MTLS}; StandardAuthorizer ACLs`,
      publicOnly: true,
    },
    metricsPort('kafka-metrics', 9404, 'Kafka broker'),
  ],
  namenode: [
    {
      name: 'namenode-rpc',
      port: 8020,
      description: 'HDFS NameNode RPC (metadata)',
      protocol: 'hadoop-rpc',
      encryption: 'kerberos.enabled: SASL privacy (hadoop.rpc.protection); otherwise none',
      authentication: 'kerberos.enabled: Kerberos, service ACLs; otherwise none (simple auth: the client names its user); HDFS permissions apply; on AWS only DataNodes and Spark nodes reach it',
    },
    {
      name: 'namenode-https',
      port: 9871,
      description: 'NameNode web UI and WebHDFS',
      protocol: 'tls',
      encryption: 'TLS (HTTPS_ONLY)',
      authentication: 'none (simple auth)',
      webUi: true,
    },
    metricsPort('namenode-metrics', 9405, 'NameNode'),
  ],
  datanode: [
    {
      name: 'datanode-transfer',
      port: 9866,
      description: 'DataNode block transfer',
      protocol: 'hdfs-data',
      encryption: 'AES/CTR via SASL (dfs.encrypt.data.transfer), keys from the NameNode; kerberos.enabled: also dfs.data.transfer.protection=privacy',
      authentication: 'block access tokens issued by the NameNode',
    },
    {
      name: 'datanode-ipc',
      port: 9867,
      description: 'DataNode IPC',
      protocol: 'hadoop-rpc',
      encryption: 'kerberos.enabled: SASL privacy (hadoop.rpc.protection); otherwise none',
      authentication: 'kerberos.enabled: Kerberos; otherwise none (simple auth); on AWS only DataNodes and Spark nodes reach it',
    },
    {
      name: 'datanode-https',
      port: 9865,
      description: 'DataNode web UI',
      protocol: 'tls',
      encryption: 'TLS (HTTPS_ONLY)',
      authentication: 'none (simple auth)',
      webUi: true,
    },
    metricsPort('datanode-metrics', 9406, 'DataNode'),
  ],
  kms: [
    {
      name: 'kms-https',
      port: 9600,
      description: 'Hadoop KMS REST API (encryption keys)',
      protocol: 'tls',
      encryption: 'TLS',
      authentication: 'kerberos.enabled: SPNEGO (Kerberos) with key ACLs per principal; otherwise pseudo (the client names its user) with key ACLs',
    },
    metricsPort('kms-metrics', 9407, 'KMS'),
  ],
  'spark-master': [
    {
      name: 'spark-master-rpc',
      port: 7077,
      description: 'Spark master RPC',
      protocol: 'spark-rpc',
      encryption: 'TLS 1.3 (spark.ssl.rpc; server certificate from the cluster CA) with AES (spark.network.crypto) inside, keyed from the cluster secret',
      authentication: 'shared cluster secret (spark.authenticate), inside the TLS',
    },
    {
      name: 'spark-master-ui',
      port: 8080,
      description: 'Spark master web UI (redirect only)',
      protocol: 'https-redirect',
      encryption: 'none: serves only a redirect to 8480',
      authentication: 'n/a',
      webUi: true,
    },
    {
      name: 'spark-master-https',
      port: 8480,
      description: 'Spark master web UI',
      protocol: 'tls',
      encryption: 'TLS',
      authentication: 'none (Spark has no login; ACLs are on but see every request as anonymous); kill from the UI disabled',
      webUi: true,
    },
    metricsPort('spark-master-metrics', 9408, 'Spark master'),
    SPARK_APP_RPC,
    SPARK_APP_UI,
  ],
  'spark-worker': [
    {
      name: 'spark-worker-rpc',
      port: 7078,
      description: 'Spark worker RPC',
      protocol: 'spark-rpc',
      encryption: 'TLS 1.3 (spark.ssl.rpc; server certificate from the cluster CA) with AES (spark.network.crypto) inside, keyed from the cluster secret',
      authentication: 'shared cluster secret (spark.authenticate), inside the TLS',
    },
    {
      name: 'spark-worker-ui',
      port: 8081,
      description: 'Spark worker web UI (redirect only)',
      protocol: 'https-redirect',
      encryption: 'none: serves only a redirect to 8481',
      authentication: 'n/a',
      webUi: true,
    },
    {
      name: 'spark-worker-https',
      port: 8481,
      description: 'Spark worker web UI',
      protocol: 'tls',
      encryption: 'TLS',
      authentication: 'none (Spark has no login; ACLs are on but see every request as anonymous); kill from the UI disabled',
      webUi: true,
    },
    metricsPort('spark-worker-metrics', 9409, 'Spark worker'),
    SPARK_APP_RPC,
  ],
  kdc: [
    {
      name: 'kerberos',
      port: 88,
      description: 'Kerberos KDC (MIT krb5kdc): tickets for the HDFS, KMS and Spark principals',
      protocol: 'kerberos',
      encryption: 'Kerberos (tickets and replies encrypted with AES keys of the principals)',
      authentication: 'pre-authentication with the principal\'s key (keytabs on the nodes)',
    },
  ],
  monitor: [
    {
      name: 'prometheus',
      port: 9090,
      description: 'Prometheus (metrics store, query API and web UI)',
      protocol: 'tls',
      encryption: 'TLS (the node certificate)',
      authentication: 'none (Prometheus has no login); only the operator and the monitor node itself reach it',
      webUi: true,
    },
    {
      name: 'alertmanager',
      port: 9099,
      description: 'Alertmanager (alerts from Prometheus, to the webhook and email; web UI and API)',
      protocol: 'tls',
      encryption: 'TLS (the node certificate)',
      authentication: 'none (Alertmanager has no login); only the operator and the monitor node itself reach it',
      webUi: true,
    },
  ],
};

/** A node's ports, each once (roles may share one); SSH and host metrics on every node; `publicOnly` ones only when it has a public address. */
export function portsFor(roles: readonly Role[], opts: NodePortOptions = {}): PortSpec[] {
  const all = [SSH_PORT, NODE_METRICS_PORT, ...roles.flatMap((r) => ROLE_PORTS[r])].filter((p) => (!p.publicOnly || opts.publicAddress === true) && (!p.votersOnly || opts.kafkaVoter !== false));
  return all.filter((p, i) => all.findIndex((q) => q.name === p.name) === i);
}

/** Whether a node is reached from outside at an address of its own (NAT'd to its private one). */
export function hasPublicAddress(node: { privateAddress: string; publicAddress?: string | undefined }): boolean {
  return !!node.publicAddress && node.publicAddress !== node.privateAddress;
}

export function portNumber(role: Role, name: string): number {
  const spec = ROLE_PORTS[role].find((p) => p.name === name);
  if (!spec) throw new Error(`no port named ${name} for role ${role}`);
  return spec.port;
}
