/**
 * issue 11's data conveniences through commander with the in-memory Kafka: produce from standard
 * input, topic configs at create time and `topics alter`, and the flags' checks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { registerData } from '../../../cli/commands/data';
import { UsageError } from '../../../lib/errors';
import { loadPipelineSpec } from '../../../lib/pipeline-spec';
import { openSource, planSource } from '../../../producers/sources/open';
import { configRefusal, parseConfigDeletions, parseTopicConfigs } from '../../../producers/topic-config';
import { fakeKafka, FakeKafka } from './fake-kafka';

let dir: string;
let configFile: string;
const savedHome = process.env.MILLRACE_HOME;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-conv-'));
  configFile = path.join(dir, 'millrace.yaml');
  fs.writeFileSync(configFile, 'name: demo\n');
  process.env.MILLRACE_HOME = path.join(dir, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.MILLRACE_HOME;
  else process.env.MILLRACE_HOME = savedHome;
  fs.rmSync(dir, { recursive: true, force: true });
});

const SPEC = path.resolve('examples/pipelines/flights.yaml');
const GOOD = (i: number): string => JSON.stringify({ date: `2001-01-01T00:0${i % 10}`, delay: i, distance: 10 + i, origin: 'LAS', destination: 'PHL' });

async function millrace(kafka: FakeKafka, args: string[], stdin?: string): Promise<{ stdout: string; error?: Error & { hint?: string; exitCode?: number } }> {
  const program = new Command('millrace').option('-c, --config <path>', 'config', configFile).option('--json').exitOverride();
  registerData(program, { connect: async () => kafka });
  let stdout = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const realStdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  if (stdin !== undefined) Object.defineProperty(process, 'stdin', { value: Readable.from([stdin]), configurable: true });
  try {
    await program.parseAsync(['node', 'millrace', ...args]);
    return { stdout };
  } catch (error) {
    return { stdout, error: error as Error };
  } finally {
    Object.defineProperty(process, 'stdin', realStdin);
    out.mockRestore();
    err.mockRestore();
  }
}

describe('produce --source -', () => {
  it('reads JSON Lines from standard input, validates them and sends the invalid ones to the DLQ', async () => {
    const kafka = fakeKafka();
    await kafka.createTopic('flights', 3, 1);
    await kafka.createTopic('flights.dlq', 3, 1);
    const input = [GOOD(1), GOOD(2), '{"delay":"x"}', '', GOOD(3), 'not json'].join('\n') + '\n';
    const r = await millrace(kafka, ['--json', 'produce', '--spec', SPEC, '--source', '-'], input);
    expect(r.error).toBeUndefined();
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 5, sent: 3, dlq: 2, firstId: 'stdin#0', lastId: 'stdin#3' });
    expect(kafka.messages('flights').map((m) => JSON.parse(m.value).delay).sort()).toEqual([1, 2, 3]);
    expect(kafka.messages('flights.dlq')).toHaveLength(2);
  });

  it('reads CSV and a JSON array with --format, and names the source with --source-name', async () => {
    const spec = loadPipelineSpec(SPEC);
    const signal = new AbortController().signal;
    const csv = openSource(planSource('-', 'csv'), spec, { pollIntervalMs: 1, seed: 1, stdin: Readable.from(['date,delay,distance,origin,destination\n2001-01-01T00:01,5,', '10,LAS,PHL\nbad\n']) });
    const items = [];
    for await (const it of csv.read({ skip: 0, signal })) items.push(it);
    expect(csv.name).toBe('stdin');
    expect(csv.textValues).toBe(true);
    expect(items[0]).toEqual({ position: 0, record: { date: '2001-01-01T00:01', delay: '5', distance: '10', origin: 'LAS', destination: 'PHL' } });
    expect(items[1]).toMatchObject({ position: 1, unparseable: 'CSV row has 1 columns, the header has 5' });
    const arr = openSource(planSource('-', 'json'), spec, { pollIntervalMs: 1, seed: 1, name: 'piped', stdin: Readable.from(['[{"a":1},', '{"a":2}]']) });
    const got = [];
    for await (const it of arr.read({ skip: 1, signal })) got.push(it);
    expect(arr.name).toBe('piped');
    expect(got).toEqual([{ position: 1, record: { a: 2 } }]);
  });

  it('refuses Parquet on standard input with a hint', () => {
    expect(planSource('-')).toEqual({ kind: 'stdin', format: 'jsonl' });
    expect(() => planSource('-', 'parquet')).toThrow(new UsageError('--source - reads standard input, which cannot carry parquet'));
  });
});

describe('topic configs', () => {
  it('parses repeated --config k=v and refuses bad syntax up front (exit 2)', () => {
    expect(parseTopicConfigs(['retention.ms=3600000', 'cleanup.policy=compact,delete', 'x.y=a=b'])).toEqual({ 'retention.ms': '3600000', 'cleanup.policy': 'compact,delete', 'x.y': 'a=b' });
    for (const [bad, message] of [
      [['retention.ms'], '--topic-config retention.ms: expected key=value'],
      [['=1'], '--topic-config =1: the key is empty'],
      [['retention.ms='], '--topic-config retention.ms=: the value of retention.ms is empty'],
      [['Retention MS=1'], '--topic-config Retention MS=1: "Retention MS" is not a topic config name'],
      [['retention.ms=1', 'retention.ms=2'], '--topic-config retention.ms is given twice (retention.ms=1 and retention.ms=2)'],
    ] as const) {
      let error: unknown;
      try {
        parseTopicConfigs(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toBe(message);
      expect((error as UsageError).exitCode).toBe(2);
    }
    expect(() => parseConfigDeletions(['retention.ms'], { 'retention.ms': '1' })).toThrow('retention.ms is both set (--topic-config) and deleted (--delete-config)');
    expect(parseConfigDeletions(['a.b', 'a.b'], {})).toEqual(['a.b']);
  });

  it('finds the broker\'s INVALID_CONFIG inside kafkajs\'s wrappers', () => {
    const inner = Object.assign(new Error('Configuration is invalid'), { type: 'INVALID_CONFIG' });
    const wrapped = Object.assign(new Error('Topic creation errors'), { errors: [inner] });
    expect(configRefusal(Object.assign(new Error('x'), { cause: wrapped }))).toEqual({ type: 'INVALID_CONFIG', message: 'Configuration is invalid' });
    expect(configRefusal(new Error('Connection error'))).toBeUndefined();
  });

  it('topics create --config sets them on the topic (not its DLQ); topics alter sets and removes, keeping the others', async () => {
    const kafka = fakeKafka();
    const r = await millrace(kafka, ['topics', 'create', 'flights', '--topic-config', 'retention.ms=3600000', '--topic-config', 'cleanup.policy=delete']);
    expect(r.error).toBeUndefined();
    const [main, dlq] = await kafka.describeTopics(['flights', 'flights.dlq']);
    expect(main!.config).toEqual({ 'min.insync.replicas': '1', 'retention.ms': '3600000', 'cleanup.policy': 'delete' });
    expect(dlq!.config).toEqual({ 'min.insync.replicas': '1' });
    const again = await millrace(kafka, ['topics', 'create', 'flights', '--topic-config', 'retention.ms=1']);
    expect(again.stdout).toContain('flights already exists (left as it is; change its config with `millrace topics alter`)');

    const alter = await millrace(kafka, ['topics', 'alter', 'flights', '--topic-config', 'retention.ms=60000', '--delete-config', 'cleanup.policy']);
    expect(alter.error).toBeUndefined();
    expect(alter.stdout).toBe('flights: set retention.ms=60000, removed cleanup.policy (broker default)\n  config now: min.insync.replicas=1, retention.ms=60000\n');
    expect((await kafka.describeTopics(['flights']))[0]!.config).toEqual({ 'min.insync.replicas': '1', 'retention.ms': '60000' });
  });

  it('refuses an unknown name cleanly, a missing topic and an empty alter, all with exit 2', async () => {
    const kafka = fakeKafka();
    const unknown = await millrace(kafka, ['topics', 'create', 'flights', '--topic-config', 'retention.mss=1']);
    expect(unknown.error?.message).toBe('Kafka refused the config of flights: retention.mss=1: Unknown topic config name: retention.mss');
    expect(unknown.error?.exitCode).toBe(2);
    expect(unknown.error?.hint).toMatch(/kafka\.apache\.org\/documentation\/#topicconfigs/);
    expect((await millrace(kafka, ['topics', 'alter', 'nope', '--topic-config', 'retention.ms=1'])).error?.message).toBe('topic nope does not exist, or admin may not describe it');
    const empty = await millrace(kafka, ['topics', 'alter', 'nope']);
    expect(empty.error?.message).toBe('topics alter needs --topic-config key=value or --delete-config key');
    expect(empty.error?.exitCode).toBe(2);
    expect((await millrace(kafka, ['topics', 'create', 'x', '--topic-config', 'novalue'])).error?.exitCode).toBe(2);
    // Kafka's own tools spell it --config, which is millrace's cluster config file: the mistake is named.
    const kafkaStyle = await millrace(kafka, ['topics', 'create', 'x', '--config', 'retention.ms=1']);
    expect(kafkaStyle.error?.message).toBe("--config retention.ms=1: -c/--config names millrace's cluster config file; topic settings are --topic-config key=value");
    expect(kafkaStyle.error?.exitCode).toBe(2);
  });
});
