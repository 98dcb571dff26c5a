/** What a terraform plan will do, read from `terraform show -json <plan>`: counts, and what goes. */
import { MillraceError } from '../../lib/errors';

export interface PlanSummary {
  create: number;
  update: number;
  replace: number;
  destroy: number;
  /** create + update + replace + destroy. */
  changes: number;
  /** Addresses of resources the plan destroys or replaces: the ones that cost data. */
  destructive: string[];
  /** One line, as terraform says it: "Plan: 3 to add, 0 to change, 0 to destroy." plus replacements. */
  text: string;
}

interface ShowJson {
  resource_changes?: { address: string; change: { actions: string[] } }[];
}

export function planSummary(json: string): PlanSummary {
  let doc: ShowJson;
  try {
    doc = JSON.parse(json) as ShowJson;
  } catch (error) {
    throw new MillraceError('`terraform show -json` did not print JSON', { cause: error });
  }
  const s = { create: 0, update: 0, replace: 0, destroy: 0 };
  const destructive: string[] = [];
  for (const rc of doc.resource_changes ?? []) {
    const a = rc.change.actions.join(',');
    if (a === 'create') s.create++;
    else if (a === 'update') s.update++;
    else if (a === 'delete') (s.destroy++, destructive.push(rc.address));
    else if (a === 'delete,create' || a === 'create,delete') (s.replace++, destructive.push(rc.address));
  }
  const changes = s.create + s.update + s.replace + s.destroy;
  const text = changes
    ? `Plan: ${s.create} to add, ${s.update} to change, ${s.replace} to replace, ${s.destroy} to destroy.${destructive.length ? ` Destroyed or replaced: ${destructive.join(', ')}.` : ''}`
    : 'No changes: the AWS resources match the config.';
  return { ...s, changes, destructive, text };
}
