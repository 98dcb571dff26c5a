/**
 * Riding through faults (issue 14), on the shared cluster's one broker:
 * - `millrace produce` waits through a broker that stops and comes back in the middle of a run
 *   (the default client, librdkafka here), or is killed with SIGKILL and restarted by systemd
 *   (kafkajs), re-sends what failed, idempotently, and finishes with every record in the topic
 *   exactly once;
 * - with --retry-timeout 0, with either client, it gives up within a minute of the broker's stop,
 *   every record read counted, and exits 1;
 * - a node that reboots from inside (`systemctl reboot` on the node) comes back by itself, as an
 *   EC2 instance does, with no `millrace up`: its services start at boot, from its data disk, and
 *   the data it held is still there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKafkaClient } from '../../producers/kafka-client';
import { nodesDir } from '../../targets/local';
import { BROKER_SERVING, BROKER_SIGKILL, cli, CLUSTER, CONFIG, configWithClient, ensureBaseCluster, kafkaAs, node, randomName, REPO, untilBrokerServing } from './harness';

const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');

beforeAll(ensureBaseCluster);

/** Until `ok` holds on kafka-1, reached afresh over SSH each time (the node is rebooting); seconds it took. */
async function untilOnKafka(ok: (out: string) => boolean, command: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    try {
      const host = await node('kafka-1');
      try {
        last = (await host.exec(command)).stdout;
        if (ok(last)) return (Date.now() - started) / 1000;
      } finally {
        await host.close();
      }
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`kafka-1 did not come back within ${timeoutMs / 1000}s; last: ${last.slice(-500)}`);
}

/**
 * Produces `records` at 1000/s into a new topic while `fault` runs on kafka-1 5 s into the run;
 * the producer must finish with every record in the topic exactly once. `config` chooses the
 * producers' library: the default (auto) is librdkafka here, which re-sends inside itself (it
 * counts no re-sends of millrace's); kafkajs's failed batches are re-sent by millrace, counted.
 */
async function produceThroughBrokerFault(name: string, fault: string, config: string, records = 30_000): Promise<{ client: string; retriedBatches: number; seconds: number }> {
  const topic = randomName(`itest-${name}`);
  expect((await cli(['topics', 'create', topic, '-c', CONFIG])).code).toBe(0);
  const started = Date.now();
  const producing = cli(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', String(records), '--rate', '1000', '--topic', topic, '--source-name', topic, '-c', config]);
  let ended = false;
  void producing.then(() => (ended = true));
  await new Promise((r) => setTimeout(r, 5000));
  const kafka = await node('kafka-1');
  try {
    await kafka.execOrThrow(fault);
  } finally {
    await kafka.close();
  }
  // Still running when the broker is back: it rode through the fault, not ended before it.
  expect(ended).toBe(false);
  const done = await producing;
  expect(done.stderr.slice(-2000)).not.toMatch(/error:/);
  expect(done.code).toBe(0);
  const summary = JSON.parse(done.stdout) as { sent: number; errors: number; retriedBatches: number; client: string };
  expect(summary).toMatchObject({ sent: records, errors: 0, client: config === CONFIG ? 'librdkafka' : 'kafkajs' });
  if (summary.client === 'kafkajs') expect(summary.retriedBatches).toBeGreaterThan(0);
  const verified = await cli(['consume', topic, '--verify', '--json', '--spec', SPEC, '-c', CONFIG]);
  expect(verified.code).toBe(0);
  expect(JSON.parse(verified.stdout)).toMatchObject({ messages: records, distinctIds: records, duplicates: 0 });
  for (const t of [topic, `${topic}.dlq`]) await cli(['topics', 'delete', t, '-c', CONFIG]);
  return { client: summary.client, retriedBatches: summary.retriedBatches, seconds: (Date.now() - started) / 1000 };
}

describe('a broker restart in the middle of produce', () => {
  it('the producer waits for the broker, re-sends idempotently, and finishes: every record in the topic once', async () => {
    // Down for 20 s, longer than kafkajs's own retries last (about 10 s); with the default client.
    const r = await produceThroughBrokerFault('broker-restart', 'systemctl stop millrace-kafka.service && sleep 20 && systemctl start millrace-kafka.service', CONFIG);
    console.log(`broker restart: 30000 records acknowledged by ${r.client}, 30000 in the topic, 0 duplicates; ${r.retriedBatches} batch re-sends of millrace's; produce took ${r.seconds.toFixed(0)}s with the broker down 20s`);
  }, 10 * 60_000);

  it('a broker killed with SIGKILL is restarted by systemd, recovers its log, and the producer finishes: every record in the topic once', async () => {
    const restarts = async (): Promise<number> => {
      const kafka = await node('kafka-1');
      try {
        return Number(/NRestarts=(\d+)/.exec(await kafka.execOrThrow('systemctl show -p NRestarts millrace-kafka.service'))?.[1]);
      } finally {
        await kafka.close();
      }
    };
    const before = await restarts();
    // No clean shutdown: the JVM dies at once, and systemd (Restart=on-failure) starts it again 5 s later.
    // With kafkajs, the library auto falls back to, whose failed batches millrace re-sends.
    const r = await produceThroughBrokerFault('broker-sigkill', BROKER_SIGKILL, configWithClient('kafkajs'));
    expect(await restarts()).toBe(before + 1);
    console.log(`broker SIGKILL: 30000 records acknowledged by ${r.client}, 30000 in the topic, 0 duplicates; ${r.retriedBatches} batch re-sends; produce took ${r.seconds.toFixed(0)}s; restarted by systemd`);
  }, 10 * 60_000);
});

describe('a broker that dies with --retry-timeout 0', () => {
  it.each([
    ['the default client (librdkafka here)', CONFIG],
    ['kafkajs', configWithClient('kafkajs')],
  ])('produce with %s gives up soon after the stop, counts every record read, names the broker, and exits 1', async (_client, config) => {
    const topic = randomName('itest-giveup');
    expect((await cli(['topics', 'create', topic, '-c', CONFIG])).code).toBe(0);
    const producing = cli(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', '200000', '--rate', '1000', '--retry-timeout', '0', '--topic', topic, '--source-name', topic, '-c', config]);
    await new Promise((r) => setTimeout(r, 5000));
    // One session for the stop and the start again: the broker's node stays up throughout.
    const kafka = await node('kafka-1');
    let done: Awaited<typeof producing>;
    let afterStop: number;
    try {
      await kafka.execOrThrow('systemctl stop millrace-kafka.service');
      const stoppedAt = Date.now();
      try {
        done = await producing;
        afterStop = (Date.now() - stoppedAt) / 1000;
      } finally {
        await kafka.execOrThrow('systemctl start millrace-kafka.service');
      }
    } finally {
      await kafka.close();
    }
    // kafkajs's own retries (about 10 s) and the batches in flight; before, every queued batch
    // waited out those retries in turn: more than 5 minutes. librdkafka: a message's 10 s and the flush.
    expect(afterStop).toBeLessThan(60);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/error: producing to .* stopped: .*127\.0\.0\.31:9093/);
    const summary = JSON.parse(done.stdout) as { read: number; sent: number; dlq: number; errors: number; nextPosition: number; client: string };
    expect(summary.client).toBe(config === CONFIG ? 'librdkafka' : 'kafkajs');
    expect(summary.errors).toBeGreaterThan(0);
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.read).toBe(summary.sent + summary.dlq + summary.errors);
    expect(summary.read).toBeLessThan(200_000);
    await untilBrokerServing();
    for (const t of [topic, `${topic}.dlq`]) await cli(['topics', 'delete', t, '-c', CONFIG]);
    console.log(`broker stopped, --retry-timeout 0: produce (${summary.client}) exited 1 ${afterStop.toFixed(0)} s after the stop; read ${summary.read}, sent ${summary.sent}, errors ${summary.errors}`);
  }, 5 * 60_000);
});

