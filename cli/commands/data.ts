/** Data in and out of the cluster's Kafka: produce, consume, topics. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import type { ClusterConfig } from '../../lib/config';
import { HealthCheckError, MillraceError, TimeoutError, UsageError } from '../../lib/errors';
import { loadPipelineSpec } from '../../lib/pipeline-spec';
import { runConsume } from '../../consumers/consume';
import { formatLag, totalLag } from '../../consumers/format';
import { formatVerify } from '../../consumers/verify';
import { createKafkaClient, KafkaClient } from '../../producers/kafka-client';
import { startProgress } from '../../producers/live-progress';
import { newStats, runProduce } from '../../producers/pipeline';
import { integerFlag, parseProduceFlags, ProduceFlags } from '../../producers/produce-options';
import { formatSummary } from '../../producers/progress';
import { openSource, planSource } from '../../producers/sources/open';
import { formatAcl, formatTopicDescription, planTopics } from '../../producers/topic-plan';
import { configFor, globals, output } from '../context';
import { checkPositionFlags, resolveStart, StartPosition } from '../../consumers/position';
import { configRefusal, parseConfigDeletions, parseTopicConfigs, TOPIC_CONFIG_DOCS } from '../../producers/topic-config';

/** A repeatable flag; no default, so help shows none. */
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
import { ADMIN_PRINCIPAL, checkClientPrincipal, PIPELINE_PRINCIPAL } from '../../lib/principals';
import { kafkaConnectionFor } from '../kafka-connection';

type ProduceCliFlags = ProduceFlags & { source?: string; format?: string; spec?: string; sourceName?: string; principal: string };

interface ConsumeCliFlags {
  count?: string;
  partition?: string;
  offset?: string;
  printKey?: boolean;
  fromBeginning?: boolean;
  raw?: boolean;
  verify?: boolean;
  toEnd?: boolean;
  lag?: boolean;
  group?: string;
  spec?: string;
  idField?: string;
  timeout: string;
  principal: string;
}

/** How commands reach Kafka; tests pass an in-memory client. */
export interface DataDeps {
  connect(config: ClusterConfig, principal: string): Promise<KafkaClient>;
}

const realKafka: DataDeps = { connect: async (config, principal) => createKafkaClient(await kafkaConnectionFor(config, principal)) };

