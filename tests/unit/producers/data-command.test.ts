/**
 * `millrace produce`, `consume` and `topics` through commander, the way main.ts will run them,
 * with an in-memory Kafka in place of the brokers; and the connection settings they derive
 * from a cluster's state directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { registerData } from '../../../cli/commands/data';
import { kafkaConnectionFor } from '../../../cli/kafka-connection';
import { parseConfigText } from '../../../lib/config';
import { UsageError } from '../../../lib/errors';
import { writeInventory } from '../../../lib/inventory';
import { ClusterCa } from '../../../provisioning/pki/cluster-ca';
import { fakeKafka, FakeKafka } from './fake-kafka';

let dir: string;
let configFile: string;
const savedHome = process.env.MILLRACE_HOME;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-data-'));
  configFile = path.join(dir, 'millrace.yaml');
  fs.writeFileSync(configFile, 'name: demo\n');
  process.env.MILLRACE_HOME = path.join(dir, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.MILLRACE_HOME;
  else process.env.MILLRACE_HOME = savedHome;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function millrace(kafka: FakeKafka, args: string[]): Promise<{ stdout: string; error?: Error; principals: string[] }> {
  const program = new Command('millrace').option('-c, --config <path>', 'config', configFile).option('--json').exitOverride();
  const principals: string[] = [];
  registerData(program, { connect: async (_config, principal) => (principals.push(principal), kafka) });
  let stdout = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'millrace', ...args]);
    return { stdout, principals };
  } catch (error) {
    return { stdout, error: error as Error, principals };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const SPEC = path.resolve('examples/pipelines/flights.yaml');

describe('data commands', () => {
  it('topics create makes the topic and its DLQ as admin and grants the pipeline principal', async () => {
    const kafka = fakeKafka();
    const acls = jest.spyOn(kafka, 'createAcls');
    const r = await millrace(kafka, ['topics', 'create', 'flights', '--partitions', '2']);
    expect(r.error).toBeUndefined();
    expect(r.principals).toEqual(['admin']);
    expect(r.stdout).toContain('created flights (2 partitions, replication factor 1)\ncreated flights.dlq (2 partitions, replication factor 1)\ngranted ALLOW User:pipeline READ on topic flights\n');
    expect(r.stdout).toContain('granted ALLOW User:pipeline READ on group pipeline-*');
    expect(acls.mock.calls[0]![0]).toHaveLength(7);
    expect((await millrace(kafka, ['topics', 'create', 'flights'])).stdout).toContain('flights already exists (left as it is)');
    expect((await millrace(kafka, ['topics', 'create', 'x', '--replication-factor', '3'])).error?.message).toBe('--replication-factor 3 exceeds the 1 broker');
  });

  it('topics create revokes the bare-name group grant of earlier versions, and refuses a wildcard or a node name before connecting', async () => {
    const kafka = fakeKafka();
    const deleted = jest.spyOn(kafka, 'deleteAcls').mockResolvedValue(1);
    const r = await millrace(kafka, ['topics', 'create', 'flights', '--principal', 'pipe']);
    expect(r.error).toBeUndefined();
    expect(deleted.mock.calls[0]![0]).toEqual([{ resourceType: 'group', resourceName: 'pipe', patternType: 'prefixed', principal: 'User:pipe', host: '*', operation: 'read', permission: 'allow' }]);
    expect(r.stdout).toContain('granted ALLOW User:pipe READ on group pipe-*\nrevoked ALLOW User:pipe READ on group pipe* (its groups are pipe-*)');
    // Control: nothing to revoke, nothing said.
    deleted.mockResolvedValue(0);
    expect((await millrace(kafka, ['topics', 'create', 'flights', '--principal', 'pipe'])).stdout).not.toContain('revoked');
    for (const [principal, message] of [['*', /is a wildcard/], ['kafka-1', /is the name of a node of this cluster/], ['admin', /is a Kafka super user/]] as const) {
      const bad = await millrace(kafka, ['topics', 'create', 'other', '--principal', principal]);
      expect(bad.error).toBeInstanceOf(UsageError);
      expect(bad.error?.message).toMatch(message);
      expect(bad.principals).toEqual([]);
    }
  });

  it('produce validates, routes invalid lines to the DLQ and prints the summary as JSON', async () => {
    const kafka = fakeKafka();
    await kafka.createTopic('flights', 3, 1);
    await kafka.createTopic('flights.dlq', 3, 1);
    const file = path.join(dir, 'flights.jsonl');
    fs.writeFileSync(file, '{"date":"2001-01-01T00:01","delay":3,"distance":10,"origin":"LAS","destination":"PHL"}\n{"delay":"x"}\nnot json\n');
    const r = await millrace(kafka, ['--json', 'produce', '--spec', SPEC, '--source', file]);
    expect(r.error).toBeUndefined();
    expect(r.principals).toEqual(['pipeline']);
    expect(JSON.parse(r.stdout)).toMatchObject({ topic: 'flights', read: 3, sent: 1, dlq: 2, errors: 0, firstId: 'flights.jsonl#0', lastId: 'flights.jsonl#0', interrupted: false });
    expect(kafka.messages('flights.dlq').map((m) => JSON.parse(m.value).reason)).toEqual([
      'missing required field "date"; field "delay": expected int, got string "x"; missing required field "distance"; missing required field "origin"; missing required field "destination"',
      expect.stringMatching(/^invalid JSON: /),
    ]);
  });

  it('produce refuses a missing topic, missing flags and a bad rate, with hints', async () => {
    const kafka = fakeKafka();
    const missing = await millrace(kafka, ['produce', '--spec', SPEC, '--source', 'synthetic', '--limit', '1']);
    expect(missing.error?.message).toBe('topics flights and flights.dlq do not exist, or pipeline may not describe them');
    expect((missing.error as { hint?: string }).hint).toBe('create them with `millrace topics create flights`');
    expect((await millrace(kafka, ['produce', '--source', 'synthetic'])).error?.message).toBe('produce needs --spec');
    expect((await millrace(kafka, ['produce', '--spec', SPEC])).error?.message).toBe('produce needs --source');
    expect((await millrace(kafka, ['produce', '--spec', SPEC, '--source', 'synthetic', '--rate', 'lots'])).error?.message).toBe('--rate must be a positive number, got "lots"');
  });

  it('consume --verify fails on duplicates; --lag needs a group; delete names what it deleted', async () => {
    const kafka = fakeKafka();
    await kafka.produce('flights', [{ value: '{"event_id":"a"}' }, { value: '{"event_id":"a"}' }]);
    const r = await millrace(kafka, ['consume', 'flights', '--verify', '--spec', SPEC]);
    expect(r.stdout).toContain('flights: 2 messages, 1 distinct ids, 1 duplicates (e.g. a)');
    expect(r.error?.message).toBe('flights holds 1 duplicate event ids');
    expect((await millrace(kafka, ['consume', 'flights', '--lag'])).error?.message).toBe('--lag needs --group <id>');
    expect((await millrace(kafka, ['topics', 'delete', 'flights'])).stdout).toBe('deleted flights\n');
    expect(await millrace(kafka, ['topics', 'delete', 'flights'])).toEqual({ stdout: 'flights does not exist; nothing to delete\n', principals: ['admin'] });
    expect(await kafka.listTopics()).toEqual([]);
  });
});

describe('kafkaConnectionFor', () => {
  it('takes the brokers from the inventory and a client certificate for the principal from the cluster CA', async () => {
    const config = parseConfigText('name: demo\n');
    await expect(kafkaConnectionFor(config, 'pipeline')).rejects.toThrow('no inventory for cluster "demo"');
    writeInventory({
      cluster: 'demo',
      target: 'local',
      createdAt: '2026-01-01T00:00:00Z',
      nodes: [
        { name: 'kafka-1', roles: ['kafka'], sshAddress: '127.0.0.11', sshPort: 22, sshUser: 'root', privateKeyPath: '/k', privateAddress: '127.0.0.11' },
        { name: 'hdfs-1', roles: ['namenode', 'datanode'], sshAddress: '127.0.0.13', sshPort: 22, sshUser: 'root', privateKeyPath: '/k', privateAddress: '127.0.0.13' },
      ],
    });
    await expect(kafkaConnectionFor(config, 'pipeline')).rejects.toThrow(/^cluster demo has no CA in /);
    const pki = path.join(process.env.MILLRACE_HOME!, 'clusters', 'demo', 'pki');
    const ca = await ClusterCa.open(pki, 'demo');
    const conn = await kafkaConnectionFor(config, 'pipeline');
    expect(conn.brokers).toEqual(['127.0.0.11:9093']);
    expect(conn.clientId).toBe('millrace-pipeline');
    expect(conn.tls?.caPem).toBe(ca.caPem);
    expect(conn.tls?.certPem?.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(conn.tls?.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(fs.existsSync(path.join(pki, 'clients', 'pipeline.crt'))).toBe(true);
    await expect(kafkaConnectionFor(config, 'User:admin')).rejects.toThrow('"User:admin" is not a usable principal name');
  });
});
