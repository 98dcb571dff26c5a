/**
 * What `millrace topics create` makes, computed before anything is sent: the topics and the
 * ACLs that let the pipeline principal use them. Pure, so the grants are reviewed in tests.
 */
import { dlqTopicFor } from '../lib/pipeline-spec';
import { checkPrincipal, groupPrefix } from '../lib/principals';
import type { AclBinding, AclOperation, TopicDescription } from './kafka-types';

export interface TopicPlanRequest {
  name: string;
  partitions: number;
  /** A number, or undefined for "auto": as many as there are brokers, at most 3. */
  replicationFactor?: number;
  brokers: number;
  dlq: boolean;
  /** The principal that produces and consumes, e.g. `pipeline`. */
  principal: string;
}

export interface TopicPlan {
  topics: { name: string; partitions: number; replicationFactor: number; config: Record<string, string> }[];
  acls: AclBinding[];
  /**
   * Grants millrace made before groups were scoped to "<principal>-": READ on the groups prefixed
   * by the bare name, which let "pipe" use the groups of "pipeline". Removed where they exist.
   */
  revoke: AclBinding[];
}

const TOPIC_OPERATIONS: AclOperation[] = ['read', 'write', 'describe'];

export function autoReplicationFactor(brokers: number): number {
  return Math.max(1, Math.min(3, brokers));
}

export function planTopics(req: TopicPlanRequest): TopicPlan {
  const rf = req.replicationFactor ?? autoReplicationFactor(req.brokers);
  // With acks=all, one replica may be down and writes still succeed; one broker needs 1.
  const config = { 'min.insync.replicas': String(Math.max(1, rf - 1)) };
  const names = [req.name, ...(req.dlq ? [dlqTopicFor(req.name)] : [])];
  // A wildcard or a name the brokers cannot map would grant more than one client, or nobody.
  const principal = `User:${checkPrincipal(req.principal)}`;
  const acls: AclBinding[] = names.flatMap((name) =>
    TOPIC_OPERATIONS.map((operation): AclBinding => ({ resourceType: 'topic', resourceName: name, patternType: 'literal', principal, host: '*', operation, permission: 'allow' })),
  );
  // Consumer groups are the principal's own namespace: `pipeline-…` for the `pipeline` principal
  // (with the "-": a bare "pipe" prefix would also cover the groups of `pipeline`).
  acls.push({ resourceType: 'group', resourceName: groupPrefix(req.principal), patternType: 'prefixed', principal, host: '*', operation: 'read', permission: 'allow' });
  const legacy: AclBinding = { resourceType: 'group', resourceName: req.principal, patternType: 'prefixed', principal, host: '*', operation: 'read', permission: 'allow' };
  return { topics: names.map((name) => ({ name, partitions: req.partitions, replicationFactor: rf, config })), acls, revoke: [legacy] };
}

export function formatAcl(a: AclBinding): string {
  const pattern = a.patternType === 'prefixed' ? `${a.resourceName}*` : a.resourceName;
  return `${a.permission.toUpperCase()} ${a.principal} ${a.operation.toUpperCase()} on ${a.resourceType} ${pattern}${a.host === '*' ? '' : ` from ${a.host}`}`;
}

export function formatTopicDescription(t: TopicDescription, acls: AclBinding[]): string {
  const rf = t.partitions[0]?.replicas.length ?? 0;
  const lines = [`${t.name}: ${t.partitions.length} partitions, replication factor ${rf}`];
  for (const p of t.partitions) lines.push(`  partition ${p.partition}: leader ${p.leader}, replicas [${p.replicas.join(',')}], isr [${p.isr.join(',')}]`);
  const config = Object.entries(t.config).sort(([a], [b]) => a.localeCompare(b));
  lines.push(config.length ? `  config: ${config.map(([k, v]) => `${k}=${v}`).join(', ')}` : '  config: broker defaults');
  lines.push(acls.length ? `  acls:\n${acls.map((a) => `    ${formatAcl(a)}`).join('\n')}` : '  acls: none');
  return lines.join('\n');
}
