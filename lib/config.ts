import * as net from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors';
import { criticalOverride, OverrideService } from './overrides';
import { reservedNodeName } from './principals';
import { looksLikePublicKey, publicKeyProblem } from './ssh-keys';
import { ROLES, Role } from './roles';
import { dropEmptySections, hostAddress, hostAddressProblem, issueAdder, oneOf, parseYaml, readDocument, SchemaDocument, validateDocument } from './schema';
import { DEFAULT_VERSIONS, KNOWN_VERSIONS } from './versions';

/** The libraries millrace's producers can use (kafka.client): producers/kafka-client.ts and kafka-client-librdkafka.ts. */
export const KAFKA_CLIENTS = ['auto', 'kafkajs', 'librdkafka'] as const;

export const TARGETS = ['aws', 'static', 'local'] as const;
export type Target = (typeof TARGETS)[number];

const NODE_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
export const CLUSTER_NAME = /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/;
const LOCAL_BASE_ADDRESS = 11;
/** The last automatic local address: 127.0.0.254. */
const LOCAL_LAST_ADDRESS = 254;
/** How many local nodes get an automatic address (127.0.0.11 to 127.0.0.254). */
export const MAX_AUTO_LOCAL_NODES = LOCAL_LAST_ADDRESS - LOCAL_BASE_ADDRESS + 1;
const LOGIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const LOGIN_USER_MESSAGE = 'must be a Unix user name (a-z, 0-9, _, -; starting with a letter or _)';
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
/**
 * An EC2 instance type: family letters, generation digits, optional attribute letters or a
 * dashed qualifier (m7i-flex, u7i-12tb, mac2-m2pro), '.', a size (nano … 48xlarge, metal,
 * metal-48xl); or a high-memory u-6tb1.
 */
export const EC2_INSTANCE_TYPE = /^(?:u-\d+tb\d+|[a-z]+\d+[a-z]*(?:-[a-z0-9]+)*)\.(?:nano|micro|small|medium|large|xlarge|\d+xlarge|metal(?:-\d+xl)?)$/;
const DEFAULT_INSTANCE_TYPE = 't3.large';
/** Property names as Kafka, Hadoop and Spark write them: spark.executor.memory, dfs.replication. */
const PROPERTY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The user cloud-init creates on the nodes millrace boots (aws, local), with the operator's key
 * and passwordless sudo, and the user millrace logs in as there. `admin`, as on Debian's EC2
 * images; ssh.user names another.
 */
export const DEFAULT_LOGIN_USER = 'admin';

export function bootedNodeUser(config: Pick<ClusterConfig, 'ssh'>): string {
  return config.ssh.user ?? DEFAULT_LOGIN_USER;
}

/** A character that ends or breaks a line of a properties file, or another control character (C0, DEL, C1). */
const CONTROL_CHARACTER = /[\0-\x1f\x7f-\x9f\u2028\u2029]/;

/** A string quoted as JSON, with C1 controls and Unicode line separators escaped as well (JSON.stringify leaves them raw). */
const quoteEscaped = (s: string): string => JSON.stringify(s).replace(/[\x7f-\x9f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const overrides = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .superRefine((props, ctx) => {
    for (const [key, value] of Object.entries(props)) {
      if (CONTROL_CHARACTER.test(key))
        // Said at the section, with the key quoted: a raw line break would split the message itself.
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [],
          message: `the key ${quoteEscaped(key)} holds a line break or another control character`,
          params: { hint: 'a property name is one word of letters, digits, ".", "_" and "-", e.g. log.retention.hours' },
        });
      else if (!PROPERTY_NAME.test(key))
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `"${key}" is not a property name`, params: { hint: 'write the property as the component names it, e.g. log.retention.hours' } });
      if (typeof value === 'string' && CONTROL_CHARACTER.test(value))
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: CONTROL_CHARACTER.test(key) ? [] : [key], message: 'holds a line break or another control character', params: { hint: 'a property value is one line of text' } });
      else if (typeof value === 'string' && /(^|[^\\])(\\\\)*\\$/.test(value))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [key],
          message: 'ends with a backslash, which in a properties file joins the next line to this value (dropping the property written there)',
          params: { hint: 'remove the trailing backslash, or double it (\\\\) for a literal one' },
        });
    }
  })
  .default({})
  .describe('Properties merged last into the rendered config file, e.g. log.retention.hours: 72');

/**
 * A section's overrides and the security-critical keys among them it acknowledges (`unsafe`):
 * a critical key must be acknowledged by its exact name, and an acknowledgement must name a
 * critical key the section overrides.
 */
function overrideSection<Extra extends z.ZodRawShape = Record<never, never>>(service: OverrideService, what: string, extra?: Extra) {
  return z
    .object({
      ...(extra ?? ({} as Extra)),
      overrides,
      unsafe: z
        .array(z.string())
        .default([])
        .describe(
          `Override keys that weaken a security promise, acknowledged by their exact names, e.g. [${service === 'kafka' ? 'allow.everyone.if.no.acl.found' : service === 'spark' ? 'spark.ui.killEnabled' : 'dfs.permissions.enabled'}]: \`up\` then warns and \`millrace verify\` fails naming them`,
        ),
    })
    .strict()
    .superRefine((parsed, ctx) => {
      const issue = issueAdder(ctx);
      const section = parsed as { overrides: Record<string, unknown>; unsafe: string[] };
      const acknowledged = new Set(section.unsafe);
      for (const key of Object.keys(section.overrides)) {
        const critical = criticalOverride(service, key);
        if (critical && !acknowledged.has(key))
          issue(
            ['overrides', key],
            `${quoteEscaped(key)} is security-critical: ${critical.why}`,
            `remove it; or, to accept the risk, acknowledge it with "${service}.unsafe: [${key}]" (up then warns, and \`millrace verify\` fails naming it for as long as it is set)`,
          );
      }
      section.unsafe.forEach((key, i) => {
        if (section.unsafe.indexOf(key) !== i) issue(['unsafe', i], `${quoteEscaped(key)} is listed twice`, `list it once`);
        else if (!(key in section.overrides)) issue(['unsafe', i], `${quoteEscaped(key)} is not set in ${service}.overrides`, `remove it from ${service}.unsafe, or set the override it acknowledges`);
        else if (!criticalOverride(service, key))
          issue(['unsafe', i], `${quoteEscaped(key)} is not a security-critical key, so it needs no acknowledgement`, `remove it from ${service}.unsafe; the override applies without it`);
      });
    })
    .default({} as never)
    .describe(what);
}
const loginUser = (what: string) => z.string().regex(LOGIN_USER, LOGIN_USER_MESSAGE).describe(`${what}: a Unix user name, e.g. admin`);

