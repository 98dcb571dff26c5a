/**
 * Roles a node can carry, and the ports each role's services listen on. This is the one place
 * ports are declared: the AWS security groups and the provisioner (templates, health checks,
 * port-conflict checks) both read it.
 */
export const ROLES = ['kafka', 'spark-master', 'spark-worker', 'namenode', 'datanode', 'kms'] as const;
export type Role = (typeof ROLES)[number];

/** Who may reach a port: the operator's SSH CIDR, the Kafka client CIDRs, or cluster members. */
export type PortSource = 'operator' | 'clients' | 'cluster';

export interface PortSpec {
  name: string;
  port: number;
  /** Inclusive end of a range; absent for a single port. */
  toPort?: number;
  description: string;
  tls: boolean;
  /** Sources allowed in. 'cluster' means every role's security group (or only `fromRoles`). */
  from: PortSource[];
  fromRoles?: Role[];
}

export const SSH_PORT: PortSpec = {
  name: 'ssh',
  port: 22,
  description: 'sshd (operator access and provisioning)',
  tls: false,
  from: ['operator'],
};

export const ROLE_PORTS: Record<Role, PortSpec[]> = {
  kafka: [
    {
      name: 'kafka-client',
      port: 9093,
      description: 'Kafka clients and inter-broker traffic (TLS)',
      tls: true,
      from: ['cluster', 'clients'],
    },
    {
      name: 'kafka-controller',
      port: 9094,
      description: 'KRaft controller quorum (TLS)',
      tls: true,
      from: ['cluster'],
      fromRoles: ['kafka'],
    },
  ],
  namenode: [
    { name: 'namenode-rpc', port: 8020, description: 'HDFS NameNode RPC', tls: false, from: ['cluster'] },
    { name: 'namenode-http', port: 9870, description: 'NameNode web UI', tls: false, from: ['cluster'] },
  ],
  datanode: [
    { name: 'datanode-transfer', port: 9866, description: 'DataNode block transfer', tls: false, from: ['cluster'] },
    { name: 'datanode-ipc', port: 9867, description: 'DataNode IPC', tls: false, from: ['cluster'] },
    { name: 'datanode-http', port: 9864, description: 'DataNode web UI', tls: false, from: ['cluster'] },
  ],
  kms: [{ name: 'kms-http', port: 9600, description: 'Hadoop KMS REST API', tls: false, from: ['cluster'] }],
  'spark-master': [
    { name: 'spark-master-rpc', port: 7077, description: 'Spark master RPC', tls: false, from: ['cluster'] },
    { name: 'spark-master-ui', port: 8080, description: 'Spark master web UI', tls: false, from: ['cluster'] },
  ],
  'spark-worker': [
    { name: 'spark-worker-rpc', port: 7078, description: 'Spark worker RPC', tls: false, from: ['cluster'] },
    { name: 'spark-worker-ui', port: 8081, description: 'Spark worker web UI', tls: false, from: ['cluster'] },
    {
      name: 'spark-app',
      port: 7100,
      toPort: 7199,
      description: 'Spark driver, executor and block manager ports',
      tls: false,
      from: ['cluster'],
      fromRoles: ['spark-master', 'spark-worker'],
    },
  ],
};

export function portsFor(roles: readonly Role[]): PortSpec[] {
  return [SSH_PORT, ...roles.flatMap((r) => ROLE_PORTS[r])];
}

export function portNumber(role: Role, name: string): number {
  const spec = ROLE_PORTS[role].find((p) => p.name === name);
  if (!spec) throw new Error(`no port named ${name} for role ${role}`);
  return spec.port;
}
