/**
 * Kafka's node ids and its KRaft controller quorum: assigned once, kept in the cluster state
 * (kafka-identities.json) and on each broker (meta.properties), and independent of the order of
 * the config's node list. A node added later gets the next unused id; a removed node's id is
 * never given to another node.
 *
 * The quorum is static (controller.quorum.voters) and chosen when the cluster is first formatted:
 * `kafka.controllers`, or by default the first 3 kafka nodes (1 when there are fewer than 3).
 * Voters run broker and controller combined; every other kafka node is a broker only. Changing
 * the voters of a formatted cluster is refused: Kafka changes a quorum only through its
 * dynamic-quorum procedure (KIP-853: kraft.version 1, `kafka-metadata-quorum add-controller` /
 * `remove-controller`), which millrace does not run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../lib/errors';
import { inventoryPath, kafkaIdentitiesPath } from '../lib/inventory';
import { clusterStateDir } from '../lib/paths';

export interface KafkaIdentities {
  /** Node name → KRaft node.id. Holds every kafka node the cluster has ever had. */
  nodeIds: Record<string, number>;
  /** The next id to give; never lowered, so no id is used twice. */
  nextId: number;
  /** The controller quorum's voters, by node name, in id order. */
  controllers: string[];
}

/** The quorum would change, or lose a voter: refused before anything is created or changed. */
export class KafkaQuorumError extends MillraceError {
  override readonly exitCode = 2;
}

/** The default voters of a new cluster: 3 when it can have them, else 1 (2 voters tolerate no more failures than 1). */
export function defaultControllers(kafkaNodes: readonly string[]): string[] {
  return kafkaNodes.slice(0, kafkaNodes.length >= 3 ? 3 : 1);
}

export interface IdentityInput {
  /** The kafka nodes now in the config, in its order. */
  kafkaNodes: readonly string[];
  /** kafka.controllers, if the config sets it. */
  requested?: readonly string[];
  /** What the cluster state holds, if anything. */
  stored?: KafkaIdentities;
  /**
   * The cluster was formatted before millrace kept identities (a Kafka cluster id exists but no
   * identities file): ids were positions in the list and every kafka node was a voter.
   */
  legacy: boolean;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
const list = (names: readonly string[]): string => `[${names.join(', ')}]`;

/**
 * The identities for the config's kafka nodes: the stored ones, plus new ids for new nodes.
 * Pure. Throws KafkaQuorumError when the config would change the quorum or drop a voter.
 */
export function assignKafkaIdentities(input: IdentityInput): KafkaIdentities {
  const { kafkaNodes, requested } = input;
  const byPosition = (): Record<string, number> => Object.fromEntries(kafkaNodes.map((n, i) => [n, i + 1]));
  const base: KafkaIdentities = input.stored
    ? { nodeIds: { ...input.stored.nodeIds }, nextId: input.stored.nextId, controllers: [...input.stored.controllers] }
    : input.legacy
      ? { nodeIds: byPosition(), nextId: kafkaNodes.length + 1, controllers: [...kafkaNodes] }
      : { nodeIds: byPosition(), nextId: kafkaNodes.length + 1, controllers: requested ? [...requested] : defaultControllers(kafkaNodes) };
  const formatted = input.stored !== undefined || input.legacy;

  if (formatted && requested && !sameSet(requested, base.controllers))
    throw new KafkaQuorumError(`kafka.controllers asks for the KRaft voters ${list(requested)}, but this cluster's quorum is ${list(base.controllers)}, fixed when its storage was formatted; nothing was changed`, {
      hint: `set kafka.controllers to ${list(base.controllers)}, or remove it. millrace keeps a static quorum (controller.quorum.voters); changing its voters takes Kafka's dynamic-quorum procedure (KIP-853), which millrace does not run`,
    });
  const lost = base.controllers.filter((c) => !kafkaNodes.includes(c));
  if (lost.length)
    throw new KafkaQuorumError(
      `${list(lost)} ${lost.length > 1 ? 'are KRaft controller voters' : 'is a KRaft controller voter'} of this cluster, and the config no longer has ${lost.length > 1 ? 'them' : 'it'} as a kafka node; nothing was changed`,
      {
        hint: `keep ${lost.join(', ')} in nodes with the kafka role. Removing a voter would leave the quorum ${list(base.controllers)} short of a member for good; brokers that are not voters (${kafkaNodes.filter((n) => !base.controllers.includes(n)).join(', ') || 'none yet'}) can be removed`,
      },
    );

  let nextId = Math.max(base.nextId, ...Object.values(base.nodeIds).map((id) => id + 1));
  for (const name of kafkaNodes) if (base.nodeIds[name] === undefined) base.nodeIds[name] = nextId++;
  const controllers = [...base.controllers].sort((a, b) => base.nodeIds[a]! - base.nodeIds[b]!);
  return { nodeIds: base.nodeIds, nextId, controllers };
}

/** The stored identities of a cluster, or undefined before its first `up`. */
export function readKafkaIdentities(clusterName: string): KafkaIdentities | undefined {
  const file = kafkaIdentitiesPath(clusterName);
  if (!fs.existsSync(file)) return undefined;
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<KafkaIdentities>;
  if (typeof raw.nodeIds !== 'object' || !raw.nodeIds || typeof raw.nextId !== 'number' || !Array.isArray(raw.controllers))
    throw new MillraceError(`${file} is not a millrace Kafka identities file (it needs nodeIds, nextId and controllers)`, {
      hint: `restore it from a backup of ${clusterStateDir(clusterName)}; it records which node has which Kafka node id`,
    });
  return { nodeIds: raw.nodeIds, nextId: raw.nextId, controllers: raw.controllers };
}

/** A cluster with nodes whose Kafka storage was formatted before the identities file existed. */
function isLegacy(clusterName: string): boolean {
  return fs.existsSync(path.join(clusterStateDir(clusterName), 'kafka-cluster-id')) && fs.existsSync(inventoryPath(clusterName));
}

/** The identities for these kafka nodes from the cluster state, without writing anything. */
export function planKafkaIdentities(clusterName: string, kafkaNodes: readonly string[], requested: readonly string[] | undefined): KafkaIdentities {
  const stored = readKafkaIdentities(clusterName);
  return assignKafkaIdentities({ kafkaNodes, requested, stored, legacy: !stored && isLegacy(clusterName) });
}

/** As planKafkaIdentities, and records the result (`up` only). Call it before the Kafka cluster id is made. */
export function ensureKafkaIdentities(clusterName: string, kafkaNodes: readonly string[], requested: readonly string[] | undefined): KafkaIdentities {
  const ids = planKafkaIdentities(clusterName, kafkaNodes, requested);
  const file = kafkaIdentitiesPath(clusterName);
  const text = JSON.stringify(ids, null, 2) + '\n';
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }
  return ids;
}
