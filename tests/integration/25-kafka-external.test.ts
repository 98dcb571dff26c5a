/**
 * Kafka for clients outside the cluster network. On AWS a node's public IP is NAT'd to its private
 * one; here a TCP forwarder on another loopback address plays that NAT, so everything past it is
 * real: the EXTERNAL listener, its advertised address, the certificate's SANs, mTLS and ACLs, and
 * millrace's own clients choosing the public path. The cluster goes back to its base config after.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { createKafkaClient } from '../../producers/kafka-client';
import { ADDRESSES, allowThroughFirewall, CLUSTER, CLUSTER_YAML, CONFIG, REPO, TEST_DIR, cli, kafkaAs, node, randomName, stateDir } from './harness';

// Beside the test cluster's 127.0.0.31-33, clear of the benchmarks' 127.0.0.41-46.
const PUBLIC = '127.0.0.34';
const EXTERNAL = `${PUBLIC}:9095`;
const SPEC = path.join(REPO, 'examples/pipelines/flights.yaml');
const NATTED = path.join(TEST_DIR, 'external.yaml');

/** A 1:1 TCP NAT stand-in: PUBLIC:port → the node's private address, counting what crosses it. */
class Nat {
  connections = 0;
  bytesIn = 0;
  bytesOut = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  constructor(private readonly to: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.to);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => (s === client ? upstream : client).destroy());
      }
      client.on('data', (d: Buffer) => (this.bytesIn += d.length));
      upstream.on('data', (d: Buffer) => (this.bytesOut += d.length));
      client.pipe(upstream).pipe(client);
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** openssl s_client's report. Asynchronous: the NAT stand-in runs on this process's event loop. */
function sClient(target: string, verifyIp: string): Promise<string> {
  const cmd = `openssl s_client -connect ${target} -CAfile ${path.join(stateDir(), 'pki', 'ca.crt')} -verify_return_error -verify_ip ${verifyIp} -brief </dev/null 2>&1`;
  return new Promise((resolve) => execFile('sh', ['-c', cmd], { timeout: 30_000 }, (_err, stdout) => resolve(String(stdout))));
}

