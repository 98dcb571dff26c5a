import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Target } from './config';
import { MillraceError } from './errors';
import { hasPublicAddress, portNumber, type Role } from './roles';
import { clusterStateDir } from './paths';

/**
 * What every target produces and the provisioner consumes. The provisioner knows nothing of
 * how the nodes were made: EC2, an existing host, or a local container.
 */
export interface InventoryNode {
  name: string;
  roles: Role[];
  /** Address SSH connects to (a public IP on AWS). */
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
  const file = inventoryPath(inv.cluster);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify(inv, null, 2) + '\n', { mode: 0o600 });
  return file;
}

export function readInventory(cluster: string): Inventory {
  const file = inventoryPath(cluster);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Inventory;
  } catch (error) {
    throw new MillraceError(`no inventory for cluster "${cluster}" at ${file}`, {
      hint: 'run `millrace up` first',
      cause: error,
    });
  }
}

export function removeInventory(cluster: string): void {
  fs.rmSync(inventoryPath(cluster), { force: true });
}

/**
 * The bootstrap servers for a client on the operator's side of the network. When every broker
 * has a public address, that is the EXTERNAL listener (advertised there); otherwise the operator
 * shares the cluster network (local, most static inventories) and uses the CLIENT listener.
 * Mixing the two would not work: a listener's metadata names only the brokers that have it.
 */
export function operatorBrokers(inventory: Pick<Inventory, 'nodes'>): string[] {
  const kafka = inventory.nodes.filter((n) => n.roles.includes('kafka'));
  if (kafka.length > 0 && kafka.every(hasPublicAddress)) return kafka.map((n) => `${n.publicAddress}:${portNumber('kafka', 'kafka-external')}`);
  return kafka.map((n) => `${n.privateAddress}:${portNumber('kafka', 'kafka-client')}`);
}
