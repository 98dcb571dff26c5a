import type { Inventory, InventoryNode } from '../lib/inventory';
import type { Role } from '../lib/roles';

export function nodesWithRoleIn(inventory: Inventory): (role: Role) => InventoryNode[] {
  return (role) => inventory.nodes.filter((n) => n.roles.includes(role));
}
