/** `millrace produce` flags → settings, checked at the edge with a hint for each mistake. */
import { UsageError } from '../lib/errors';
import { dlqTopicFor, PipelineSpec } from '../lib/pipeline-spec';
import type { ProduceSettings } from './pipeline';

export interface ProduceFlags {
  topic?: string;
  key?: string;
  rate: string;
  replaySpeed?: string;
  limit?: string;
  skip: string;
  pollInterval: string;
  seed: string;
  invalidEvery?: string;
  batchSize: string;
  maxInFlight: string;
  retryTimeout: string;
}

export interface ProduceOptions {
  settings: ProduceSettings;
  pollIntervalMs: number;
  seed: number;
  invalidEvery?: number;
  maxInFlight: number;
  /** How long a batch is re-sent after a transient failure (a broker restarting) before the run fails. */
  retryTimeoutMs: number;
}

export const LINGER_MS = 50;

export function integerFlag(flag: string, text: string, min: number): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min)
    throw new UsageError(`${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ' (0 or more)'}, got "${text}"`);
  return v;
}

function positiveNumberFlag(flag: string, text: string, hint: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} must be a positive number, got "${text}"`, { hint });
  return v;
}

/** --rate: events per second, or `max` for no limit (undefined). */
export function parseRate(text: string): number | undefined {
  if (text.trim().toLowerCase() === 'max') return undefined;
  return positiveNumberFlag('--rate', text, 'give events per second, e.g. --rate 5000, or --rate max');
}

export function parseProduceFlags(flags: ProduceFlags, spec: PipelineSpec): ProduceOptions {
  const topic = flags.topic ?? spec.topic;
  const fieldNames = spec.fields.map((f) => f.name);
  if (flags.key !== undefined && !fieldNames.includes(flags.key))
    throw new UsageError(`--key ${flags.key} is not a field of the spec`, { hint: `use one of ${fieldNames.join(', ')}` });
  return {
    settings: {
      topic,
      dlqTopic: dlqTopicFor(topic),
      ...(flags.key === undefined ? {} : { keyField: flags.key }),
      rate: parseRate(flags.rate),
      replaySpeed: flags.replaySpeed === undefined ? undefined : positiveNumberFlag('--replay-speed', flags.replaySpeed, 'e.g. --replay-speed 3600 plays an hour of event time per second'),
      limit: flags.limit === undefined ? undefined : integerFlag('--limit', flags.limit, 0),
      skip: integerFlag('--skip', flags.skip, 0),
      batchSize: integerFlag('--batch-size', flags.batchSize, 1),
      lingerMs: LINGER_MS,
    },
    pollIntervalMs: integerFlag('--poll-interval', flags.pollInterval, 1),
    seed: integerFlag('--seed', flags.seed, 0),
    ...(flags.invalidEvery === undefined ? {} : { invalidEvery: integerFlag('--invalid-every', flags.invalidEvery, 1) }),
    maxInFlight: integerFlag('--max-in-flight', flags.maxInFlight, 1),
    retryTimeoutMs: integerFlag('--retry-timeout', flags.retryTimeout, 0) * 1000,
  };
}
