/**
 * The shape every service module has: install → configure → start → healthCheck, plus the
 * ports it declares. Modelled on flintrock's FlintrockService, but the engine gathers every
 * host's result instead of stopping at the first failure, and every step is idempotent.
 */
import type { Logger } from 'pino';
import type { ClusterConfig } from '../lib/config';
import type { InventoryNode } from '../lib/inventory';
import type { PortSpec, Role } from '../lib/roles';
import type { KafkaIdentities } from './kafka-identities';
import type { KerberosFacts } from './kerberos/realm';
import type { RemoteHost } from './remote-host';

export type ServiceUser = 'kafka' | 'hdfs' | 'spark' | 'prometheus';
/** Every component millrace installs; a new one must be handled wherever a Record<ComponentName, …> is. */
export const COMPONENTS = ['kafka', 'hadoop', 'spark'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** A file the provisioner keeps in place; `restarts` names the units a change to it restarts. */
export interface FileSpec {
  path: string;
  content: string;
  mode: number;
  owner: string;
  restarts: string[];
  /** Holds a secret: never logged or diffed. */
  secret?: boolean;
  /**
   * The digest of the part of the file that the `restarts` units read, when they read less than
   * all of it (see withRestartDigest): a change elsewhere in the file restarts nothing.
   */
  restartDigest?: string;
}

/**
 * A Java keystore made on the node from PEM files that the provisioner put there: Hadoop's and
 * Spark's HTTPS servers need one, and keytool/openssl are on every node. Rebuilt only when its
 * inputs change, so a second `up` restarts nothing.
 */
export interface KeyStoreSpec {
  path: string;
  /** pkcs12: a private key with its certificate chain; truststore: the cluster CA (JKS). */
  kind: 'pkcs12' | 'truststore';
  /** pkcs12: PEM with the key then the chain; truststore: the CA PEM. */
  pemPath: string;
  passwordPath: string;
  owner: string;
  restarts: string[];
  /** The key's alias in a pkcs12 store; "millrace" unless set. */
  alias?: string;
}

export interface DirSpec {
  path: string;
  mode: string;
  owner: string;
}

/** Cluster-wide facts every service's plan needs, computed once from config + inventory. */
export interface ClusterFacts {
  config: ClusterConfig;
  nodes: InventoryNode[];
  kafkaNodes: InventoryNode[];
  namenode: InventoryNode;
  datanodes: InventoryNode[];
  kms?: InventoryNode;
  sparkMaster?: InventoryNode;
  sparkWorkers: InventoryNode[];
  /** Stable KRaft cluster id (base64 UUID), kept in the state directory. */
  kafkaClusterId: string;
  /** Each kafka node's KRaft node.id and the controller quorum, kept in the state directory (kafka-identities.ts). */
  kafkaIdentities: KafkaIdentities;
  /** Where components live on hosts: /opt/millrace/<component>/current. */
  home: Record<ComponentName, string>;
  /**
   * TLS material per node name: PEM chain, PKCS#8 key, CA. The node's own identity (OU=node, for
   * HDFS and the KMS), and on the nodes that run them Kafka's broker identity and Spark's.
   */
  tls: Record<string, NodeTls>;
  memory: MemorySettings;
  /** The pipeline principal's Kafka client certificate, for Spark applications. */
  pipelineClient: { certPem: string; keyPem: string; caPem: string };
  /** Generated once per cluster, kept 0600 in the state directory, delivered only to nodes. */
  secrets: ClusterSecrets;
  /** From the environment of the `up` that runs: monitoring.alerts.email's SMTP password, never stored. */
  alertSecrets?: { smtpPassword?: string };
  /** monitoring.alerts.email.ca's certificates (PEM), read when `up` runs. */
  smtpCa?: string;
  /** Set when kerberos.enabled: the realm and the KDC's node. */
  kerberos?: KerberosFacts;
}

export interface TlsPem {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export interface NodeTls extends TlsPem {
  /** CN=<node>,OU=kafka-broker: only on kafka nodes. */
  kafka?: TlsPem;
  /** CN=<node>,OU=spark: only on Spark nodes; no Kafka rights. */
  spark?: TlsPem;
}

export interface ClusterSecrets {
  /** Password of the KMS's own key store (the encryption keys of the zones). */
  kmsKeystorePassword: string;
  /** spark.authenticate.secret: every Spark daemon and application shares it. */
  sparkAuthSecret: string;
  /**
   * Password of every Spark node's keystore and RPC truststore (each holds its own node's key). One
   * for the cluster, like the Spark secret beside it in spark-defaults.conf: an application's TLS
   * settings are the driver's, which it hands its executors on every node.
   */
  sparkKeystorePassword: string;
  /** Per node: passwords of the keystores made on it. */
  nodes: Record<string, { keystorePassword: string; truststorePassword: string }>;
}

export interface MemorySettings {
  kafkaHeap: string;
  namenodeHeap: string;
  datanodeHeap: string;
  kmsHeap: string;
  sparkDaemonHeap: string;
  /** Memory and cores a Spark worker offers to executors. */
  sparkWorkerMemory: string;
  sparkWorkerCores: number;
}

export interface NodeContext {
  cluster: ClusterFacts;
  node: InventoryNode;
  /**
   * The caller's SSH connections to the other nodes, by node name, where it holds them. A check
   * that needs another node's answer asks on that node: e.g. the Spark master's status, whose web
   * UI the flow table opens to the operator and the master's own node only (lib/flows.ts).
   */
  peers?: ReadonlyMap<string, RemoteHost>;
  /**
   * In post-start: waits until this `up`'s rolling restarts are over on every node, and says which
   * were done (e.g. the Spark node's delegation tokens come from the NameNode and the KMS once
   * they run this up's config). Absent outside `up`.
   */
  restartsDone?: () => Promise<readonly RestartDone[]>;
}

/** A restart done in this `up`. */
export interface RestartDone {
  node: string;
  serviceId: string;
}

/** What a service's beforeStop did. */
export interface BeforeStopNote {
  message: string;
  /** It could not do what it meant to (e.g. the decommission was not confirmed); the stop went on. */
  warn?: boolean;
}

export interface StepOutcome {
  changed: boolean;
  detail?: string;
}

export interface HealthReport {
  healthy: boolean;
  /** One line per check, e.g. "port 9093 open", "TLS handshake verified". */
  checks: { name: string; ok: boolean; detail: string }[];
}

export interface Service {
  readonly id: string;
  /** The role that puts it on a node; every-node for what every node runs (the node exporter). */
  readonly role: Role | 'every-node';
  /** systemd unit name, e.g. millrace-kafka.service */
  readonly unit: string;
  /** The user it runs as; root only for a system daemon from the OS's packages (the KDC). */
  readonly user: ServiceUser | 'root';
  /** The millrace-installed component it runs from; none for a service from the OS's packages. */
  readonly component?: ComponentName;
  /** OS packages it needs beyond every node's base set. */
  readonly packages?: { apt: string[]; dnf: string[] };
  readonly ports: PortSpec[];
  /**
   * Units of the OS's packages that this service takes the place of (Debian's own prometheus
   * units): `up` masks them before the service's initialize. One that runs when `up` starts is the host's own, and `up`
   * stops at once, before any change, unless monitoring.replaceExisting lets it go.
   */
  readonly replaces?: string[];
  /** Pure: directories this service needs on the node. */
  directories(ctx: NodeContext): DirSpec[];
  /** Pure: rendered config files, launcher and unit for this node. */
  files(ctx: NodeContext): FileSpec[];
  /** Pure: keystores made on the node from the PEM files above. */
  keyStores?(ctx: NodeContext): KeyStoreSpec[];
  /** One-time setup before the first start (e.g. formatting storage). Checks before it changes. */
  initialize?(host: RemoteHost, ctx: NodeContext, log: Logger): Promise<StepOutcome>;
  /**
   * Setup that needs the service running and healthy (HDFS directories, an encryption zone).
   * Runs after the health check on every `up`; checks before it changes.
   */
  postStart?(host: RemoteHost, ctx: NodeContext, log: Logger): Promise<StepOutcome>;
  /** Protocol-level check, run on the node over SSH. */
  healthCheck(host: RemoteHost, ctx: NodeContext): Promise<HealthReport>;
  /**
   * Just before the running service is stopped: for a rolling restart, or because its role leaves
   * the node (Spark's worker: decommissioned, so that the master stops launching executors on it).
   * What it did, if anything; `warn` when it could not do what it meant to and went on anyway.
   */
  beforeStop?(host: RemoteHost, ctx: NodeContext): Promise<BeforeStopNote | undefined>;
  /**
   * After a restart, whether the cluster has caught up with this node again (Kafka: no
   * under-replicated partitions). A rolling restart waits for it before it restarts the same
   * service on the next node.
   */
  settled?(host: RemoteHost, ctx: NodeContext): Promise<{ ok: boolean; detail: string }>;
  /** The security state `status` reports: listener protocols, the encryption zone, Spark auth. */
  securityChecks?(host: RemoteHost, ctx: NodeContext): Promise<HealthReport['checks']>;
}
