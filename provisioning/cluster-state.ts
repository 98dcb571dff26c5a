/**
 * Per-cluster state on the operator's machine: the CA, generated secrets and ids. Created on
 * first use, kept 0600 in the cluster state directory, reused on every later run.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../lib/config';
import type { Inventory } from '../lib/inventory';
import { clusterStateDir } from '../lib/paths';
import { PIPELINE_PRINCIPAL } from '../lib/principals';
import { nodesWithRoleIn } from './inventory-roles';
import { ClusterCa, sanFor } from './pki/cluster-ca';
import type { ClusterFacts, MemorySettings } from './service';
import { OPT } from './artifacts/remote-install';

/** Reads a generated value, creating it 0600 on first use. */
export function generatedSecret(file: string, make: () => string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  fs.writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  return value;
}

/** Kafka's cluster ids are 16 random bytes, base64url without padding. */
export function newKafkaClusterId(): string {
  return crypto.randomBytes(16).toString('base64url');
}

export const DEFAULT_MEMORY: MemorySettings = {
  kafkaHeap: '1g',
  namenodeHeap: '1g',
  datanodeHeap: '512m',
  kmsHeap: '256m',
  sparkDaemonHeap: '512m',
  sparkWorkerMemory: '4g',
  // More than the cores a small node has: streaming ingest, scoring and a training run each hold
  // their cores for as long as they run, so the worker offers slots rather than CPUs.
  sparkWorkerCores: 4,
};

export async function buildFacts(config: ClusterConfig, inventory: Inventory): Promise<ClusterFacts> {
  const dir = clusterStateDir(config.name);
  const secretsDir = path.join(dir, 'secrets');
  const ca = await ClusterCa.open(path.join(dir, 'pki'), config.name);
  const tls: ClusterFacts['tls'] = {};
  for (const node of inventory.nodes) {
    const san = sanFor([node.name, 'localhost'], [node.privateAddress, node.publicAddress, node.sshAddress]);
    const issued = await ca.issue({ name: node.name, usage: 'server', ...san });
    tls[node.name] = { certPem: issued.certPem, keyPem: issued.keyPem, caPem: issued.caPem };
  }
  const roles = nodesWithRoleIn(inventory);
  const namenode = roles('namenode')[0];
  if (!namenode) throw new Error('the inventory has no namenode');
  return {
    config,
    nodes: inventory.nodes,
    kafkaNodes: roles('kafka'),
    namenode,
    datanodes: roles('datanode'),
    kms: roles('kms')[0],
    sparkMaster: roles('spark-master')[0],
    sparkWorkers: roles('spark-worker'),
    kafkaClusterId: generatedSecret(path.join(dir, 'kafka-cluster-id'), newKafkaClusterId),
    home: { kafka: `${OPT}/kafka/current`, hadoop: `${OPT}/hadoop/current`, spark: `${OPT}/spark/current` },
    tls,
    memory: DEFAULT_MEMORY,
    secrets: {
      kmsKeystorePassword: generatedSecret(path.join(secretsDir, 'kms-keystore-password'), randomSecret),
      sparkAuthSecret: generatedSecret(path.join(secretsDir, 'spark-auth-secret'), randomSecret),
      nodes: Object.fromEntries(
        inventory.nodes.map((n) => [
          n.name,
          {
            keystorePassword: generatedSecret(path.join(secretsDir, 'nodes', n.name, 'keystore-password'), randomSecret),
            truststorePassword: generatedSecret(path.join(secretsDir, 'nodes', n.name, 'truststore-password'), randomSecret),
          },
        ]),
      ),
    },
    pipelineClient: await ca.issue({ name: PIPELINE_PRINCIPAL, usage: 'client', dnsNames: [], ipAddresses: [] }),
  };
}

const randomSecret = (): string => crypto.randomBytes(24).toString('base64url');

// Defined in lib/principals.ts; re-exported for the modules that still import them from here.
export { ADMIN_PRINCIPAL, PIPELINE_PRINCIPAL } from '../lib/principals';

/** A client certificate (CN = principal) from the cluster CA, kept in the state directory. */
export async function clientCredentials(clusterName: string, principal: string): Promise<{ certPem: string; keyPem: string; caPem: string }> {
  const ca = await ClusterCa.open(path.join(clusterStateDir(clusterName), 'pki'), clusterName);
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
