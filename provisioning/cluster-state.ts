/**
 * Per-cluster state on the operator's machine: the CA, generated secrets and ids. Created by `up`
 * on first use (buildFacts), kept 0600 in the cluster state directory, reused on every later
 * run; every other command only reads it (loadFacts) and names what is missing instead.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../lib/config';
import type { Inventory } from '../lib/inventory';
import { MillraceError } from '../lib/errors';
import { logger } from '../lib/logger';
import { unsafeOverrides } from '../lib/overrides';
import { clusterStateDir, expandHome } from '../lib/paths';
import { PIPELINE_PRINCIPAL, type ServiceOu } from '../lib/principals';
import { kerberosFacts } from './kerberos/realm';
import { ensureKafkaIdentities, planKafkaIdentities } from './kafka-identities';
import { nodesWithRoleIn } from './inventory-roles';
import { ClusterCa, sanFor } from './pki/cluster-ca';
import { pemCertificates } from './pki/expiry';
import type { ClusterFacts, MemorySettings, TlsPem } from './service';
import { OPT } from './artifacts/remote-install';

/** Reads a generated value, creating it 0600 on first use. */
export function generatedSecret(file: string, make: () => string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  fs.writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  return value;
}

/**
 * Kafka's cluster ids are 16 random bytes, base64url without padding. Like Kafka's own
 * Uuid.randomUuid, never one that starts with "-": a command line would take it for an option.
 */