const nodeSchema = z
  .object({
    name: z.string().regex(NODE_NAME, 'must be a lowercase DNS label (a-z, 0-9, -), 2 to 32 characters').describe('Node name: a lowercase DNS label, 2 to 32 characters, e.g. kafka-1'),
    roles: z
      .array(oneOf(ROLES))
      .min(1, 'a node needs at least one role')
      .describe(`The services this node runs, e.g. [kafka]: ${ROLES.join(', ')}`),
    instanceType: z
      .string()
      .regex(EC2_INSTANCE_TYPE, 'is not an EC2 instance type')
      .optional()
      .describe('aws: the EC2 instance type of this node, family + generation + size, e.g. t3.large, m7i.2xlarge (default aws.instanceType)'),
    address: hostAddress()
      .optional()
      .describe('Address SSH reaches and services bind to: static nodes need one (IPv4 or host name); local nodes default to 127.0.0.11, .12, ... by position; aws nodes get theirs from EC2'),
    /** Where clients outside the cluster network reach this node, NAT'd to `address`. */
    publicAddress: hostAddress()
      .optional()
      .describe("static/local: where clients outside the cluster network reach this node, NAT'd to address, e.g. 203.0.113.10"),
    user: loginUser('static: the user millrace logs in as on this node (root, or one with passwordless sudo)').optional(),
    privateKeyPath: z.string().min(1, 'must not be empty').optional().describe('static: the private key for this node, e.g. ~/.ssh/id_ed25519 (default ssh.privateKeyPath)'),
  })
  .strict()
  .describe('A node: its name, roles and (static) address');

const stateSchema = z
  .discriminatedUnion('backend', [
    z.object({ backend: z.literal('local').describe('local: the Terraform state stays in the cluster state directory') }).strict(),
    z
      .object({
        backend: z.literal('s3').describe('s3: the Terraform state lives in an S3 bucket'),
        bucket: z
          .string()
          .regex(/^(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not an S3 bucket name')
          .describe('S3 bucket name: 3 to 63 of a-z, 0-9, ".", "-", e.g. my-terraform-state'),
        key: z
          .string()
          .regex(/^[^/\s][^\s]*$/, 'must be an object key without spaces or a leading "/"')
          .default('millrace/terraform.tfstate')
          .describe('Object key of the state file, e.g. millrace/demo.tfstate'),
        region: z.string().regex(AWS_REGION, 'must be an AWS region such as eu-west-1').optional().describe('Region of the bucket, e.g. eu-west-1 (default aws.region)'),
        dynamodbTable: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'is not a DynamoDB table name')
          .optional()
          .describe('DynamoDB table for state locking: 3 to 255 of A-Z, a-z, 0-9, "_", ".", "-", e.g. terraform-locks'),
      })
      .strict(),
  ])
  .describe('Where Terraform keeps its state: { backend: local } or { backend: s3, bucket: ... }');

const awsSchema = z
  .object({
    region: z.string().regex(AWS_REGION, 'must be an AWS region such as eu-west-1').default('us-east-1').describe('AWS region, e.g. eu-west-1'),
    availabilityZone: z
      .string()
      .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d(-[a-z]+-\d)?[a-z]$/, 'must be an availability zone such as us-east-1a')
      .optional()
      .describe('Availability zone in aws.region, e.g. us-east-1a'),
    vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, 'must look like vpc-0123abcd').optional().describe('An existing VPC to use instead of creating one, e.g. vpc-0123abcd (needs subnetId)'),
    subnetId: z.string().regex(/^subnet-[0-9a-f]+$/, 'must look like subnet-0123abcd').optional().describe('A public subnet of vpcId, e.g. subnet-0123abcd'),
    vpcCidr: z.string().default('10.42.0.0/16').describe('IPv4 CIDR of the VPC millrace creates, /16 to /28, e.g. 10.42.0.0/16'),
    subnetCidr: z.string().default('10.42.1.0/24').describe('IPv4 CIDR of its subnet, inside vpcCidr, e.g. 10.42.1.0/24'),
    ami: z.string().regex(/^ami-[0-9a-f]+$/, 'must look like ami-0123abcd').optional().describe('A specific AMI, e.g. ami-0123abcd (default: the newest image of amiFamily)'),
    amiFamily: z.enum(['debian-12', 'ubuntu-24.04']).default('debian-12').describe('The image family: debian-12 (tested) or ubuntu-24.04'),
    instanceType: z
      .string()
      .regex(EC2_INSTANCE_TYPE, 'is not an EC2 instance type')
      .default(DEFAULT_INSTANCE_TYPE)
      .describe('EC2 instance type of nodes without their own, family + generation + size, e.g. t3.large, m7i.2xlarge'),
    rootVolumeGb: z.number().int().min(8).max(16384).default(30).describe('Root volume size in GiB, 8 to 16384'),
    dataVolumeGb: z.number().int().min(8).max(16384).default(100).describe('Data volume size in GiB (mounted at /var/lib/millrace), 8 to 16384'),
    state: stateSchema.default({ backend: 'local' }),
    flowLogs: z
      .boolean()
      .default(false)
      .describe("true records the VPC's flow logs (accepted and rejected traffic) in CloudWatch Logs, kept a year, encrypted with the cluster key"),
    bastion: z
      .boolean()
      .default(false)
      .describe('true reaches the nodes over SSH through a bastion host: only it and the kafka nodes get a public IP; the other nodes go to a private subnet behind a NAT gateway'),
    bastionInstanceType: z.string().regex(EC2_INSTANCE_TYPE, 'is not an EC2 instance type').default('t3.micro').describe('EC2 instance type of the bastion, e.g. t3.micro'),
    privateSubnetCidr: z.string().default('10.42.2.0/24').describe('With bastion: IPv4 CIDR of the private subnet millrace creates, inside vpcCidr, e.g. 10.42.2.0/24'),
    privateSubnetId: z
      .string()
      .regex(/^subnet-[0-9a-f]+$/, 'must look like subnet-0123abcd')
      .optional()
      .describe('With bastion and an existing vpcId: a private subnet of that VPC whose default route is a NAT gateway, e.g. subnet-0123abcd'),
  })
  .strict()
  .describe('aws target only: region, network and instances');

