/**
 * Pure planning: from the cluster facts, what should be true on each node. No SSH, no disk.
 */
import type { InventoryNode } from '../lib/inventory';
import { render } from '../templates/render';
import { CLIENT_APT, CLIENT_DNF } from './kerberos/kdc';
import { krb5ConfFile, needsKerberosClient } from './kerberos/realm';
import { keyStoreScript } from './keystores';
import { metricsDirectories } from './services/metrics';
import { servicesFor } from './registry';
import type { ClusterFacts, ComponentName, DirSpec, FileSpec, KeyStoreSpec, Service, ServiceUser } from './service';

export interface NodePlan {
  node: InventoryNode;
  services: Service[];
  components: ComponentName[];
  users: ServiceUser[];
  directories: DirSpec[];
  files: FileSpec[];
  keyStores: KeyStoreSpec[];
  /** The host preparation script: packages, users, directories. */
  prepareScript: string;
  /** Builds the keystores from the PEM files; empty when the node needs none. */
  keyStoreScript: string;
  /** Formats and mounts the node's data volume; empty when the target attached none. */
  dataVolumeScript: string;
}

/** Where every service keeps its data, and so where a data volume is mounted. */
export const DATA_ROOT = '/var/lib/millrace';

/** The data volume script's settings; tests render it with their own mount point and fstab. */
export interface DataVolumeSettings {
  mountPoint: string;
  label: string;
  sizeBytes: number;
  fstab: string;
  /** lsblk device types that may be the volume: disk on EC2, loop on the local target. */
  deviceTypes: string[];
}

export const DATA_LABEL = 'millrace-data';

/** From the inventory: the target says which nodes have a data disk, and how to recognise it. */
export function dataVolumeSettings(node: InventoryNode): DataVolumeSettings | undefined {
  if (!node.dataVolume) return undefined;
  return { mountPoint: DATA_ROOT, label: DATA_LABEL, sizeBytes: node.dataVolume.sizeBytes, fstab: '/etc/fstab', deviceTypes: [...node.dataVolume.deviceTypes] };
}

const BASE_APT = ['openjdk-17-jre-headless', 'python3', 'openssl', 'procps', 'iproute2', 'curl', 'ca-certificates'];
const BASE_DNF = ['java-17-openjdk-headless', 'python3', 'openssl', 'procps-ng', 'iproute', 'curl', 'ca-certificates'];

export function planNode(facts: ClusterFacts, node: InventoryNode): NodePlan {
  const services = servicesFor(node.roles);
  const ctx = { cluster: facts, node };
  const users = unique(services.flatMap((s) => (s.user === 'root' ? [] : [s.user])));
  const components = unique(services.flatMap((s) => (s.component ? [s.component] : [])));
  const kerberosClient = facts.kerberos && needsKerberosClient(node);
  const apt = unique([...services.flatMap((s) => s.packages?.apt ?? []), ...(kerberosClient ? CLIENT_APT : [])]);
  const dnf = unique([...services.flatMap((s) => s.packages?.dnf ?? []), ...(kerberosClient ? CLIENT_DNF : [])]);
  const needsPython = components.includes('spark');
  const directories: DirSpec[] = [
    { path: '/opt/millrace', mode: '755', owner: 'root:root' },
    { path: '/etc/millrace', mode: '755', owner: 'root:root' },
    { path: DATA_ROOT, mode: '755', owner: 'root:root' },
    { path: '/var/log/millrace', mode: '755', owner: 'root:root' },
    ...metricsDirectories(),
    ...uniqueBy(services.flatMap((s) => s.directories(ctx)), (d) => d.path),
  ];
  const files = mergeFiles([...services.flatMap((s) => s.files(ctx)), ...(kerberosClient ? [krb5ConfFile(facts.kerberos!, services.filter((s) => s.role !== 'kafka').map((s) => s.unit))] : [])]);
  const keyStores = mergeKeyStores(services.flatMap((s) => s.keyStores?.(ctx) ?? []));
  const prepareScript = render('host/prepare.sh', {
    aptPackages: [...BASE_APT, ...(needsPython ? ['python3-numpy'] : []), ...apt],
    dnfPackages: [...BASE_DNF, ...(needsPython ? ['python3-numpy'] : []), ...dnf],
    users,
    directories,
  });
  const keyStoreScriptText = keyStores.length ? keyStoreScript(keyStores) : '';
  const volume = dataVolumeSettings(node);
  const dataVolumeScript = volume ? render('host/data-volume.sh', volume) : '';
  return { node, services, components, users, directories, files, keyStores, prepareScript, keyStoreScript: keyStoreScriptText, dataVolumeScript };
}

export function planCluster(facts: ClusterFacts): NodePlan[] {
  return facts.nodes.map((n) => planNode(facts, n));
}

/** Services on one node may share a file (Hadoop's core-site.xml): one copy, every unit restarted. */
function mergeFiles(files: FileSpec[]): FileSpec[] {
  const byPath = new Map<string, FileSpec>();
  for (const f of files) {
    const seen = byPath.get(f.path);
    if (!seen) byPath.set(f.path, { ...f, restarts: [...f.restarts] });
    else if (seen.content !== f.content) throw new Error(`two services render ${f.path} differently`);
    else seen.restarts = unique([...seen.restarts, ...f.restarts]);
  }
  return [...byPath.values()];
}

/** Like files: a keystore two services share is built once and restarts both. */
function mergeKeyStores(stores: KeyStoreSpec[]): KeyStoreSpec[] {
  const byPath = new Map<string, KeyStoreSpec>();
  for (const k of stores) {
    const seen = byPath.get(k.path);
    if (!seen) byPath.set(k.path, { ...k, restarts: [...k.restarts] });
    else seen.restarts = unique([...seen.restarts, ...k.restarts]);
  }
  return [...byPath.values()];
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function uniqueBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) if (!seen.has(key(x))) seen.set(key(x), x);
  return [...seen.values()];
}
