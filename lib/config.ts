import * as net from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors';
import { looksLikePublicKey, publicKeyProblem } from './ssh-keys';
import { ROLES, Role } from './roles';
import { dropEmptySections, issueAdder, oneOf, parseYaml, readDocument, SchemaDocument, validateDocument } from './schema';
import { DEFAULT_VERSIONS, KNOWN_VERSIONS } from './versions';

export const TARGETS = ['aws', 'static', 'local'] as const;
export type Target = (typeof TARGETS)[number];

const NODE_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const CLUSTER_NAME = /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/;
const LOCAL_BASE_ADDRESS = 11;
const LOGIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const LOGIN_USER_MESSAGE = 'must be a Unix user name (a-z, 0-9, _, -; starting with a letter or _)';

/**
 * The user cloud-init creates on the nodes millrace boots (aws, local), with the operator's key
 * and passwordless sudo, and the user millrace logs in as there. `admin`, as on Debian's EC2
 * images; ssh.user names another.
 */
export const DEFAULT_LOGIN_USER = 'admin';

export function bootedNodeUser(config: Pick<ClusterConfig, 'ssh'>): string {
  return config.ssh.user ?? DEFAULT_LOGIN_USER;
}

const overrides = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({});

const nodeSchema = z
  .object({
    name: z.string().regex(NODE_NAME, 'must be a lowercase DNS label (a-z, 0-9, -), 2 to 32 characters'),
    roles: z.array(oneOf(ROLES)).min(1, 'a node needs at least one role'),
    instanceType: z.string().default('t3.large'),
    address: z.string().optional(),
    /** Where clients outside the cluster network reach this node, NAT'd to `address`. */
    publicAddress: z.string().optional(),
    user: z.string().regex(LOGIN_USER, LOGIN_USER_MESSAGE).optional(),
    privateKeyPath: z.string().optional(),
  })
  .strict();

const stateSchema = z.discriminatedUnion('backend', [
  z.object({ backend: z.literal('local') }).strict(),
  z
    .object({
      backend: z.literal('s3'),
      bucket: z.string().min(3),
      key: z.string().default('millrace/terraform.tfstate'),
      region: z.string().optional(),
      dynamodbTable: z.string().optional(),
    })
    .strict(),
]);

const awsSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1').default('us-east-1'),
    availabilityZone: z.string().optional(),
    vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, 'must look like vpc-0123abcd').optional(),
    subnetId: z.string().regex(/^subnet-[0-9a-f]+$/, 'must look like subnet-0123abcd').optional(),
    vpcCidr: z.string().default('10.42.0.0/16'),
    subnetCidr: z.string().default('10.42.1.0/24'),
    ami: z.string().regex(/^ami-[0-9a-f]+$/, 'must look like ami-0123abcd').optional(),
    amiFamily: z.enum(['debian-12', 'ubuntu-24.04']).default('debian-12'),
    rootVolumeGb: z.number().int().min(8).max(16384).default(30),
    dataVolumeGb: z.number().int().min(8).max(16384).default(100),
    state: stateSchema.default({ backend: 'local' }),
  })
  .strict();

const versionsSchema = z
  .object({
    kafka: z.string().default(DEFAULT_VERSIONS.kafka),
    spark: z.string().default(DEFAULT_VERSIONS.spark),
    hadoop: z.string().default(DEFAULT_VERSIONS.hadoop),
    java: z.coerce.string().default(DEFAULT_VERSIONS.java),
  })
  .strict();

const artifactsSchema = z
  .object({
    source: z.enum(['apache', 'maven']).default('apache'),
    apacheMirror: z.string().url().default('https://archive.apache.org/dist'),
    mavenRepository: z.string().url().default('https://repo1.maven.org/maven2'),
    pypiIndex: z.string().url().default('https://pypi.org'),
    cacheDir: z.string().optional(),
  })
  .strict();

