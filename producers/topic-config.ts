/**
 * `--topic-config k=v` and `--delete-config k` for `topics create` and `topics alter`: checked here,
 * before anything reaches Kafka, which then judges the names and values itself.
 */
import { UsageError } from '../lib/errors';

/** Kafka's topic config names: lowercase words joined by dots (retention.ms, cleanup.policy). */
const CONFIG_NAME = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;

export const TOPIC_CONFIG_DOCS = 'https://kafka.apache.org/documentation/#topicconfigs';

function checkName(flag: string, given: string, name: string): void {
  if (!CONFIG_NAME.test(name))
    throw new UsageError(`${flag} ${given}: "${name}" is not a topic config name`, { hint: `names look like retention.ms or cleanup.policy; see ${TOPIC_CONFIG_DOCS}` });
}

/** Repeated `--topic-config k=v` flags as a map; a key given twice, a missing `=` or an empty value is a usage error. */
export function parseTopicConfigs(pairs: readonly string[], flag = '--topic-config'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i < 0) throw new UsageError(`${flag} ${pair}: expected key=value`, { hint: `e.g. ${flag} retention.ms=86400000` });
    const key = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    if (!key) throw new UsageError(`${flag} ${pair}: the key is empty`, { hint: `e.g. ${flag} retention.ms=86400000` });
    checkName(flag, pair, key);
    if (!value) throw new UsageError(`${flag} ${pair}: the value of ${key} is empty`, { hint: `to go back to the broker default, use --delete-config ${key} (topics alter)` });
    if (key in out) throw new UsageError(`${flag} ${key} is given twice (${key}=${out[key]} and ${pair})`, { hint: 'give each key once' });
    out[key] = value;
  }
  return out;
}

/** `--delete-config k` flags: names, none also set in the same command. */
export function parseConfigDeletions(names: readonly string[], set: Record<string, string>): string[] {
  for (const n of names) {
    checkName('--delete-config', n, n);
    if (n in set) throw new UsageError(`${n} is both set (--topic-config) and deleted (--delete-config)`, { hint: 'give one of the two' });
  }
  return [...new Set(names)];
}

/** The broker's refusal of a config (an unknown name, a bad value), unwrapped from kafkajs's wrappers. */
export function configRefusal(error: unknown): { type: string; message: string } | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown): { type: string; message: string } | undefined => {
    if (!e || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const x = e as { type?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (x.type === 'INVALID_CONFIG' || x.type === 'INVALID_REQUEST' || x.type === 'POLICY_VIOLATION') return { type: x.type, message: String(x.message ?? '') };
    for (const inner of [x.cause, x.originalError, ...(Array.isArray(x.errors) ? x.errors : [])]) {
      const found = walk(inner);
      if (found) return found;
    }
    return undefined;
  };
  return walk(error);
}