const versionsSchema = z
  .object({
    kafka: oneOf(KNOWN_VERSIONS.kafka, { what: 'kafka version' }).default(DEFAULT_VERSIONS.kafka).describe(`Kafka version: ${KNOWN_VERSIONS.kafka.join(', ')}`),
    spark: oneOf(KNOWN_VERSIONS.spark, { what: 'spark version' }).default(DEFAULT_VERSIONS.spark).describe(`Spark version: ${KNOWN_VERSIONS.spark.join(', ')}`),
    hadoop: oneOf(KNOWN_VERSIONS.hadoop, { what: 'hadoop version' }).default(DEFAULT_VERSIONS.hadoop).describe(`Hadoop version: ${KNOWN_VERSIONS.hadoop.join(', ')}`),
    java: oneOf(KNOWN_VERSIONS.java, { what: 'java version', coerceNumbers: true }).default(DEFAULT_VERSIONS.java).describe(`Java version: ${KNOWN_VERSIONS.java.join(', ')}`),
  })
  .strict()
  .describe('Component versions millrace installs');

const mirror = (what: string, example: string) => z.string().url('is not a URL').default(example).describe(`${what}: an https URL, e.g. ${example}`);

const artifactsSchema = z
  .object({
    source: z
      .enum(['apache', 'maven'])
      // maven is the default because every file of it is pinned in the artifact lock; the Apache
      // tarballs' SHA-512s and release keys are not pinned yet, so that source refuses them.
      .default('maven')
      .describe('maven (default): Maven Central plus PyPI (SHA-256 of every file pinned in the artifact lock); apache: the Apache release archive (SHA-512 pinned in the artifact lock, OpenPGP signature by a pinned key; refuses releases whose digest is not pinned yet)'),
    apacheMirror: mirror('The Apache release archive or a mirror of it', 'https://archive.apache.org/dist'),
    mavenRepository: mirror('A Maven repository (Maven Central, or an Artifactory/Nexus mirror)', 'https://repo1.maven.org/maven2'),
    pypiIndex: mirror('A PyPI index (for the pyspark package)', 'https://pypi.org'),
    allowInsecureHttp: z
      .boolean()
      .default(false)
      .describe('true accepts plain http:// mirrors (an internal mirror without TLS): downloads can then be read on the way (the artifact lock still decides what is installed); `up` warns'),
    cacheDir: z.string().min(1, 'must not be empty').optional().describe('Where downloaded artifacts are kept (default: the millrace cache directory)'),
  })
  .strict()
  .describe('Where Kafka, Hadoop and Spark come from');

export const DURATION = /^(\d{1,6})([smhd])$/;

const cidr = (what: string, example: string) => z.string().describe(`${what}: an address and prefix length, e.g. ${example}`);