const baseSchema = z
  .object({
    name: z.string().regex(CLUSTER_NAME, 'must be a lowercase DNS label (a-z, 0-9, -), 3 to 32 characters'),
    target: oneOf(TARGETS).default('local'),
    aws: awsSchema.default({}),
    nodes: z
      .array(nodeSchema)
      .min(1, 'list at least one node')
      .default([
        { name: 'kafka-1', roles: ['kafka'] },
        { name: 'spark-1', roles: ['spark-master', 'spark-worker'] },
        { name: 'hdfs-1', roles: ['namenode', 'datanode', 'kms'] },
      ]),
    versions: versionsSchema.default({}),
    network: z
      .object({
        sshCidr: z.string().default('127.0.0.1/32'),
        kafkaClientCidrs: z.array(z.string()).default([]),
      })
      .strict()
      .default({}),
    ssh: z
      .object({
        publicKey: z.string().optional(),
        privateKeyPath: z.string().optional(),
        user: z.string().regex(LOGIN_USER, LOGIN_USER_MESSAGE).optional(),
      })
      .strict()
      .default({}),
    artifacts: artifactsSchema.default({}),
    kafka: z.object({ overrides }).strict().default({}),
    hdfs: z.object({ overrides }).strict().default({}),
    spark: z.object({ overrides }).strict().default({}),
  })
  .strict();

export const configSchema = baseSchema.superRefine(crossFieldRules);

export type ClusterConfig = z.infer<typeof baseSchema>;
export type NodeConfig = ClusterConfig['nodes'][number];

