import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { CLUSTER_NAME, TARGETS, type Target } from './config';
import { MillraceError } from './errors';
import { hasPublicAddress, portNumber, ROLES, type Role } from './roles';
import { clusterStateDir } from './paths';
import { hostAddressProblem, toIssues } from './schema';

/** A blank disk the target attached to a node, for the provisioner to format and mount. */
export interface DataVolume {
  /** Exact size in bytes: only a blank whole disk of this size is taken. */
  sizeBytes: number;
  /** lsblk TYPEs it may show as: disk (EBS, NVMe), loop (the local target's loop devices). */
  deviceTypes: ('disk' | 'loop')[];
}

/**
 * An SSH jump host (a bastion) the node is reached through: SSH connects to it, then opens a
 * TCP channel from it to the node's sshAddress:sshPort (ProxyJump). It takes the node's key, and
 * its host key is pinned like a node's (provisioning/known-hosts.ts, as JUMP_HOST_PIN).
 */
export interface JumpHost {
  address: string;
  port: number;
  user: string;
}

/**
 * What every target produces and the provisioner consumes. The provisioner knows nothing of
 * how the nodes were made: EC2, an existing host, or a local container.
 */
export interface InventoryNode {
  name: string;
  roles: Role[];
  /** Address SSH connects to (a public IP on AWS; the private IP, seen from the jump host, with one). */
  sshAddress: string;
  sshPort: number;
  sshUser: string;
  privateKeyPath: string;
  /** Address services bind to and advertise inside the cluster. */
  privateAddress: string;
  /** Address clients outside the cluster network reach, NAT'd to privateAddress (EC2 public IP). */
  publicAddress?: string;
  /** Target-specific id: an EC2 instance id, a local machine name. */
  id?: string;
  /** Present when the target attached a data disk; the provisioner mounts it at /var/lib/millrace. */
  dataVolume?: DataVolume;
  /** Present when SSH reaches the node only through a jump host (aws.bastion, ssh.jumpHost). */
  jumpHost?: JumpHost;
}

export interface Inventory {
  cluster: string;
  target: Target;
  createdAt: string;
  nodes: InventoryNode[];
}

export function inventoryPath(cluster: string): string {
  return path.join(clusterStateDir(cluster), 'inventory.json');
}

export function writeInventory(inv: Inventory): string {
  parseInventory(inv, `the inventory of cluster "${inv.cluster}"`);
  const file = inventoryPath(inv.cluster);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify(inv, null, 2) + '\n', { mode: 0o600 });
  return file;
}

/**
 * Addresses and names from the inventory reach shell commands and config files on the nodes, so
 * the file is checked when it is read, like the config: only IPv4 addresses or DNS names, known
 * roles, user names a shell can't misread.
 */
const hostAddress = z.string().refine((a) => hostAddressProblem(a) === undefined, { message: 'is not an IPv4 address or a DNS name' });
const inventoryNodeSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'is not a node name'),
    roles: z.array(z.enum(ROLES)).min(1),
    sshAddress: hostAddress,
    sshPort: z.number().int().min(1).max(65535),
    sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'is not a user name'),
    privateKeyPath: z.string().min(1),
    privateAddress: hostAddress,
    publicAddress: hostAddress.optional(),
    id: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
    dataVolume: z.object({ sizeBytes: z.number().int().positive(), deviceTypes: z.array(z.enum(['disk', 'loop'])).min(1) }).strict().optional(),
    jumpHost: z
      .object({ address: hostAddress, port: z.number().int().min(1).max(65535), user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'is not a user name') })
      .strict()
      .optional(),
  })
  .strict();
export const inventorySchema = z
  .object({
    cluster: z.string().regex(CLUSTER_NAME),
    target: z.enum(TARGETS),
    createdAt: z.string(),
    nodes: z.array(inventoryNodeSchema),
  })
  .strict();

/** Validates an inventory document (from the file, or from a target before it is written). */
export function parseInventory(doc: unknown, where: string): Inventory {
  const r = inventorySchema.safeParse(doc);
  if (r.success) return r.data;
  const problems = toIssues(r.error, { unknownKeyHint: 'the file is written by millrace' }, inventorySchema, doc).map((i) => `${i.path || '(root)'}: ${i.message}`);
  throw new MillraceError(`${where} is not a valid inventory: ${problems.join('; ')}`, {
    hint: 'it is written by `millrace up`; run `millrace up` again to rewrite it (do not edit it by hand)',
  });
}

export function readInventory(cluster: string): Inventory {
  const file = inventoryPath(cluster);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MillraceError(`no inventory for cluster "${cluster}" at ${file}`, {
      hint: 'run `millrace up` first',
      cause: error,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new MillraceError(`${file} is not JSON`, { hint: 'run `millrace up` again to rewrite it', cause: error });
  }
  return parseInventory(doc, file);
}

/** Where the nodes' Kafka node ids and controller quorum are kept (provisioning/kafka-identities.ts). */
export function kafkaIdentitiesPath(cluster: string): string {
  return path.join(clusterStateDir(cluster), 'kafka-identities.json');
}

/**
 * Forgets a destroyed cluster's nodes: the inventory, and the Kafka identities that lived on their
 * disks (a later `up` formats new storage and may choose a new quorum).
 */
export function removeInventory(cluster: string): void {
  fs.rmSync(inventoryPath(cluster), { force: true });
  fs.rmSync(kafkaIdentitiesPath(cluster), { force: true });
}

/**
 * The bootstrap servers for a client on the operator's side of the network. When every broker
 * has a public address, that is the EXTERNAL listener (advertised there); otherwise the operator
 * shares the cluster network (local, most static inventories) and uses the CLIENT listener.
 * Mixing the two would not work: a listener's metadata names only the brokers that have it.
 */
export function operatorBrokers(inventory: { nodes: readonly Pick<InventoryNode, 'roles' | 'privateAddress' | 'publicAddress'>[] }): string[] {
  const kafka = inventory.nodes.filter((n) => n.roles.includes('kafka'));
  if (!operatorUsesClientListener(inventory.nodes)) return kafka.map((n) => `${n.publicAddress}:${portNumber('kafka', 'kafka-external')}`);
  return kafka.map((n) => `${n.privateAddress}:${portNumber('kafka', 'kafka-client')}`);
}

/**
 * Whether millrace's own clients reach Kafka at the CLIENT listener (operatorBrokers): not every
 * broker has a public address. The local firewall and `list` open and probe 9093 then.
 */
export function operatorUsesClientListener(nodes: readonly Pick<InventoryNode, 'roles' | 'privateAddress' | 'publicAddress'>[]): boolean {
  const kafka = nodes.filter((n) => n.roles.includes('kafka'));
  return !(kafka.length > 0 && kafka.every(hasPublicAddress));
}
