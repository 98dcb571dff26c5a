/**
 * Reads `terraform output -json` back into the inventory: the same shape the local and static
 * targets produce, so the provisioner never learns where the nodes came from.
 */
import type { ClusterConfig } from '../../lib/config';
import { MillraceError } from '../../lib/errors';
import { type Inventory, type InventoryNode, parseInventory } from '../../lib/inventory';
import { Role, ROLES } from '../../lib/roles';
import { awsSshUser } from '../../stacks/ami-families';
import { BASTION_OUTPUT, NodeOutput, NODES_OUTPUT } from '../../stacks/node-output';

const HINT = 'run `millrace up --target aws` again; if it persists, check the stack with `terraform output -json` in the synth directory';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nodeOutput(name: string, value: unknown): NodeOutput {
  const bad = (what: string) => new MillraceError(`terraform output "nodes" has ${what} for node ${name}`, { hint: HINT });
  if (!isRecord(value)) throw bad('no object');
  const { id, private_ip, public_ip, roles } = value;
  if (typeof id !== 'string' || !id) throw bad('no instance id');
  if (typeof private_ip !== 'string' || !private_ip) throw bad('no private IP');
  if (public_ip !== undefined && public_ip !== null && typeof public_ip !== 'string') throw bad('a malformed public IP');
  if (!Array.isArray(roles) || !roles.every((r): r is Role => (ROLES as readonly unknown[]).includes(r))) throw bad('unknown roles');
  return { id, private_ip, public_ip: public_ip ?? '', roles };
}

/** The bastion's public IP from the `bastion` output (aws.bastion). */
function bastionAddress(outputs: Record<string, unknown>): string {
  const entry = outputs[BASTION_OUTPUT];
  const value = isRecord(entry) ? entry.value : undefined;
  const ip = isRecord(value) ? value.public_ip : undefined;
  if (typeof ip !== 'string' || !ip)
    throw new MillraceError('terraform reported no public IP for the bastion (output "bastion"): aws.bastion is on but the stack has no bastion', { hint: HINT });
  return ip;
}

/** Parses `terraform output -json` text; every configured node must be in it. */
export function inventoryFromOutputs(config: ClusterConfig, outputJson: string, privateKeyPath: string, now = new Date()): Inventory {
  let parsed: unknown;
  try {
    parsed = JSON.parse(outputJson);
  } catch (error) {
    throw new MillraceError('`terraform output -json` did not print JSON', { hint: HINT, cause: error });
  }
  const entry = isRecord(parsed) ? parsed[NODES_OUTPUT] : undefined;
  const nodesOutput = isRecord(entry) ? entry.value : undefined;
  if (!isRecord(nodesOutput)) throw new MillraceError('terraform reported no "nodes" output: the stack has not been applied', { hint: HINT });

  const missing = config.nodes.filter((n) => !(n.name in nodesOutput)).map((n) => n.name);
  if (missing.length > 0)
    throw new MillraceError(`terraform output "nodes" lacks ${missing.join(', ')}: the state does not match the config`, { hint: HINT });

  const sshUser = awsSshUser(config);
  const jumpHost = config.aws.bastion ? { address: bastionAddress(parsed as Record<string, unknown>), port: 22, user: sshUser } : undefined;
  const nodes = config.nodes.map((n): InventoryNode => {
    const out = nodeOutput(n.name, nodesOutput[n.name]);
    return {
      name: n.name,
      roles: out.roles,
      // Through the bastion, SSH reaches every node at its private address. Without one and without
      // a public IP (an existing subnet that gives none), the operator must reach the private
      // address, e.g. over a VPN; that is still better than no inventory at all.
      sshAddress: jumpHost ? out.private_ip : out.public_ip || out.private_ip,
      sshPort: 22,
      ...(jumpHost ? { jumpHost } : {}),
      sshUser,
      privateKeyPath,
      privateAddress: out.private_ip,
      ...(out.public_ip ? { publicAddress: out.public_ip } : {}),
      id: out.id,
      // The stack attaches one encrypted gp3 volume of this size (NVMe on Nitro: TYPE disk).
      dataVolume: { sizeBytes: config.aws.dataVolumeGb * 1024 ** 3, deviceTypes: ['disk'] },
    };
  });
  // Addresses from the outputs end up in shell commands and config files: checked like the file.
  return parseInventory({ cluster: config.name, target: 'aws', createdAt: now.toISOString(), nodes }, '`terraform output -json`');
}