export function registerData(program: Command, deps: DataDeps = realKafka): void {
  program
    .command('produce')
    .description('send records from a file, an HTTP endpoint or a generator to a topic, validated against a pipeline spec')
    .option('--source <file|url|synthetic|->', 'a .jsonl/.json/.csv/.parquet file, vega:<file> from vega-datasets, an http(s) URL, "synthetic", or - for standard input')
    .addOption(new Option('--format <format>', 'file format (default: from the extension; jsonl for standard input)').choices(['jsonl', 'json', 'csv', 'parquet']))
    .option('--spec <pipeline.yaml>', 'pipeline spec: fields, types, key, id and event time')
    .option('--topic <name>', "topic to produce to (default: the spec's topic); invalid records go to <topic>.dlq")
    .option('--key <field>', "field whose value keys each event (default: the spec's key)")
    .option('--rate <n|max>', 'target events per second, or max', 'max')
    .option('--replay-speed <x>', "pace by the spec's event time at x times real time")
    .option('--limit <n>', 'stop after n records')
    .option('--skip <n>', 'start at record n (ids stay the same as in a full run)', '0')
    .option('--poll-interval <ms>', 'how often to poll an HTTP source', '5000')
    .option('--seed <n>', 'seed of the synthetic generator', '1')
    .option('--invalid-every <n>', 'synthetic: make every n-th record invalid, to exercise the DLQ')
    .option('--source-name <name>', 'name used in assigned ids (<name>#<position>); default: the file name')
    .option('--batch-size <n>', 'records per batch', '500')
    .option('--max-in-flight <n>', 'batches awaiting acknowledgement at once', '4')
    .option('--retry-timeout <s>', 'keep re-sending a batch this long while a broker restarts or a leader moves (0: no re-sends of millrace\'s own; a batch fails when the client\'s own retries give up, librdkafka\'s after 10 s)', '300')
    .option('--principal <name>', 'client certificate principal', PIPELINE_PRINCIPAL)
    .addHelpText(
      'after',
      '\nExamples:\n  millrace produce --spec examples/pipelines/flights.yaml --source vega:flights-3m.parquet --rate 20000 --limit 100000\n' +
        '  millrace produce --spec flights.yaml --source synthetic --invalid-every 1000 --rate 100\n' +
        '  cat events.jsonl | millrace produce --spec flights.yaml --source -\n' +
        '  millrace produce --spec flights.yaml --source - --format csv < flights.csv\n\nCtrl-C stops reading, flushes what is in flight and prints the summary.',
    )
    .action(async function (this: Command, flags: ProduceCliFlags) {
      if (!flags.spec) throw new UsageError('produce needs --spec', { hint: 'e.g. --spec examples/pipelines/flights.yaml' });
      if (!flags.source) throw new UsageError('produce needs --source', { hint: 'a file, vega:flights-3m.parquet, an http(s) URL, or synthetic' });
      const spec = loadPipelineSpec(path.resolve(flags.spec));
      const options = parseProduceFlags(flags, spec);
      const plan = planSource(flags.source, flags.format);
      if (plan.kind === 'stdin' && process.stdin.isTTY) process.stderr.write(`reading ${plan.format} records from the terminal; end with Ctrl-D\n`);
      const source = openSource(plan, spec, {
        pollIntervalMs: options.pollIntervalMs,
        seed: options.seed,
        invalidEvery: options.invalidEvery,
        name: flags.sourceName,
      });
      const { topic, dlqTopic } = options.settings;
      const run = await withKafka(deps, configFor(this), flags.principal, async (client, signal) => {
        await requireTopics(client, [topic, dlqTopic], flags.principal);
        let retries = 0;
        const producer = await client.batchProducer({ maxInFlight: options.maxInFlight, retryTimeoutMs: options.retryTimeoutMs, onRetry: () => retries++ });
        const stats = newStats();
        const progress = startProgress(stats, process.stderr);
        try {
          const done = await runProduce({ spec, settings: options.settings, source, producer, signal, stats });
          return { ...done, summary: { ...done.summary, client: producer.library, retriedBatches: retries } };
        } finally {
          progress.stop();
          await producer.close();
        }
      }, 'stopping: flushing what is in flight');
      output(this, formatSummary(run.summary), run.summary);
      if (run.failure !== undefined) throw produceFailure(run.failure, topic);
    });

  program
    .command('consume <topic>')
    .description("tail a topic, verify its event ids, or show a consumer group's lag")
    .option('-n, --count <n>', 'stop after n messages')
    .option('--from-beginning', 'start at the oldest message (default: only new ones)')
    .option('-e, --to-end', 'stop at the end of what the topic holds now (each partition read to its end offset); starts at the oldest message unless --offset')
    .option('-p, --partition <n>', 'read only this partition')
    .option('-o, --offset <n|earliest|latest>', 'where to start: an offset (needs --partition), earliest or latest')
    .option('--raw', 'print only each message value')
    .option('-K, --print-key', 'print each message as its key, a tab, and its value')
    .option('--verify', 'read what the topic holds now and count messages, distinct ids, duplicates and invalid JSON; fails on duplicates')
    .option('--spec <pipeline.yaml>', 'take the id field from a pipeline spec (for --verify)')
    .option('--id-field <name>', 'JSON field with the event id (for --verify)', 'event_id')
    .option('--lag', 'show the lag of --group per partition and exit')
    .option('--group <id>', `consumer group (must start with "<principal>-"; default: a throwaway group)`)
    .option('--timeout <s>', '--verify and --to-end give up after this many seconds without a message', '30')
    .option('--principal <name>', 'client certificate principal', PIPELINE_PRINCIPAL)
    .addHelpText(
      'after',
      '\nWith --json, each message is printed as a JSON object per line (topic, partition, offset, key, value); with --verify and --lag, the report is.\n' +
        '--partition reads one partition; --offset starts there (a number needs --partition). Consumer groups are throwaway unless --group.',
    )
    .action(async function (this: Command, topic: string, flags: ConsumeCliFlags) {
      const json = !!globals(this).json;
      const position = checkPositionFlags(flags);
      if (flags.lag) {
        if (!flags.group) throw new UsageError('--lag needs --group <id>', { hint: 'name the consumer group whose lag to show' });
        const group = flags.group;
        const config = configFor(this);
        const rows = await withKafka(deps, config, flags.principal, (client) => client.consumerLag(group, topic));
        output(this, formatLag(group, topic, rows), { group, topic, lag: String(totalLag(rows)), partitions: rows });
        return;
      }
      if (flags.toEnd && position.offset?.kind === 'latest')
        throw new UsageError('--to-end with --offset latest reads nothing', { hint: 'drop --offset (--to-end starts at the oldest message) or give an offset' });
      if (flags.verify && flags.group) throw new UsageError('--verify reads the whole topic with a fresh group; drop --group');
      const count = flags.count === undefined ? undefined : integerFlag('--count', flags.count, 1);
      const idField = flags.spec ? loadPipelineSpec(path.resolve(flags.spec)).id : (flags.idField ?? 'event_id');
      const groupId = flags.group ?? `${flags.principal}-consume-${randomBytes(4).toString('hex')}`;
      const idleMs = integerFlag('--timeout', flags.timeout, 1) * 1000;
      // --to-end without --offset reads everything the topic holds.
      const fromOldest = !!flags.fromBeginning || (!!flags.toEnd && position.offset === undefined);
      const config = configFor(this);
      const result = await withKafka(deps, config, flags.principal, async (client, signal) => {
        let start: StartPosition = { fromBeginning: fromOldest || !!flags.verify || position.offset?.kind === 'earliest' };
        if (position.partition !== undefined) {
          await requireTopics(client, [topic], flags.principal);
          start = resolveStart(topic, { ...position, fromBeginning: fromOldest }, await client.topicOffsets(topic));
        }
        return runConsume({
          client,
          topic,
          groupId,
          fromBeginning: start.fromBeginning,
          partition: start.partition,
          startOffset: start.startOffset,
          commit: flags.group !== undefined,
          count,
          toEnd: flags.toEnd ? { idleMs } : undefined,
          verify: flags.verify ? { idField, idleMs } : undefined,
          format: json ? 'json' : flags.printKey ? 'keyed' : flags.raw ? 'raw' : 'human',
          signal,
          write: (line) => process.stdout.write(line + '\n'),
        });
      }, 'stopping');
      const report = result.verify;
      if (!report) {
        if (result.caughtUp === false && !result.interrupted && (count === undefined || result.messages < count))
          throw new TimeoutError(`no message for ${flags.timeout}s before reaching the end of ${topic}; ${result.messages} messages were printed`, { hint: 'raise --timeout' });
        return;
      }
      output(this, formatVerify(topic, report), { topic, ...report });
      if (report.duplicates > 0)
        throw new HealthCheckError(`${topic} holds ${report.duplicates} duplicate event ids`, { hint: 'a producer re-sent records; look them up with `millrace consume --raw`' });
      if (!report.caughtUp && !result.interrupted && count === undefined)
        throw new TimeoutError(`no message for ${flags.timeout}s before reaching the end of ${topic}; the counts above are partial`, { hint: 'raise --timeout' });
    });

  registerTopics(program, deps);
}

