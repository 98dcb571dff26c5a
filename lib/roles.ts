/**
 * Roles a node can carry, and the ports each role's services listen on. This is the one place
 * ports are declared: the AWS security groups, the provisioner (templates, health checks,
 * port-conflict checks), `millrace verify` and the README's security table all read it.
 */
export const ROLES = ['kafka', 'spark-master', 'spark-worker', 'namenode', 'datanode', 'kms'] as const;
export type Role = (typeof ROLES)[number];

/** Who may reach a port: the operator's SSH CIDR, the Kafka client CIDRs, or cluster members. */
export type PortSource = 'operator' | 'clients' | 'cluster';

/**
 * What a port speaks on the wire, which decides how `verify` probes it:
 * - tls: a TLS handshake that verifies against the cluster CA;
 * - ssh: sshd;
 * - spark-rpc: Spark's RPC, authenticated with the cluster secret and AES-encrypted;
 * - hadoop-rpc: Hadoop IPC, which without Kerberos is neither authenticated nor encrypted;
 * - hdfs-data: DataNode block transfer, SASL-encrypted with keys from the NameNode;
 * - https-redirect: plain HTTP that only redirects to the HTTPS port (Spark always opens it).
 */
export type WireProtocol = 'tls' | 'ssh' | 'spark-rpc' | 'hadoop-rpc' | 'hdfs-data' | 'https-redirect';

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
  /** Sources allowed in. 'cluster' means every role's security group (or only `fromRoles`). */
  from: PortSource[];
  fromRoles?: Role[];
  /** Open only while a Spark application runs (driver, executors). */
  onDemand?: boolean;
  /**
   * Open only on nodes with a public address (an EC2 public IP, a port-forwarded static host):
   * a listener bound to the private address and advertised at the public one.
   */
  publicOnly?: boolean;
}

export const SSH_PORT: PortSpec = {
  name: 'ssh',
  port: 22,
  description: 'sshd (operator access and provisioning)',
  protocol: 'ssh',
  encryption: 'SSH',
  authentication: 'the cluster SSH key; host keys pinned by millrace',
  from: ['operator'],
};

const MTLS = 'mutual TLS: client certificate from the cluster CA';

export const ROLE_PORTS: Record<Role, PortSpec[]> = {
  kafka: [
    {
      name: 'kafka-client',
      port: 9093,
      description: 'Kafka clients and inter-broker traffic',
      protocol: 'tls',
      encryption: 'TLS 1.2/1.3',
      authentication: `${MTLS}; StandardAuthorizer ACLs`,
      from: ['cluster', 'clients'],
    },
    {
      name: 'kafka-controller',
      port: 9094,
      description: 'KRaft controller quorum',
      protocol: 'tls',
      encryption: 'TLS 1.2/1.3',
      authentication: `${MTLS}; brokers are super users`,
      from: ['cluster'],
      fromRoles: ['kafka'],
    },
    {
      name: 'kafka-external',
      port: 9095,
      description: 'Kafka clients outside the cluster network, at the public address',
      protocol: 'tls',
      encryption: 'TLS 1.2/1.3',
      authentication: `${MTLS}; StandardAuthorizer ACLs`,
      from: ['clients'],
      publicOnly: true,
    },
  ],
  namenode: [
    {
      name: 'namenode-rpc',
      port: 8020,
      description: 'HDFS NameNode RPC (metadata)',
      protocol: 'hadoop-rpc',
      encryption: 'none: Hadoop RPC privacy needs Kerberos',
      authentication: 'none (simple auth: the client names its user); HDFS permissions apply; reachable only from cluster security groups',
      from: ['cluster'],
    },
    {
      name: 'namenode-https',
      port: 9871,
      description: 'NameNode web UI and WebHDFS',
      protocol: 'tls',
      encryption: 'TLS (HTTPS_ONLY)',
      authentication: 'none (simple auth)',
      from: ['cluster'],
    },
  ],
  datanode: [
    {
      name: 'datanode-transfer',
      port: 9866,
      description: 'DataNode block transfer',
      protocol: 'hdfs-data',
      encryption: 'AES/CTR via SASL (dfs.encrypt.data.transfer), keys from the NameNode',
      authentication: 'block access tokens issued by the NameNode',
      from: ['cluster'],
    },
    {
      name: 'datanode-ipc',
      port: 9867,
      description: 'DataNode IPC',
      protocol: 'hadoop-rpc',
      encryption: 'none: Hadoop RPC privacy needs Kerberos',
      authentication: 'none (simple auth); reachable only from cluster security groups',
      from: ['cluster'],
    },
    {
      name: 'datanode-https',
      port: 9865,
      description: 'DataNode web UI',
      protocol: 'tls',
      encryption: 'TLS (HTTPS_ONLY)',
      authentication: 'none (simple auth)',
      from: ['cluster'],
    },
  ],
  kms: [
    {
      name: 'kms-https',
      port: 9600,
      description: 'Hadoop KMS REST API (encryption keys)',
      protocol: 'tls',
      encryption: 'TLS',
      authentication: 'pseudo (the client names its user) with key ACLs; real identity needs Kerberos',
      from: ['cluster'],
    },
  ],
  'spark-master': [
    {
      name: 'spark-master-rpc',
      port: 7077,
      description: 'Spark master RPC',
      protocol: 'spark-rpc',
      encryption: 'AES (spark.network.crypto)',
      authentication: 'shared cluster secret (spark.authenticate)',
      from: ['cluster'],
    },
    {
      name: 'spark-master-ui',
      port: 8080,
      description: 'Spark master web UI (redirect only)',
      protocol: 'https-redirect',
      encryption: 'none: serves only a redirect to 8480',
      authentication: 'n/a',
      from: ['cluster'],
    },
    {
      name: 'spark-master-https',
      port: 8480,
      description: 'Spark master web UI',
      protocol: 'tls',
      encryption: 'TLS',
      authentication: 'none',
      from: ['cluster'],
    },
  ],
  'spark-worker': [
    {
      name: 'spark-worker-rpc',
      port: 7078,
      description: 'Spark worker RPC',
      protocol: 'spark-rpc',
      encryption: 'AES (spark.network.crypto)',
      authentication: 'shared cluster secret (spark.authenticate)',
      from: ['cluster'],
    },
    {
      name: 'spark-worker-ui',
      port: 8081,
      description: 'Spark worker web UI (redirect only)',
      protocol: 'https-redirect',
      encryption: 'none: serves only a redirect to 8481',
      authentication: 'n/a',
      from: ['cluster'],
    },
    {
      name: 'spark-worker-https',
      port: 8481,
      description: 'Spark worker web UI',
      protocol: 'tls',
      encryption: 'TLS',
      authentication: 'none',
      from: ['cluster'],
    },
    {
      name: 'spark-app',
      port: 7100,
      toPort: 7199,
      description: 'Spark driver, block manager and application UI ports',
      protocol: 'spark-rpc',
      encryption: 'AES (RPC, blocks); TLS (UI); local disk I/O encrypted',
      authentication: 'shared cluster secret (spark.authenticate)',
      from: ['cluster'],
      fromRoles: ['spark-master', 'spark-worker'],
      onDemand: true,
    },
  ],
};

/** A node's ports; `publicOnly` ones only when it has a public address. */
export function portsFor(roles: readonly Role[], opts: { publicAddress?: boolean } = {}): PortSpec[] {
  return [SSH_PORT, ...roles.flatMap((r) => ROLE_PORTS[r])].filter((p) => !p.publicOnly || opts.publicAddress === true);
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