const baseSchema = z
  .object({
    name: z
      .string()
      .regex(CLUSTER_NAME, 'must be a lowercase DNS label (a-z, 0-9, -), 3 to 32 characters')
      .describe('Cluster name: a lowercase DNS label, 3 to 32 characters, e.g. demo; state lives in ~/.millrace/clusters/<name>/'),
    target: oneOf(TARGETS).default('local').describe('Where the nodes come from: local (systemd-nspawn on this machine), static (existing SSH hosts), aws (EC2)'),
    aws: awsSchema.default({}),
    nodes: z
      .array(nodeSchema)
      .min(1, 'list at least one node')
      .default([
        { name: 'kafka-1', roles: ['kafka'] },
        { name: 'spark-1', roles: ['spark-master', 'spark-worker'] },
        { name: 'hdfs-1', roles: ['namenode', 'datanode', 'kms'] },
      ])
      .describe('The nodes and their roles: exactly one namenode, at least one datanode and one kafka node; spark workers need a spark-master'),
    versions: versionsSchema.default({}),
    network: z
      .object({
        sshCidr: cidr('CIDR allowed to reach SSH (aws: your public IP), never 0.0.0.0/0', '203.0.113.7/32').default('127.0.0.1/32'),
        kafkaClientCidrs: z.array(cidr('CIDR allowed to reach the Kafka TLS ports from outside the cluster', '203.0.113.0/24')).default([]).describe('CIDRs allowed to reach Kafka from outside the cluster (aws security groups)'),
      })
      .strict()
      .default({})
      .describe('Who may reach the cluster'),
    ssh: z
      .object({
        publicKey: z.string().min(1, 'must not be empty').optional().describe('A public key, or the path of a .pub file, e.g. ~/.ssh/id_ed25519.pub (needs privateKeyPath)'),
        privateKeyPath: z.string().min(1, 'must not be empty').optional().describe('The private key millrace logs in with, e.g. ~/.ssh/id_ed25519 (left out: millrace generates a key pair)'),
        user: loginUser('aws/local: the user cloud-init creates (default admin, never root); static: root or a user with passwordless sudo').optional(),
        jumpHost: z
          .object({
            address: hostAddress().describe('Address of the jump host SSH goes through, e.g. 198.51.100.20 or bastion.example.com'),
            port: z.number().int().min(1).max(65535).default(22).describe('Its SSH port (default 22)'),
            user: loginUser('The user to log in to the jump host as (default: ssh.user, else root)').optional(),
          })
          .strict()
          .optional()
          .describe('static: reach the nodes through this SSH jump host (ProxyJump), with the same key as the nodes (aws: use aws.bastion)'),
      })
      .strict()
      .default({})
      .describe('How millrace logs in to the nodes'),
    artifacts: artifactsSchema.default({}),
    kerberos: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Kerberos for HDFS and the KMS: a KDC on the kdc node (the namenode\'s unless a node has the kdc role, or an existing KDC with kerberos.kdc), a principal and keytab per service and node, Hadoop RPC and block transfer with privacy. Off: HDFS and the KMS trust the user name a client claims (verify warns)'),
        realm: z
          .string()
          .regex(/^[A-Z0-9][A-Z0-9.-]{0,62}$/, 'must be upper case letters, digits, "." and "-", e.g. DEMO.MILLRACE')
          .optional()
          .describe('The Kerberos realm (default: the cluster name in upper case, then .MILLRACE, e.g. DEMO.MILLRACE)'),
        ticketLifetime: z
          .string()
          .regex(DURATION, 'must be a number and a unit: s, m, h or d, e.g. 10h')
          .default('10h')
          .describe('How long a ticket is valid, e.g. 10h; Spark nodes renew theirs at a third of it. With an existing KDC, its realm\'s policy may cap it'),
        kdc: hostPort(88)
          .optional()
          .describe('An existing MIT KDC to use instead of running one, as host or host:port (default port 88), e.g. kdc.corp.example.com; needs kerberos.realm and kerberos.admin'),
        admin: z
          .object({
            principal: z
              .string()
              .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?(@[A-Z0-9][A-Z0-9.-]*)?$/, 'must be a principal name, e.g. millrace/admin or millrace/admin@CORP.EXAMPLE.COM')
              .describe('The principal millrace administers the existing KDC as (kadmin over the network), e.g. millrace/admin; kadm5.acl must give it "aicm" on the cluster\'s principals'),
            server: hostPort(749).optional().describe('The kadmin server, as host or host:port (default: the KDC\'s host, port 749)'),
            passwordEnv: z
              .string()
              .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name, e.g. MILLRACE_KADMIN_PASSWORD')
              .default('MILLRACE_KADMIN_PASSWORD')
              .describe('The environment variable that holds the admin principal\'s password when `up` runs (never written to disk, a log or a command line)'),
          })
          .strict()
          .optional()
          .describe('With kerberos.kdc: how millrace creates the cluster\'s principals and keytabs there'),
      })
      .strict()
      .default({})
      .describe('Kerberos for HDFS, the KMS and Spark\'s access to them (Kafka stays on mutual TLS)'),
    kafka: overrideSection('kafka', 'Kafka broker properties (server.properties)', {
      client: oneOf(KAFKA_CLIENTS, { what: 'Kafka client' })
        .default('auto')
        .describe(
          "The library millrace's producers use on this machine (`produce`, `demo`): librdkafka (@confluentinc/kafka-javascript, whose native part scripts/setup.sh builds; about 3.5 times kafkajs's throughput) or kafkajs (pure JavaScript). auto, the default: librdkafka where its native part loads, else kafkajs with a warning. Topics, ACLs and consumers use kafkajs either way",
        ),
      controllers: z
        .array(z.string())
        .optional()
        .describe(
          'The KRaft controller quorum: 1 or 3 kafka nodes by name, which run controller and broker combined (the other kafka nodes are brokers only). Chosen when the cluster is first formatted and fixed after; by default the first 3 kafka nodes, or the first one when there are fewer than 3',
        ),
    }),
    hdfs: overrideSection('hdfs', 'HDFS properties (hdfs-site.xml)'),
    spark: overrideSection('spark', 'Spark properties (spark-defaults.conf)'),
    monitoring: z
      .object({
        retention: z
          .string()
          .regex(DURATION, 'must be a number and a unit: s, m, h or d, e.g. 15d')
          .default('15d')
          .describe('How long Prometheus keeps metrics, e.g. 15d or 36h (storage.tsdb.retention.time)'),
        scrapeInterval: z
          .string()
          .regex(DURATION, 'must be a number and a unit: s, m, h or d, e.g. 30s')
          .default('30s')
          .describe('How often Prometheus scrapes every exporter and evaluates the alert rules, e.g. 30s'),
        replaceExisting: z
          .boolean()
          .default(false)
          .describe(
            "Let `up` stop and mask a node's own running prometheus, prometheus-node-exporter or prometheus-alertmanager unit, which millrace's units replace. Without it `up` stops before any change and names them",
          ),
        alerts: z
          .object({
            webhook: z
              .string()
              .url('must be a URL, e.g. https://hooks.example.com/millrace')
              .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
              .optional()
              .describe("Alertmanager POSTs every alert that fires or resolves here (Alertmanager's webhook JSON), e.g. https://hooks.example.com/millrace"),
            email: z
              .object({
                to: z.string().email('must be an email address').describe('Who gets the alerts, e.g. oncall@example.com'),
                from: z.string().email('must be an email address').describe('The sender address, e.g. millrace@example.com'),
                smarthost: hostPort(587).describe('The SMTP server, host:port (default port 587), e.g. smtp.example.com:587'),
                username: z.string().min(1).optional().describe('The SMTP login, when the server wants one'),
                passwordEnv: z
                  .string()
                  .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name, e.g. MILLRACE_SMTP_PASSWORD')
                  .default('MILLRACE_SMTP_PASSWORD')
                  .describe('With username: the environment variable that holds the SMTP password when `up` runs (written only to the monitor node, 0600)'),
                ca: z
                  .string()
                  .min(1, 'must not be empty')
                  .optional()
                  .describe("A PEM file (on this machine) of the CA that signed the SMTP server's certificate, when the monitor node's own CAs do not trust it (a private CA), e.g. ./smtp-ca.pem"),
              })
              .strict()
              .optional()
              .describe('Also send alerts by email through this SMTP server (STARTTLS required)'),
            for: z
              .string()
              .regex(DURATION, 'must be a number and a unit: s, m, h or d, e.g. 1m')
              .default('1m')
              .describe('How long a condition must hold before its alert fires, e.g. 1m'),
            lakeStaleAfter: z
              .string()
              .regex(DURATION, 'must be a number and a unit: s, m, h or d, e.g. 30m')
              .default('30m')
              .describe('LakeStale fires when a running ingest has written no new rows to the lake for this long, e.g. 30m (its input may just be quiet: set it above the longest quiet spell you expect)'),
          })
          .strict()
          .default({})
          .describe('Alertmanager on the monitor node: where alerts go, and how soon they fire'),
      })
      .strict()
      .default({})
      .describe(
        "Prometheus on the monitor node (a node with the monitor role; by default the spark-master's node, else the namenode's) scrapes every node's host metrics and every JVM service's JMX metrics, all over TLS",
      ),
  })
  .strict()
  .describe('millrace cluster config (millrace.yaml)');

export const configSchema = baseSchema.superRefine(crossFieldRules);

type ParsedConfig = z.infer<typeof baseSchema>;
/** A node as the targets see it: its instance type filled from aws.instanceType, a local node's address assigned. */
export type NodeConfig = ParsedConfig['nodes'][number] & { instanceType: string };
export type ClusterConfig = Omit<ParsedConfig, 'nodes'> & { nodes: NodeConfig[] };