function registerTopics(program: Command, deps: DataDeps): void {
  const topics = program.command('topics').description('list, create, describe and delete topics (as the admin principal)');

  topics
    .command('list')
    .description('list topics (without Kafka-internal ones unless --all)')
    .option('--all', 'include internal topics such as __consumer_offsets')
    .action(async function (this: Command, flags: { all?: boolean }) {
      const names = await withKafka(deps, configFor(this), ADMIN_PRINCIPAL, (c) => c.listTopics());
      const shown = names.filter((n) => flags.all || !n.startsWith('__')).sort();
      output(this, shown.length ? shown.join('\n') : '(no topics)', shown);
    });

  topics
    .command('create <name>')
    .description('create a topic and its dead-letter topic, and let the pipeline principal use them')
    .option('--partitions <n>', 'partitions', '3')
    .option('--replication-factor <n|auto>', 'replicas per partition; auto = the number of brokers, at most 3', 'auto')
    .option('--no-dlq', 'do not create <name>.dlq')
    .option('--principal <name>', 'principal granted READ, WRITE and DESCRIBE on the topics and READ on groups <name>-*', PIPELINE_PRINCIPAL)
    .option('--topic-config <key=value>', 'a topic config for the topic (not its .dlq), e.g. retention.ms=86400000 (repeatable)', collect)
    .action(async function (this: Command, name: string, flags: { partitions: string; replicationFactor: string; dlq: boolean; principal: string; topicConfig?: string[] }) {
      refuseMisplacedConfig(this);
      // No wildcard, no node's name, not the super user: a grant names one client.
      const cfg = configFor(this);
      checkClientPrincipal(flags.principal, { nodeNames: cfg.nodes.map((n) => n.name) });
      const partitions = integerFlag('--partitions', flags.partitions, 1);
      const rf = flags.replicationFactor === 'auto' ? undefined : integerFlag('--replication-factor', flags.replicationFactor, 1);
      const extra = parseTopicConfigs(flags.topicConfig ?? []);
      const result = await withKafka(deps, cfg, ADMIN_PRINCIPAL, async (client) => {
        const brokers = (await client.describeCluster()).brokers.length;
        if (rf !== undefined && rf > brokers)
          throw new UsageError(`--replication-factor ${rf} exceeds the ${brokers} broker${brokers === 1 ? '' : 's'}`, { hint: 'use auto, or at most the number of brokers' });
        const plan = planTopics({ name, partitions, replicationFactor: rf, brokers, dlq: flags.dlq, principal: flags.principal });
        const created: { name: string; created: boolean; partitions: number; replicationFactor: number }[] = [];
        for (const t of plan.topics) {
          // The settings given apply to the topic named; its DLQ keeps millrace's (a compacted DLQ of unkeyed records would refuse them).
          const config = t.name === name ? { ...t.config, ...extra } : t.config;
          const made = await client.createTopic(t.name, t.partitions, t.replicationFactor, config).catch(async (e: unknown) => {
            throw await topicConfigFailure(client, e, t.name, config);
          });
          created.push({ name: t.name, partitions: t.partitions, replicationFactor: t.replicationFactor, created: made });
        }
        // Creating an ACL that exists is a no-op on the broker, so a re-run converges.
        await client.createAcls(plan.acls);
        // A grant of the bare-name group prefix (made before groups were "<principal>-") goes.
        const revoked = (await client.deleteAcls(plan.revoke)) > 0 ? plan.revoke : [];
        return { topics: created, acls: plan.acls, revoked };
      });
      const human = [
        ...result.topics.map((t) =>
          t.created
            ? `created ${t.name} (${t.partitions} partitions, replication factor ${t.replicationFactor})`
            : `${t.name} already exists (left as it is${t.name === name && Object.keys(extra).length ? '; change its config with `millrace topics alter`' : ''})`,
        ),
        ...result.acls.map((a) => `granted ${formatAcl(a)}`),
        ...result.revoked.map((a) => `revoked ${formatAcl(a)} (its groups are ${flags.principal}-*)`),
      ].join('\n');
      output(this, human, result);
    });

  topics
    .command('alter <name>')
    .description("change a topic's configs (retention, cleanup policy, ...); the others stay as they are")
    .option('--topic-config <key=value>', 'set a topic config (repeatable)', collect)
    .option('--delete-config <key>', 'remove a topic-level config, back to the broker default (repeatable)', collect)
    .action(async function (this: Command, name: string, flags: { topicConfig?: string[]; deleteConfig?: string[] }) {
      refuseMisplacedConfig(this);
      const set = parseTopicConfigs(flags.topicConfig ?? []);
      const deletions = parseConfigDeletions(flags.deleteConfig ?? [], set);
      if (!Object.keys(set).length && !deletions.length)
        throw new UsageError('topics alter needs --topic-config key=value or --delete-config key', { hint: `e.g. millrace topics alter ${name} --topic-config retention.ms=3600000` });
      const config = await withKafka(deps, configFor(this), ADMIN_PRINCIPAL, async (client) => {
        await requireTopics(client, [name], ADMIN_PRINCIPAL);
        await client.alterTopicConfig(name, { set, delete: deletions }).catch(async (e: unknown) => {
          throw await topicConfigFailure(client, e, name, set);
        });
        return (await client.describeTopics([name]))[0]?.config ?? {};
      });
      const changes = [...Object.entries(set).map(([k, v]) => `set ${k}=${v}`), ...deletions.map((k) => `removed ${k} (broker default)`)];
      const now = Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
      output(this, `${name}: ${changes.join(', ')}\n  config now: ${now.length ? now.map(([k, v]) => `${k}=${v}`).join(', ') : 'broker defaults'}`, { topic: name, set, deleted: deletions, config });
    });

  topics
    .command('describe <name>')
    .description("show a topic's partitions, replicas, non-default config and ACLs")
    .action(async function (this: Command, name: string) {
      const { description, acls } = await withKafka(deps, configFor(this), ADMIN_PRINCIPAL, async (client) => {
        await requireTopics(client, [name], ADMIN_PRINCIPAL);
        const [d] = await client.describeTopics([name]);
        return { description: d!, acls: await client.describeAcls({ resourceType: 'topic', resourceName: name }) };
      });
      output(this, formatTopicDescription(description, acls), { ...description, acls });
    });

  topics
    .command('delete <name>')
    .description('delete a topic and its data (only the one named, not its .dlq)')
    .action(async function (this: Command, name: string) {
      // Deleting what is already gone is "nothing to do" (exit 0), so cleanups can run twice.
      const existed = await withKafka(deps, configFor(this), ADMIN_PRINCIPAL, async (client) => {
        if (!(await client.listTopics()).includes(name)) return false;
        await client.deleteTopic(name);
        return true;
      });
      output(this, existed ? `deleted ${name}` : `${name} does not exist; nothing to delete`, { topic: name, deleted: existed });
    });
}

