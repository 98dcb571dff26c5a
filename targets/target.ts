/**
 * Where nodes come from. One interface, one implementation per target (modelled on kind's
 * Provider): create nodes, list them, delete them, describe, and what the target can do. The
 * provisioner never sees a target, only the inventory a target writes.
 */
import type { ClusterConfig, Target as TargetName } from '../lib/config';
import type { Inventory } from '../lib/inventory';

export type Report = (message: string) => void;

export interface TargetCapabilities {
  /** `up` creates the nodes and `down` destroys them; a static target's hosts are the user's own. */
  ownsNodes: boolean;
  /** Every node gets a blank data disk that the provisioner formats and mounts at /var/lib/millrace. */
  dataVolume: boolean;
  /** `plan` previews what `up` would create. */
  plan: boolean;
  /** The target boots its nodes on this machine and needs root here (systemd-nspawn). */
  needsRootHere: boolean;
}

export interface NodeState {
  name: string;
  /** running, stopped, or absent; `unknown` where the target cannot tell without connecting. */
  state: 'running' | 'stopped' | 'absent' | 'unknown';
  address?: string;
  /** An EC2 instance id, a local machine name. */
  id?: string;
}

/** What `up` may pass a target that plans before it creates (aws). */
export interface UpOptions {
  /** Apply without asking. */
  yes?: boolean;
  /** Asked with the plan's summary before anything is created or destroyed. */
  confirm?: (summary: { text: string; changes: number }) => Promise<boolean>;
  /** A saved plan to apply exactly. */
  planFile?: string;
  /**
   * Runs once the changes are confirmed (or need no question), before any node is created,
   * changed or destroyed: where `up` drains the brokers and decommissions the DataNodes that leave,
   * so that a plan the operator turns down leaves the cluster as it was.
   */
  beforeChanges?: () => Promise<void>;
}

export interface DeleteResult {
  /** The nodes removed. */
  removed: string[];
  /** What outlives the delete by design, one line each (a KMS key waiting out its deletion window). */
  left: string[];
}

export interface Target {
  readonly name: TargetName;
  readonly capabilities: TargetCapabilities;
  /** Fails early, with what to do, when this machine lacks what the target needs. Changes nothing. */
  checkPrerequisites(): Promise<void>;
  /** Creates the nodes, or finds them, waits until they accept SSH, and writes the inventory. */
  createNodes(report: Report, opts?: UpOptions): Promise<Inventory>;
  /**
   * Once every node runs the new config (after `up` bootstrapped them): closes what only the old
   * config needed and createNodes kept open meanwhile (the local firewall's flows to a KDC or a role
   * that moved).
   */
  afterBootstrap?(): Promise<void>;
  /** The nodes the target knows of, without changing anything. */
  listNodes(): Promise<NodeState[]>;
  /** Destroys every node the target created (the caller has asked for confirmation). */
  deleteNodes(report: Report): Promise<DeleteResult>;
  /** `cache warm`: what the target keeps on this machine ahead of `up` (the local host image). */
  warmCache?(report: Report): Promise<Record<string, string>>;
  /** `plan`: what `up` would change, streamed, and summed up; saved to `out` for `up --plan`. Only where capabilities.plan. */
  plan?(out?: string): Promise<{ text: string; changes: number }>;
  /** One line: where this cluster's nodes come from. */
  describe(): string;
}

/** The target for a config; each is loaded on demand (cdktf is heavy, and only aws needs it). */
export async function targetFor(config: ClusterConfig): Promise<Target> {
  switch (config.target) {
    case 'aws': {
      const { AwsTarget } = await import('./aws');
      return new AwsTarget(config);
    }
    case 'static': {
      const { StaticTarget } = await import('./static');
      return new StaticTarget(config);
    }
    case 'local': {
      const { LocalTarget } = await import('./local');
      return new LocalTarget(config);
    }
  }
}