function crossFieldRules(c: ClusterConfig, ctx: z.RefinementCtx): void {
  const issue = issueAdder(ctx);

  const seen = new Map<string, number>();
  c.nodes.forEach((n, i) => {
    const first = seen.get(n.name);
    if (first !== undefined) issue(['nodes', i, 'name'], `duplicate node name "${n.name}" (also nodes[${first}])`, 'give every node a unique name');
    else seen.set(n.name, i);
    const dupRole = n.roles.find((r, j) => n.roles.indexOf(r) !== j);
    if (dupRole) issue(['nodes', i, 'roles'], `role "${dupRole}" is listed twice`);
    if (n.address !== undefined && net.isIPv4(n.address) === false && !/^[a-z0-9.-]+$/i.test(n.address))
      issue(['nodes', i, 'address'], `"${n.address}" is not an IPv4 address or host name`);
    if (c.target === 'static' && n.address === undefined)
      issue(['nodes', i, 'address'], 'a static node needs an address', 'set the host name or IP that SSH reaches');
    if (c.target === 'local' && n.address !== undefined && !isLoopback(n.address))
      issue(['nodes', i, 'address'], `"${n.address}" is not a loopback address`, 'local nodes use addresses in 127.0.0.0/8, e.g. 127.0.0.11');
    if (n.publicAddress !== undefined) {
      if (c.target === 'aws') issue(['nodes', i, 'publicAddress'], 'an aws node gets its public address from EC2', 'remove publicAddress');
      else if (net.isIPv4(n.publicAddress) === false && !/^[a-z0-9.-]+$/i.test(n.publicAddress))
        issue(['nodes', i, 'publicAddress'], `"${n.publicAddress}" is not an IPv4 address or host name`);
      else if (c.target === 'local' && !isLoopback(n.publicAddress))
        issue(['nodes', i, 'publicAddress'], `"${n.publicAddress}" is not a loopback address`, 'local nodes use addresses in 127.0.0.0/8');
      else if (n.publicAddress === n.address) issue(['nodes', i, 'publicAddress'], 'is the same as address', 'remove publicAddress, or set the address clients outside reach');
    }
  });

  const count = (role: Role): number => c.nodes.filter((n) => n.roles.includes(role)).length;
  // An unknown role is reported where it stands; the counts below then see only known roles.
  if (count('namenode') !== 1)
    issue(['nodes'], `exactly one node must have the namenode role (found ${count('namenode')})`, 'add "namenode" to the roles of one node');
  if (count('datanode') < 1) issue(['nodes'], 'at least one node must have the datanode role', 'add "datanode" to a node\'s roles');
  if (count('kafka') < 1) issue(['nodes'], 'at least one node must have the kafka role', 'add "kafka" to a node\'s roles');
  if (count('spark-worker') > 0 && count('spark-master') !== 1)
    issue(['nodes'], `spark workers need exactly one spark-master (found ${count('spark-master')})`, 'add "spark-master" to the roles of one node');
  if (count('kms') > 1) issue(['nodes'], `at most one node may have the kms role (found ${count('kms')})`);

  for (const [component, known] of Object.entries(KNOWN_VERSIONS)) {
    const v = c.versions[component as keyof typeof KNOWN_VERSIONS];
    if (!(known as readonly string[]).includes(v))
      issue(['versions', component], `unknown ${component} version "${v}"`, `known versions: ${known.join(', ')}`);
  }

  checkCidr(c.network.sshCidr, ['network', 'sshCidr'], issue);
  c.network.kafkaClientCidrs.forEach((cidr, i) => checkCidr(cidr, ['network', 'kafkaClientCidrs', i], issue));
  if (c.aws.vpcId && !c.aws.subnetId) issue(['aws', 'subnetId'], 'an existing vpcId needs a subnetId too', 'set aws.subnetId to a public subnet in that VPC');
  if (c.aws.subnetId && !c.aws.vpcId) issue(['aws', 'vpcId'], 'a subnetId needs the vpcId it belongs to');
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

function checkCidr(value: string, path: (string | number)[], issue: (p: (string | number)[], m: string, h?: string) => void): void {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(value) ?? /^([0-9a-f:]+)\/(\d{1,3})$/i.exec(value);
  const ip = m?.[1];
  const bits = Number(m?.[2]);
  if (!m || !ip || net.isIP(ip) === 0 || bits > (net.isIPv4(ip) ? 32 : 128)) {
    issue(path, `"${value}" is not a valid CIDR`, 'write an address and prefix length, e.g. 203.0.113.7/32');
    return;
  }
  if (bits === 0) issue(path, `"${value}" opens the port to the whole internet`, 'use the narrowest CIDR that covers your clients, e.g. 203.0.113.7/32');
}

function isLoopback(address: string): boolean {
  return net.isIPv4(address) && address.startsWith('127.');
}

const CLUSTER_CONFIG: SchemaDocument = {
  error: (file, issues) => new ConfigError(file, issues),
  unknownKeyHint: 'check the spelling against `millrace init`',
  unreadableHint: 'run `millrace init` to write one, or pass -c <path>',
};

/** What the command line may override in the file; validated together with it, by the same rules. */
export interface ConfigOverrides {
  target?: string;
}

/** Validates an already-parsed document. Throws ConfigError listing every problem. */
export function parseConfig(doc: unknown, file = 'millrace.yaml', overrides: ConfigOverrides = {}): ClusterConfig {
  const base = dropEmptySections(doc);
  const merged = overrides.target !== undefined && typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base, target: overrides.target } : base;
  return withLocalAddresses(validateDocument(configSchema, merged, file, CLUSTER_CONFIG));
}

/** Parses YAML text; syntax errors are reported with line and column, all at once. */
export function parseConfigText(text: string, file = 'millrace.yaml', overrides: ConfigOverrides = {}): ClusterConfig {
  return parseConfig(parseYaml(text, file, CLUSTER_CONFIG), file, overrides);
}

export function loadConfig(file: string, overrides: ConfigOverrides = {}): ClusterConfig {
  return parseConfigText(readDocument(file, CLUSTER_CONFIG), file, overrides);
}

/** Local nodes get consecutive loopback addresses 127.0.0.11, .12, … unless set. */
function withLocalAddresses(c: ClusterConfig): ClusterConfig {
  if (c.target !== 'local') return c;
  return { ...c, nodes: c.nodes.map((n, i) => ({ ...n, address: n.address ?? `127.0.0.${LOCAL_BASE_ADDRESS + i}` })) };
}

export function nodesWithRole(c: ClusterConfig, role: Role): NodeConfig[] {
  return c.nodes.filter((n) => n.roles.includes(role));
}