/**
 * Connects as `principal`, runs fn and always disconnects. With `onInterrupt`, the first Ctrl-C
 * aborts fn's signal so it can finish (flush, summarize); a second one ends the process as usual.
 */
async function withKafka<T>(
  deps: DataDeps,
  config: ClusterConfig,
  principal: string,
  fn: (client: KafkaClient, signal: AbortSignal) => Promise<T>,
  onInterrupt?: string,
): Promise<T> {
  const client = await deps.connect(config, principal);
  const interrupt = new AbortController();
  const onSigint = (): void => {
    process.stderr.write(`\n${onInterrupt} (Ctrl-C again to quit at once)\n`);
    interrupt.abort();
  };
  if (onInterrupt) process.once('SIGINT', onSigint);
  try {
    return await fn(client, interrupt.signal);
  } catch (error) {
    throw error instanceof MillraceError ? error : kafkaFailure(error, principal);
  } finally {
    process.removeListener('SIGINT', onSigint);
    await client.close();
  }
}

async function requireTopics(client: KafkaClient, names: string[], principal: string): Promise<void> {
  const existing = new Set(await client.listTopics());
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length)
    throw new UsageError(
      missing.length === 1
        ? `topic ${missing[0]} does not exist, or ${principal} may not describe it`
        : `topics ${missing.join(' and ')} do not exist, or ${principal} may not describe them`,
      {
        hint: `create ${missing.length === 1 ? 'it' : 'them'} with \`millrace topics create ${missing[0]!.replace(/\.dlq$/, '')}\``,
      },
    );
}