export function newKafkaClusterId(random: (n: number) => Buffer = crypto.randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export const DEFAULT_MEMORY: MemorySettings = {
  kafkaHeap: '1g',
  namenodeHeap: '1g',
  datanodeHeap: '512m',
  kmsHeap: '256m',
  sparkDaemonHeap: '512m',
  sparkWorkerMemory: '4g',
  // More than the cores a small node has: streaming ingest, scoring and a training run each hold
  // their cores for as long as they run, so the worker offers slots rather than CPUs. Real-time
  // scoring alone holds one per partition of its topic and one for the lake's copy (4 for the
  // demo's 3 partitions), beside ingest's and a training run's.
  sparkWorkerCores: 8,
};

/**
 * Where a cluster's state on the operator's machine comes from: `create` makes what is missing
 * (only `up`), `existing` requires it and changes nothing (every command that only reads or uses
 * the cluster: status, verify, jobs, submit, credentials, ...).
 */
export type StateMode = 'create' | 'existing';

/** The cluster's CA, generated secrets or Kafka cluster id are missing while it has nodes: exit 1, nothing written. */
export class MissingClusterStateError extends MillraceError {}

/** The files that must exist before anything but `up` may use a cluster's state. */
function requiredStateFiles(clusterName: string, inventory: Pick<Inventory, 'nodes'> | undefined): string[] {
  const dir = clusterStateDir(clusterName);
  const secrets = path.join(dir, 'secrets');
  return [
    path.join(dir, 'pki', 'ca.crt'),
    path.join(dir, 'pki', 'ca.key'),
    ...(inventory
      ? [
          path.join(dir, 'kafka-cluster-id'),
          path.join(secrets, 'kms-keystore-password'),
          path.join(secrets, 'spark-auth-secret'),
          path.join(secrets, 'spark-keystore-password'),
          ...inventory.nodes.flatMap((n) => [path.join(secrets, 'nodes', n.name, 'keystore-password'), path.join(secrets, 'nodes', n.name, 'truststore-password')]),
        ]
      : []),
  ];
}

/**
 * Throws MissingClusterStateError, naming what is missing, unless the CA (and, with an inventory,
 * every generated secret) is in place. Reads only: a lost `pki/` must be restored, because making a
 * new one here would leave every node with certificates from a CA that no longer signs anything,
 * and the next `up` would re-key them all.
 */
export function requireClusterState(clusterName: string, inventory?: Pick<Inventory, 'nodes'>): void {
  const dir = clusterStateDir(clusterName);
  const missing = requiredStateFiles(clusterName, inventory).filter((f) => !fs.existsSync(f));
  if (!missing.length) return;
  const pki = path.join(dir, 'pki');
  const caMissing = missing.some((f) => path.dirname(f) === pki);
  const shown = missing.slice(0, 4).map((f) => path.relative(dir, f));
  const more = missing.length > shown.length ? ` and ${missing.length - shown.length} more` : '';
  const inventoryFile = path.join(dir, 'inventory.json');
  const running = inventory || fs.existsSync(inventoryFile) ? ` has nodes (${inventoryFile}) but` : '';
  throw new MissingClusterStateError(
    `cluster ${clusterName}${running} is missing ${caMissing ? `its CA in ${pki}` : 'generated secrets'} (${shown.join(', ')}${more} under ${dir}); nothing was changed`,
    {
      hint: caMissing
        ? `restore ${pki}${missing.some((f) => path.dirname(f) !== pki) ? ` and ${path.join(dir, 'secrets')}` : ''} from a backup of ${dir}. \`millrace up\` would instead make a new CA and re-key every node, and every client certificate issued so far would stop working`
        : `restore them from a backup of ${dir}; \`millrace up\` would instead make new ones and restart every service that uses them`,
    },
  );
}

/** The cluster CA: made on first use in `create` mode, required in `existing` mode. */
async function openCa(clusterName: string, mode: StateMode): Promise<ClusterCa> {
  if (mode === 'existing') requireClusterState(clusterName);
  return ClusterCa.open(path.join(clusterStateDir(clusterName), 'pki'), clusterName);
}

/**
 * The facts `up` provisions from: the CA, node certificates and generated secrets, made on first
 * use. Only `up` calls this; every other command uses loadFacts, which creates nothing.
 */
export async function buildFacts(config: ClusterConfig, inventory: Inventory): Promise<ClusterFacts> {
  const unsafe = unsafeOverrides(config);
  if (unsafe.length)
    logger().warn(
      `acknowledged unsafe overrides weaken this cluster's security: ${unsafe.map((u) => `${u.service}.overrides ${u.key}`).join(', ')}; \`millrace verify\` fails while they are set`,
    );
  return factsFrom(config, inventory, 'create');
}

/** The facts of a cluster `up` has built, from its existing state; throws MissingClusterStateError, creating nothing, when the CA or a secret is gone. */
export async function loadFacts(config: ClusterConfig, inventory: Inventory): Promise<ClusterFacts> {
  requireClusterState(config.name, inventory);
  return factsFrom(config, inventory, 'existing');
}

async function factsFrom(config: ClusterConfig, inventory: Inventory, mode: StateMode): Promise<ClusterFacts> {
  const dir = clusterStateDir(config.name);
  const secretsDir = path.join(dir, 'secrets');
  const secret = (file: string, make: () => string): string => (mode === 'create' ? generatedSecret(file, make) : fs.readFileSync(file, 'utf8').trim());
  const ca = await openCa(config.name, mode);
  const tls: ClusterFacts['tls'] = {};
  for (const node of inventory.nodes) {
    const san = sanFor([node.name, 'localhost'], [node.privateAddress, node.publicAddress, node.sshAddress]);
    const pem = async (ou: ServiceOu): Promise<TlsPem> => {
      const issued = await ca.issue({ name: node.name, usage: 'server', ou, ...san });
      return { certPem: issued.certPem, keyPem: issued.keyPem, caPem: issued.caPem };
    };
    // A service's key only on the nodes that run it: the broker identity (a super user) on kafka nodes.
    tls[node.name] = {
      ...(await pem('node')),
      ...(node.roles.includes('kafka') ? { kafka: await pem('kafka-broker') } : {}),
      ...(node.roles.some((r) => r === 'spark-master' || r === 'spark-worker') ? { spark: await pem('spark') } : {}),
    };
  }
  const roles = nodesWithRoleIn(inventory);
  const kerberos = kerberosFacts(config, inventory.nodes);
  const namenode = roles('namenode')[0];
  if (!namenode) throw new Error('the inventory has no namenode');
  // Before the Kafka cluster id is made: a cluster id without identities means one formatted before they were kept.
  const kafkaNames = roles('kafka').map((n) => n.name);
  const kafkaIdentities = (mode === 'create' ? ensureKafkaIdentities : planKafkaIdentities)(config.name, kafkaNames, config.kafka.controllers);
  return {
    config,
    nodes: inventory.nodes,
    // In node id order: nothing rendered from the brokers (bootstrap servers, super users) follows the config's list order.
    kafkaNodes: roles('kafka').sort((a, b) => kafkaIdentities.nodeIds[a.name]! - kafkaIdentities.nodeIds[b.name]!),
    namenode,
    datanodes: roles('datanode'),
    kms: roles('kms')[0],
    sparkMaster: roles('spark-master')[0],
    sparkWorkers: roles('spark-worker'),
    kafkaClusterId: secret(path.join(dir, 'kafka-cluster-id'), newKafkaClusterId),
    kafkaIdentities,
    home: { kafka: `${OPT}/kafka/current`, hadoop: `${OPT}/hadoop/current`, spark: `${OPT}/spark/current` },
    tls,
    alertSecrets: alertSecrets(config, mode),
    smtpCa: smtpCa(config, mode),
    memory: DEFAULT_MEMORY,
    secrets: {
      kmsKeystorePassword: secret(path.join(secretsDir, 'kms-keystore-password'), randomSecret),
      sparkAuthSecret: secret(path.join(secretsDir, 'spark-auth-secret'), randomSecret),
      sparkKeystorePassword: secret(path.join(secretsDir, 'spark-keystore-password'), randomSecret),
      nodes: Object.fromEntries(
        inventory.nodes.map((n) => [
          n.name,
          {
            keystorePassword: secret(path.join(secretsDir, 'nodes', n.name, 'keystore-password'), randomSecret),
            truststorePassword: secret(path.join(secretsDir, 'nodes', n.name, 'truststore-password'), randomSecret),
          },
        ]),
      ),
    },
    pipelineClient: await ca.issue({ name: PIPELINE_PRINCIPAL, usage: 'client', dnsNames: [], ipAddresses: [] }),
    ...(kerberos ? { kerberos } : {}),
  };
}

const randomSecret = (): string => crypto.randomBytes(24).toString('base64url');

// Defined in lib/principals.ts; re-exported for the modules that still import them from here.
export { ADMIN_PRINCIPAL, PIPELINE_PRINCIPAL } from '../lib/principals';

/** A client certificate (CN = principal) from the cluster's existing CA, kept in the state directory. */
export async function clientCredentials(clusterName: string, principal: string): Promise<{ certPem: string; keyPem: string; caPem: string }> {
  // Only from the CA `up` made: a new one would sign certificates no broker trusts.
  const ca = await openCa(clusterName, 'existing');
  return ca.issue({ name: principal, usage: 'client', dnsNames: [], ipAddresses: [] });
}

/**
 * Every secret of a cluster, for checks that they appear nowhere they should not (logs, process
 * lists, error messages, the Terraform JSON): generated secrets and the body of every private key.
 */
export function clusterSecretValues(clusterName: string): { name: string; value: string }[] {
  const dir = clusterStateDir(clusterName);
  const out: { name: string; value: string }[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (d.startsWith(path.join(dir, 'secrets'))) out.push({ name: path.relative(dir, p), value: fs.readFileSync(p, 'utf8').trim() });
      else if (e.name.endsWith('.key') || e.name === 'id_ed25519') {
        // A private key leaks if any line of its body does; the longest lines are the telling ones.
        const body = fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
        body.forEach((line, i) => out.push({ name: `${path.relative(dir, p)} line ${i + 1}`, value: line }));
      }
    }
  };
  walk(path.join(dir, 'secrets'));
  walk(path.join(dir, 'pki'));
  walk(path.join(dir, 'ssh'));
  return out.filter((s) => s.value.length >= 16);
}