type AddIssue = (path: (string | number)[], message: string, hint?: string) => void;

/** The automatic address of the local node at `index`, or undefined past the last one. */
function autoLocalAddress(index: number): string | undefined {
  const last = LOCAL_BASE_ADDRESS + index;
  return last <= LOCAL_LAST_ADDRESS ? `127.0.0.${last}` : undefined;
}

function crossFieldRules(c: ParsedConfig, ctx: z.RefinementCtx): void {
  const issue = issueAdder(ctx);

  const seen = new Map<string, number>();
  c.nodes.forEach((n, i) => {
    const first = seen.get(n.name);
    if (first !== undefined) issue(['nodes', i, 'name'], `duplicate node name "${n.name}" (also nodes[${first}])`, 'give every node a unique name');
    else seen.set(n.name, i);
    const reserved = reservedNodeName(n.name);
    if (reserved) issue(['nodes', i, 'name'], reserved, 'give the node another name, e.g. node-1');
    const dupRole = n.roles.find((r, j) => n.roles.indexOf(r) !== j);
    if (dupRole) issue(['nodes', i, 'roles'], `role "${dupRole}" is listed twice`, `list "${dupRole}" once`);
    const addressOk = n.address !== undefined && hostAddressProblem(n.address) === undefined;
    if (c.target === 'static' && n.address === undefined)
      issue(['nodes', i, 'address'], 'a static node needs an address', 'set the host name or IP that SSH reaches');
    if (c.target === 'local' && addressOk && !isLoopback(n.address!))
      issue(['nodes', i, 'address'], `"${n.address}" is not a loopback address`, 'local nodes use addresses in 127.0.0.0/8, e.g. 127.0.0.11');
    if (c.target === 'aws' && n.address !== undefined)
      issue(['nodes', i, 'address'], 'an aws node gets its address from EC2', 'remove address (or use target: static for hosts you already have)');
    if (n.publicAddress !== undefined && hostAddressProblem(n.publicAddress) === undefined) {
      if (c.target === 'aws') issue(['nodes', i, 'publicAddress'], 'an aws node gets its public address from EC2', 'remove publicAddress');
      else if (c.target === 'local' && !isLoopback(n.publicAddress))
        issue(['nodes', i, 'publicAddress'], `"${n.publicAddress}" is not a loopback address`, 'local nodes use addresses in 127.0.0.0/8');
      else if (n.publicAddress === n.address) issue(['nodes', i, 'publicAddress'], 'is the same as address', 'remove publicAddress, or set the address clients outside reach');
    }
    if (c.target !== 'static' && n.user !== undefined)
      issue(['nodes', i, 'user'], `only static nodes take their own user; the ${c.target} target creates one user on every node`, 'remove it, and set ssh.user to name the user for the whole cluster');
    if (c.target !== 'static' && n.privateKeyPath !== undefined)
      issue(['nodes', i, 'privateKeyPath'], `only static nodes take their own key; the ${c.target} target puts one key on every node`, 'remove it, and set ssh.privateKeyPath for the whole cluster');
  });
  addressCollisions(c, issue);

  const count = (role: Role): number => c.nodes.filter((n) => n.roles.includes(role)).length;
  // An unknown role is reported where it stands; the counts below then see only known roles.
  if (count('namenode') !== 1)
    issue(['nodes'], `exactly one node must have the namenode role (found ${count('namenode')})`, count('namenode') === 0 ? 'add "namenode" to the roles of one node' : 'keep "namenode" on one node only');
  if (count('datanode') < 1) issue(['nodes'], 'at least one node must have the datanode role', 'add "datanode" to a node\'s roles');
  if (count('kafka') < 1) issue(['nodes'], 'at least one node must have the kafka role', 'add "kafka" to a node\'s roles');
  const controllers = c.kafka.controllers;
  if (controllers) {
    const kafkaNodes = c.nodes.filter((n) => n.roles.includes('kafka')).map((n) => n.name);
    if (controllers.length !== 1 && controllers.length !== 3)
      issue(['kafka', 'controllers'], `names ${controllers.length} voter${controllers.length === 1 ? '' : 's'}; a KRaft quorum here has 1 or 3`, 'name 3 kafka nodes (the quorum then survives one failure), or 1');
    controllers.forEach((name, i) => {
      if (controllers.indexOf(name) !== i) issue(['kafka', 'controllers', i], `"${name}" is listed twice`, 'list each voter once');
      else if (!kafkaNodes.includes(name))
        issue(['kafka', 'controllers', i], `"${name}" is not a kafka node`, `name nodes with the kafka role: ${kafkaNodes.join(', ') || 'none yet'}`);
    });
  }
  if (count('spark-worker') > 0 && count('spark-master') !== 1)
    issue(['nodes'], `spark workers need exactly one spark-master (found ${count('spark-master')})`, count('spark-master') === 0 ? 'add "spark-master" to the roles of one node' : 'keep "spark-master" on one node only');
  if (count('kms') > 1) issue(['nodes'], `at most one node may have the kms role (found ${count('kms')})`, 'keep "kms" on one node only (usually the namenode\'s)');
  if (count('kdc') > 1) issue(['nodes'], `at most one node may have the kdc role (found ${count('kdc')})`, 'keep "kdc" on one node only (by default the namenode\'s has it)');
  if (count('monitor') > 1) issue(['nodes'], `at most one node may have the monitor role (found ${count('monitor')})`, 'keep "monitor" on one node only (by default the spark-master\'s has it)');
  if (count('kdc') > 0 && !c.kerberos.enabled)
    issue(['nodes'], 'a node has the kdc role but kerberos.enabled is false', 'set kerberos.enabled: true, or remove "kdc" from the node\'s roles');
  if (c.kerberos.kdc !== undefined && !c.kerberos.enabled)
    issue(['kerberos', 'kdc'], 'names an existing KDC, but kerberos.enabled is false', 'set kerberos.enabled: true to use it, or remove kerberos.kdc and kerberos.admin');
  else if (c.kerberos.kdc !== undefined) {
    if (count('kdc') > 0)
      issue(['nodes'], 'a node has the kdc role, but kerberos.kdc names an existing KDC', 'remove "kdc" from the node\'s roles to use the existing KDC, or remove kerberos.kdc to let millrace run one');
    if (c.kerberos.realm === undefined) issue(['kerberos', 'realm'], 'an existing KDC (kerberos.kdc) needs its realm named', 'set kerberos.realm to the realm of that KDC, e.g. CORP.EXAMPLE.COM');
    if (c.kerberos.admin === undefined)
      issue(['kerberos', 'admin'], 'an existing KDC (kerberos.kdc) needs an admin principal for the cluster\'s principals and keytabs', 'set kerberos.admin.principal, e.g. millrace/admin, and put its password in $MILLRACE_KADMIN_PASSWORD when you run `up`');
    if (c.target === 'aws') {
      for (const [path, value] of [[['kerberos', 'kdc'], c.kerberos.kdc], [['kerberos', 'admin', 'server'], c.kerberos.admin?.server]] as const)
        if (value !== undefined && !net.isIPv4(splitHostPort(value, 0).host))
          issue([...path], `"${value}" is a host name; the aws target opens the nodes' security groups to the KDC by address`, 'give its IPv4 address, e.g. 10.20.0.5 or 10.20.0.5:88');
    }
  } else if (c.kerberos.admin !== undefined) issue(['kerberos', 'admin'], 'is only used with an existing KDC (kerberos.kdc)', 'remove it, or set kerberos.kdc to the existing KDC');
  if (c.kerberos.enabled && DURATION.test(c.kerberos.ticketLifetime) && durationSeconds(c.kerberos.ticketLifetime) < 120)
    issue(['kerberos', 'ticketLifetime'], `${c.kerberos.ticketLifetime} is shorter than 2 minutes`, 'use at least 2m (10h is usual)');

  checkCidr(c.network.sshCidr, ['network', 'sshCidr'], issue);
  c.network.kafkaClientCidrs.forEach((cidr, i) => checkCidr(cidr, ['network', 'kafkaClientCidrs', i], issue));
  checkVpcCidrs(c.aws, issue);
  if (c.aws.availabilityZone !== undefined && AWS_REGION.test(c.aws.region) && !c.aws.availabilityZone.startsWith(c.aws.region))
    issue(['aws', 'availabilityZone'], `"${c.aws.availabilityZone}" is not in aws.region ${c.aws.region}`, `use a zone of ${c.aws.region}, e.g. ${c.aws.region}a, or change aws.region`);
  if (c.aws.vpcId && !c.aws.subnetId) issue(['aws', 'subnetId'], 'an existing vpcId needs a subnetId too', 'set aws.subnetId to a public subnet in that VPC');
  if (c.aws.subnetId && !c.aws.vpcId) issue(['aws', 'vpcId'], 'a subnetId needs the vpcId it belongs to', 'set aws.vpcId to the VPC of that subnet');
  if (c.aws.bastion && c.aws.vpcId && !c.aws.privateSubnetId)
    issue(['aws', 'privateSubnetId'], 'an existing vpcId with bastion: true needs a private subnet for the nodes that get no public IP', 'set aws.privateSubnetId to a subnet of that VPC whose default route is a NAT gateway, or set aws.bastion: false');
  if (c.aws.privateSubnetId && !(c.aws.bastion && c.aws.vpcId))
    issue(['aws', 'privateSubnetId'], 'is only used with aws.bastion: true and an existing aws.vpcId', 'remove it, or set aws.bastion: true with aws.vpcId and aws.subnetId');
  if (c.ssh.jumpHost && c.target !== 'static')
    issue(['ssh', 'jumpHost'], `only the static target takes a jump host; the ${c.target} target ${c.target === 'aws' ? 'makes its own with aws.bastion' : 'reaches its nodes directly'}`, c.target === 'aws' ? 'remove ssh.jumpHost and set aws.bastion: true' : 'remove ssh.jumpHost');
  checkMirrors(c.artifacts, issue);
  if (c.ssh.publicKey !== undefined && looksLikePublicKey(c.ssh.publicKey)) {
    const problem = publicKeyProblem(c.ssh.publicKey);
    if (problem) issue(['ssh', 'publicKey'], problem, 'paste the whole line of your .pub file, or give its path, or remove ssh.publicKey and ssh.privateKeyPath to let millrace generate a key pair');
  }
  if (c.ssh.publicKey !== undefined && c.ssh.privateKeyPath === undefined)
    issue(['ssh', 'privateKeyPath'], 'is needed with ssh.publicKey: millrace logs in with the private half', 'set it, or remove ssh.publicKey to let millrace generate a key pair for the cluster');
  if ((c.target === 'aws' || c.target === 'local') && c.ssh.user === 'root')
    issue(['ssh', 'user'], `the ${c.target} target's nodes refuse root logins`, `remove ssh.user to log in as "${DEFAULT_LOGIN_USER}" (passwordless sudo), or name another user for cloud-init to create`);
  if (c.target === 'aws' && c.network.sshCidr === '127.0.0.1/32')
    issue(['network', 'sshCidr'], 'the aws target needs the operator\'s public CIDR for SSH', 'set network.sshCidr to your IP, e.g. 203.0.113.7/32');
}