function kafkaFailure(error: unknown, principal: string): MillraceError {
  const message = error instanceof Error ? error.message : String(error);
  const denied = /authori[sz]ation|not authorized|SASL|SSL|certificate/i.test(message);
  return new MillraceError(`Kafka request as ${principal} failed: ${message}`, {
    hint: denied ? `check the ACLs of User:${principal} with \`millrace topics describe <topic>\`` : 'check the brokers with `millrace status`',
    cause: error,
  });
}

/**
 * `-c/--config` is millrace's cluster config file wherever it appears on the command line, so a
 * Kafka-style `--config retention.ms=1` would be read as a config file's name: say what to write.
 */
function refuseMisplacedConfig(cmd: Command): void {
  const given = globals(cmd).config;
  if (/^[a-z][a-z0-9._-]*=/i.test(given) && !fs.existsSync(given))
    throw new UsageError(`--config ${given}: -c/--config names millrace's cluster config file; topic settings are --topic-config key=value`, {
      hint: `e.g. millrace topics ${cmd.name()} <topic> --topic-config ${given}`,
    });
}

/**
 * Kafka's refusal of a topic config, as what to fix. The refusal does not say which setting was
 * wrong (kafkajs drops the broker's message), so each one is checked alone to name it.
 */
async function topicConfigFailure(client: KafkaClient, error: unknown, topic: string, config: Record<string, string>): Promise<unknown> {
  const refusal = configRefusal(error);
  if (!refusal) return error;
  const culprits = await client.refusedTopicConfigs(config).catch(() => [] as string[]);
  const shown = culprits.length ? culprits : Object.keys(config);
  const given = shown.map((k) => `${k}=${config[k]}`).join(', ');
  return new UsageError(`Kafka refused the config of ${topic}: ${given || '(none given)'}: ${refusal.message || refusal.type}`, {
    hint: `check each name and value against ${TOPIC_CONFIG_DOCS} (an unknown name or a value out of range is refused)`,
    cause: error,
  });
}

function produceFailure(failure: unknown, topic: string): MillraceError {
  if (failure instanceof MillraceError) return failure;
  const message = failure instanceof Error ? failure.message : String(failure);
  return new MillraceError(`producing to ${topic} stopped: ${message}`, { hint: 'the summary above counts what was acknowledged; re-run with --skip to continue', cause: failure });
}