describe('Kafka from outside the cluster network (EXTERNAL listener at a public address)', () => {
  const nat = new Nat({ host: ADDRESSES['kafka-1'], port: 9095 });

  beforeAll(async () => {
    await nat.listen(PUBLIC, 9095);
    const yaml = CLUSTER_YAML.replace(`address: ${ADDRESSES['kafka-1']} }`, `address: ${ADDRESSES['kafka-1']}, publicAddress: ${PUBLIC} }`);
    expect(yaml).toContain(`publicAddress: ${PUBLIC}`);
    fs.writeFileSync(NATTED, yaml);
    const up = await cli(['up', '-c', NATTED]);
    if (up.code !== 0) throw new Error(`up with publicAddress failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
  }, 10 * 60_000);

  afterAll(async () => {
    await nat.close();
    const back = await cli(['up', '-c', CONFIG]);
    if (back.code !== 0) throw new Error(`up with the base config failed (exit ${back.code}):\n${back.stderr.slice(-3000)}`);
    expect(readInventory(CLUSTER).nodes.find((n) => n.name === 'kafka-1')?.publicAddress).toBeUndefined();
  }, 10 * 60_000);

  it('renders EXTERNAL bound to the private address and advertised at the public one', async () => {
    expect(readInventory(CLUSTER).nodes.find((n) => n.name === 'kafka-1')?.publicAddress).toBe(PUBLIC);
    const host = await node('kafka-1');
    try {
      const props = await host.execOrThrow('cat /etc/millrace/kafka/server.properties');
      const a = ADDRESSES['kafka-1'];
      expect(props).toContain(`listeners=CLIENT://${a}:9093,CONTROLLER://${a}:9094,EXTERNAL://${a}:9095\n`);
      expect(props).toContain(`advertised.listeners=CLIENT://${a}:9093,EXTERNAL://${EXTERNAL}\n`);
      expect(props).toContain('listener.security.protocol.map=CLIENT:SSL,CONTROLLER:SSL,EXTERNAL:SSL\n');
    } finally {
      await host.close();
    }
  });

  it('speaks TLS at the public address with a certificate that names it; plaintext is refused there', async () => {
    const out = await sClient(EXTERNAL, PUBLIC);
    expect(out).toMatch(/Verification: OK/);
    const plain = createKafkaClient({ brokers: [EXTERNAL], clientId: 'external-plaintext-probe', connectionTimeoutMs: 3000, retries: 0 });
    await expect(plain.listTopics()).rejects.toThrow();
    await plain.close();
  });

  it('gives clients that come in at the public address metadata with public addresses, and inside clients private ones', async () => {
    const creds = await kafkaAs('admin');
    const outside = createKafkaClient({ ...creds, brokers: [EXTERNAL] });
    // With a public address, the firewall (as a security group) closes 9093 to the operator: this
    // process plays a client inside the VPC, let through for this check alone.
    const undo = allowThroughFirewall(CLUSTER, '127.0.0.1', ADDRESSES['kafka-1'], 9093);
    const inside = createKafkaClient(creds);
    try {
      expect((await outside.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`)).toEqual([EXTERNAL]);
      expect((await inside.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`)).toEqual([`${ADDRESSES['kafka-1']}:9093`]);
    } finally {
      await outside.close();
      await inside.close();
      undo();
    }
  });

  it('millrace topics, produce and consume go through the public address, with the same ACLs', async () => {
    const topic = randomName('itest-external');
    const other = randomName('itest-external-closed');
    const before = nat.connections;
    try {
      const created = await cli(['topics', 'create', topic, '-c', NATTED]);
      expect(created.code).toBe(0);
      const produced = await cli(['produce', '--json', '--spec', SPEC, '--source', 'synthetic', '--limit', '1000', '--topic', topic, '--source-name', 'external', '-c', NATTED]);
      expect(produced.code).toBe(0);
      expect(JSON.parse(produced.stdout)).toMatchObject({ sent: 1000, dlq: 0 });
      const verified = await cli(['consume', topic, '--verify', '--json', '--spec', SPEC, '-c', NATTED]);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ messages: 1000, distinctIds: 1000, duplicates: 0 });
      // The pipeline principal is still held to its ACLs on the external listener: a topic created
      // without grants for it (admin, through the public address too) is closed to it.
      const admin = createKafkaClient({ ...(await kafkaAs('admin')), brokers: [EXTERNAL] });
      try {
        expect(await admin.createTopic(other, 1, 1)).toBe(true);
      } finally {
        await admin.close();
      }
      const denied = await cli(['consume', other, '--count', '1', '--from-beginning', '-c', NATTED]);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/authoriz/i);
      expect(nat.connections - before).toBeGreaterThanOrEqual(3);
      expect(nat.bytesOut).toBeGreaterThan(100_000);
    } finally {
      await cli(['topics', 'delete', topic, '-c', NATTED]);
      await cli(['topics', 'delete', `${topic}.dlq`, '-c', NATTED]);
      await cli(['topics', 'delete', other, '-c', NATTED]);
    }
  }, 5 * 60_000);

  it('`millrace credentials` points client.properties at the public address', async () => {
    const out = path.join(TEST_DIR, 'external-credentials');
    const r = await cli(['credentials', '--principal', 'pipeline', '--out', out, '-c', NATTED]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'client.properties'), 'utf8')).toContain(`bootstrap.servers=${EXTERNAL}\n`);
  });

  it('`millrace verify` passes, with 9095 declared, listening and TLS on kafka-1, and its Kafka refusals made at the public address', async () => {
    const before = nat.connections;
    const r = await cli(['verify', '--json', '-c', NATTED]);
    const v = JSON.parse(r.stdout) as { checks: { check: string; target: string; ok: boolean; detail: string }[] };
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.code).toBe(0);
    const ports = v.checks.find((c) => c.check === 'ports: only the declared ones listen' && c.target === 'kafka-1');
    expect(ports?.detail).toMatch(/listening: 22, 9093, 9094, 9095\b/);
    expect(v.checks.find((c) => c.target === 'kafka-1' && c.check === 'port 9095 (kafka-external) speaks TLS')?.ok).toBe(true);
    expect(nat.connections - before).toBeGreaterThan(0);
  }, 10 * 60_000);
});