/**
 * Every node needs its own address and public address (static, local): two nodes on one address
 * would be one host with two names. A local node without an address gets 127.0.0.11 + its
 * position, so an explicit address can collide with an automatic one, and the automatic ones end
 * at 127.0.0.254.
 */
function addressCollisions(c: ParsedConfig, issue: AddIssue): void {
  if (c.target === 'aws') return;
  if (c.target === 'local') {
    const overflow = c.nodes.findIndex((n, i) => n.address === undefined && autoLocalAddress(i) === undefined);
    if (overflow >= 0)
      issue(
        ['nodes'],
        `${c.nodes.length} local nodes are too many for automatic addresses: nodes[${overflow}] would get 127.0.0.${LOCAL_BASE_ADDRESS + overflow}`,
        `at most ${MAX_AUTO_LOCAL_NODES} local nodes get an automatic address (127.0.0.${LOCAL_BASE_ADDRESS} to 127.0.0.${LOCAL_LAST_ADDRESS}); use fewer nodes, or set address on nodes[${overflow}] and after`,
      );
  }
  interface Claim {
    index: number;
    field: 'address' | 'publicAddress';
    value: string;
    auto: boolean;
  }
  // Explicit addresses first, so a collision with an automatic one is reported at the explicit one.
  const claims: Claim[] = [
    ...c.nodes.map((n, index): Claim | undefined => (n.address === undefined ? undefined : { index, field: 'address', value: n.address, auto: false })),
    ...c.nodes.map((n, index): Claim | undefined => {
      const auto = c.target === 'local' && n.address === undefined ? autoLocalAddress(index) : undefined;
      return auto === undefined ? undefined : { index, field: 'address', value: auto, auto: true };
    }),
    ...c.nodes.map((n, index): Claim | undefined => (n.publicAddress === undefined ? undefined : { index, field: 'publicAddress', value: n.publicAddress, auto: false })),
  ].filter((x): x is Claim => x !== undefined && hostAddressProblem(x.value) === undefined);
  const owners = new Map<string, Claim>();
  const autoHint = `local nodes without an address get 127.0.0.${LOCAL_BASE_ADDRESS}, .${LOCAL_BASE_ADDRESS + 1}, ... by position; pick an address past 127.0.0.${LOCAL_BASE_ADDRESS + c.nodes.length - 1}, or set every node's address`;
  for (const claim of claims) {
    const key = claim.value.toLowerCase().replace(/\.$/, '');
    const owner = owners.get(key);
    if (owner === undefined) {
      owners.set(key, claim);
      continue;
    }
    if (owner.index === claim.index) continue; // address == publicAddress of one node: reported with that node
    if (claim.auto)
      issue(['nodes', owner.index, owner.field], `"${claim.value}" is also the automatic address of nodes[${claim.index}] (127.0.0.${LOCAL_BASE_ADDRESS} + its position)`, autoHint);
    else if (owner.auto) issue(['nodes', claim.index, claim.field], `"${claim.value}" is also the automatic address of nodes[${owner.index}]`, autoHint);
    else issue(['nodes', claim.index, claim.field], `"${claim.value}" is also nodes[${owner.index}].${owner.field}`, 'give every node its own address');
  }
}