/**
 * monitoring.alerts.email.ca: the certificates of the CA the SMTP server's certificate chains to,
 * read from the operator's file when `up` runs. A missing or unreadable file, or one without a
 * certificate, stops `up`; other commands go on without it (they render no Alertmanager config).
 */
export function smtpCa(config: ClusterConfig, mode: StateMode): string | undefined {
  const file = config.monitoring.alerts.email?.ca;
  if (!file) return undefined;
  const where = `monitoring.alerts.email.ca: ${file}`;
  let pem: string;
  try {
    pem = fs.readFileSync(expandHome(file), 'utf8');
  } catch (error) {
    if (mode !== 'create') return undefined;
    throw new MillraceError(`${where}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, {
      hint: "give the path of the PEM file of the CA that signed the SMTP server's certificate, or remove ca to trust the node's own CAs",
    });
  }
  let certs = 0;
  try {
    certs = pemCertificates(pem).length;
  } catch {
    certs = 0;
  }
  if (!certs) throw new MillraceError(`${where}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, { hint: "it must be the CA's certificate in PEM form, not its key" });
  return pem;
}

/** monitoring.alerts.email's SMTP password, from the environment `up` runs in (never stored); `up` refuses to go on without it. */
export function alertSecrets(config: ClusterConfig, mode: StateMode, env: NodeJS.ProcessEnv = process.env): ClusterFacts['alertSecrets'] {
  const email = config.monitoring.alerts.email;
  if (!email?.username) return {};
  const password = env[email.passwordEnv];
  if (!password && mode === 'create')
    throw new MillraceError(`monitoring.alerts.email: $${email.passwordEnv} is not set; Alertmanager needs the SMTP password of ${email.username} on ${email.smarthost}`, {
      hint: `export ${email.passwordEnv}=… in the shell that runs \`millrace up\` (it is written only to the monitor node, 0600), or remove monitoring.alerts.email.username if the server needs no login`,
    });
  return password ? { smtpPassword: password } : {};
}
