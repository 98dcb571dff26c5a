/**
 * The contract between the stack and `millrace up`: the stack writes one output, `nodes`, and the
 * aws target reads it back from `terraform output -json`. No cdktf here, so both sides can share it.
 */
import type { Role } from '../lib/roles';

export const NODES_OUTPUT = 'nodes';
/** With aws.bastion: `{ id, public_ip, private_ip }` of the SSH bastion the nodes are reached through. */
export const BASTION_OUTPUT = 'bastion';

/** One node under the `nodes` output, which is keyed by node name. */
export interface NodeOutput<T = string> {
  /** EC2 instance id. */
  id: T;
  private_ip: T;
  /** Empty when the subnet gives the node no public address. */
  public_ip: T;
  roles: Role[];
}