describe('a node rebooted from inside', () => {
  it('kafka-1 comes back by itself: the broker starts at boot and serves every message it held; status is healthy; no up', async () => {
    const topic = randomName('itest-reboot');
    // The broker of the tests before, restarted by them, serves before this one's first produce.
    const waited = await untilBrokerServing();
    if (waited > 1) console.log(`kafka-1's broker served ${waited.toFixed(0)} s into the reboot test`);
    const sent = Array.from({ length: 500 }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ i }) }));
    const before = createKafkaClient(await kafkaAs('admin'));
    try {
      expect(await before.createTopic(topic, 3, 1)).toBe(true);
      await before.produce(topic, sent);
    } finally {
      await before.close();
    }
    const log = path.join(nodesDir(CLUSTER), 'kafka-1', 'nspawn.log');
    const reboots = (): number => (fs.readFileSync(log, 'utf8').match(/rebooted from inside; booting it again/g) ?? []).length;
    const rebootsBefore = reboots();
    const kafka = await node('kafka-1');
    try {
      // /run is the node's own tmpfs: a marker there is gone once the node has booted again.
      await kafka.execOrThrow('touch /run/millrace-itest-before-reboot && systemctl --no-block reboot');
    } finally {
      await kafka.close();
    }
    // Back: booted again (the marker is gone), and the broker listening on its TLS port (its unit is
    // "active" from the JVM's start, seconds before that).
    const back = await untilOnKafka((out) => out.trim() === 'rebooted serving', `test -e /run/millrace-itest-before-reboot && echo same || echo rebooted $(${BROKER_SERVING})`, 240_000);
    expect(reboots()).toBe(rebootsBefore + 1);
    const after = createKafkaClient(await kafkaAs('admin'));
    try {
      const got = await after.consume(topic, randomName('itest-reboot-group'), sent.length, 120_000);
      expect(new Set(got.map((m) => m.value)).size).toBe(sent.length);
      await after.deleteTopic(topic).catch(() => undefined);
    } finally {
      await after.close();
    }
    const status = await cli(['status', '--json', '-c', CONFIG]);
    expect(status.stderr.slice(-2000)).not.toMatch(/error:/);
    expect(status.code).toBe(0);
    console.log(`node reboot: kafka-1 back with its broker active ${back.toFixed(0)}s after \`systemctl reboot\`, all ${sent.length} messages served, status healthy, no up`);
  }, 10 * 60_000);
});