/** An IPv4 CIDR as numbers, or undefined when it is not one. */
function ipv4Cidr(value: string): { base: number; bits: number } | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(value);
  if (!m || !net.isIPv4(m[1]!) || Number(m[2]) > 32) return undefined;
  const base = m[1]!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return { base, bits: Number(m[2]) };
}

const networkOf = (c: { base: number; bits: number }): number => (c.bits === 0 ? 0 : c.base - (c.base % 2 ** (32 - c.bits)));
const dotted = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The broadest CIDRs SSH and client access take: wider ones are most of the internet. */
export const MIN_IPV4_PREFIX = 8;
export const MIN_IPV6_PREFIX = 32;

function checkCidr(value: string, path: (string | number)[], issue: AddIssue): void {
  const v4 = ipv4Cidr(value);
  const v6 = /^([0-9a-f:]+)\/(\d{1,3})$/i.exec(value);
  const v6ok = v6 !== null && net.isIPv6(v6[1]!) && Number(v6[2]) <= 128;
  if (!v4 && !v6ok) {
    issue(path, `"${value}" is not a valid CIDR`, 'write an address and prefix length, e.g. 203.0.113.7/32');
    return;
  }
  const bits = v4 ? v4.bits : Number(v6![2]);
  if (bits === 0) {
    issue(path, `"${value}" opens the port to the whole internet`, 'use the narrowest CIDR that covers your clients, e.g. 203.0.113.7/32');
    return;
  }
  // A few broad halves (0.0.0.0/1 and 128.0.0.0/1) would reopen the internet as well as /0 does.
  const widest = v4 ? MIN_IPV4_PREFIX : MIN_IPV6_PREFIX;
  if (bits < widest) {
    const share = v4 ? `${(2 ** (32 - bits)).toLocaleString('en-US')} addresses, 1/${2 ** bits} of the IPv4 internet` : `1/${(2 ** bits).toLocaleString('en-US')} of the IPv6 internet`;
    issue(
      path,
      `"${value}" is broader than /${widest}: it opens the port to ${share}`,
      `millrace takes prefixes of /${MIN_IPV4_PREFIX} or narrower for IPv4 and /${MIN_IPV6_PREFIX} or narrower for IPv6; list the networks your clients really use, e.g. ${v4 ? '203.0.113.0/24' : '2001:db8:1234::/48'} (several entries are fine)`,
    );
    return;
  }
  if (v4 && networkOf(v4) !== v4.base)
    issue(path, `"${value}" has host bits set after the /${v4.bits} prefix`, `did you mean ${dotted(networkOf(v4))}/${v4.bits}? (or ${value.split('/')[0]}/32 for the one address)`);
}

/** The VPC and subnet millrace creates: IPv4, /16 to /28 (what AWS allows), the subnet inside the VPC. */
function checkVpcCidrs(aws: ParsedConfig['aws'], issue: AddIssue): void {
  const check = (field: 'vpcCidr' | 'subnetCidr' | 'privateSubnetCidr'): { base: number; bits: number } | undefined => {
    const value = aws[field];
    const c = ipv4Cidr(value);
    if (!c) issue(['aws', field], `"${value}" is not a valid IPv4 CIDR`, `write an IPv4 network and prefix length, e.g. ${{ vpcCidr: '10.42.0.0/16', subnetCidr: '10.42.1.0/24', privateSubnetCidr: '10.42.2.0/24' }[field]}`);
    else if (c.bits < 16 || c.bits > 28) issue(['aws', field], `"${value}": AWS takes /16 to /28 for a ${field === 'vpcCidr' ? 'VPC' : 'subnet'}`, 'use a prefix length from 16 to 28');
    else if (networkOf(c) !== c.base) issue(['aws', field], `"${value}" has host bits set after the /${c.bits} prefix`, `did you mean ${dotted(networkOf(c))}/${c.bits}?`);
    else return c;
    return undefined;
  };
  const vpc = check('vpcCidr');
  const subnet = check('subnetCidr');
  const inside = (s: { base: number; bits: number }, v: { base: number; bits: number }) => s.bits >= v.bits && networkOf({ base: s.base, bits: v.bits }) === v.base;
  if (vpc && subnet && !aws.vpcId && !inside(subnet, vpc))
    issue(['aws', 'subnetCidr'], `"${aws.subnetCidr}" is not inside aws.vpcCidr ${aws.vpcCidr}`, `pick a subnet of ${aws.vpcCidr}, e.g. ${dotted(vpc.base)}/${Math.min(28, Math.max(vpc.bits, 24))}`);
  // The private subnet exists only with a bastion in a VPC millrace creates.
  if (!aws.bastion || aws.vpcId) return;
  const priv = check('privateSubnetCidr');
  if (vpc && priv && !inside(priv, vpc))
    issue(['aws', 'privateSubnetCidr'], `"${aws.privateSubnetCidr}" is not inside aws.vpcCidr ${aws.vpcCidr}`, `pick a subnet of ${aws.vpcCidr} that does not overlap aws.subnetCidr ${aws.subnetCidr}`);
  else if (priv && subnet && (inside(priv, subnet) || inside(subnet, priv)))
    issue(['aws', 'privateSubnetCidr'], `"${aws.privateSubnetCidr}" overlaps aws.subnetCidr ${aws.subnetCidr}`, `pick another subnet of ${aws.vpcCidr}, e.g. one next to ${aws.subnetCidr}`);
}

/**
 * Artifacts run as root on every node, so they come over https. A plain-http mirror (an internal
 * one without TLS) needs artifacts.allowInsecureHttp: true, said in the config. Credentials in a
 * URL would reach the logs, so they are refused.
 */
function checkMirrors(a: ParsedConfig['artifacts'], issue: AddIssue): void {
  for (const field of ['apacheMirror', 'mavenRepository', 'pypiIndex'] as const) {
    let url: URL;
    try {
      url = new URL(a[field]);
    } catch {
      continue; // reported by the schema
    }
    if (url.username || url.password)
      issue(['artifacts', field], 'holds a user name or password, which would show in logs', 'use a mirror that allows anonymous reads from the nodes, without credentials in the URL');
    if (url.protocol === 'https:') continue;
    if (url.protocol === 'http:' && a.allowInsecureHttp) continue;
    if (url.protocol === 'http:')
      issue(
        ['artifacts', field],
        `"${a[field]}" is plain http: what the nodes install could be read and changed on the way`,
        'use https://; for an internal mirror that only speaks http, set artifacts.allowInsecureHttp: true to accept that risk',
      );
    else issue(['artifacts', field], `"${a[field]}" is not an https URL (${url.protocol.replace(/:$/, '')})`, `use an https:// URL, e.g. https://mirror.example.org/`);
  }
}

function isLoopback(address: string): boolean {
  return net.isIPv4(address) && address.startsWith('127.');
}

const CLUSTER_CONFIG: SchemaDocument = {
  error: (file, issues) => new ConfigError(file, issues),
  fileNoun: 'config file',
  unknownKeyHint: 'check the spelling against `millrace init` or schemas/millrace.schema.json',
  missingHint: (file) => `run \`millrace init -c ${file}\` to write one, or pass -c <path> of an existing config`,
  defaultFileName: 'millrace.yaml',
  flag: '-c',
  example: '"name: demo" and "target: local"',
};

/** What the command line may override in the file; validated together with it, by the same rules. */
export interface ConfigOverrides {
  target?: string;
}

/** Validates an already-parsed document. Throws ConfigError listing every problem. */
export function parseConfig(doc: unknown, file = 'millrace.yaml', overrides: ConfigOverrides = {}): ClusterConfig {
  const base = dropEmptySections(doc);
  const merged = overrides.target !== undefined && typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base, target: overrides.target } : base;
  return withDerivedFields(validateDocument(configSchema, merged, file, CLUSTER_CONFIG));
}

/** Parses YAML text; syntax errors are reported with line and column, all at once. */
export function parseConfigText(text: string, file = 'millrace.yaml', overrides: ConfigOverrides = {}): ClusterConfig {
  return parseConfig(parseYaml(text, file, CLUSTER_CONFIG), file, overrides);
}

export function loadConfig(file: string, overrides: ConfigOverrides = {}): ClusterConfig {
  return parseConfigText(readDocument(file, CLUSTER_CONFIG), file, overrides);
}

/** Nodes get aws.instanceType unless they name their own; local nodes get consecutive loopback addresses 127.0.0.11, .12, … unless set. */
function withDerivedFields(c: ParsedConfig): ClusterConfig {
  // With Kerberos and no node given the kdc role, the namenode's node runs the KDC.
  const placeKdc = c.kerberos.enabled && c.kerberos.kdc === undefined && !c.nodes.some((n) => n.roles.includes('kdc'));
  // With no node given the monitor role, Prometheus runs on the spark-master's node, else the namenode's.
  const monitorHome = c.nodes.some((n) => n.roles.includes('monitor')) ? undefined : c.nodes.some((n) => n.roles.includes('spark-master')) ? 'spark-master' : 'namenode';
  const extraRoles = (roles: readonly Role[]): Role[] => [...(placeKdc && roles.includes('namenode') ? ['kdc' as const] : []), ...(monitorHome && roles.includes(monitorHome) ? ['monitor' as const] : [])];
  return {
    ...c,
    nodes: c.nodes.map((n, i) => ({
      ...n,
      ...(extraRoles(n.roles).length ? { roles: [...n.roles, ...extraRoles(n.roles)] } : {}),
      instanceType: n.instanceType ?? c.aws.instanceType,
      ...(c.target === 'local' ? { address: n.address ?? autoLocalAddress(i) } : {}),
    })),
  };
}

/** "host" or "host:port" (a host name or IPv4 address), for addresses with a usual port. */
function hostPort(defaultPort: number): z.ZodType<string, z.ZodTypeDef, unknown> {
  return z.string().superRefine((v, ctx) => {
    const { host, port } = splitHostPort(v, defaultPort);
    const problem = hostAddressProblem(host) ?? (Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `port "${v.slice(v.lastIndexOf(':') + 1)}" is not 1-65535`);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, params: { hint: `write host or host:port, e.g. kdc.example.com or 10.0.0.5:${defaultPort}` } });
  });
}

/** "kdc.example.com:88" → host and port; no port → the default. */
export function splitHostPort(v: string, defaultPort: number): { host: string; port: number } {
  const m = /^(.*):(\d*)$/.exec(v);
  return m ? { host: m[1]!, port: m[2] === '' ? NaN : Number(m[2]) } : { host: v, port: defaultPort };
}

/** "90s", "10m", "10h", "7d" → seconds. */
export function durationSeconds(d: string): number {
  const m = DURATION.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function nodesWithRole(c: ClusterConfig, role: Role): NodeConfig[] {
  return c.nodes.filter((n) => n.roles.includes(role));
}
