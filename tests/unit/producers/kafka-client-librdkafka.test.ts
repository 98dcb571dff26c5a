/** The librdkafka backend's settings and its selection (kafka.client); it runs on a real broker in tests/integration/20-kafka. */
import { parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { librdkafkaConfig, librdkafkaNativeConfig, librdkafkaProducerConfig, RdErrors } from '../../../producers/kafka-client-librdkafka';

const conn = { brokers: ['127.0.0.11:9093', '127.0.0.12:9093'], clientId: 'millrace-pipeline', tls: { caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' } };

describe('the librdkafka backend (kafka.client: librdkafka)', () => {
  it('connects with the same brokers and mTLS material as kafkajs, PEM in memory (no key file on disk), and checks the brokers\' names', () => {
    const c = librdkafkaConfig(conn);
    expect(c.kafkaJS).toEqual(expect.objectContaining({ brokers: conn.brokers, clientId: 'millrace-pipeline', ssl: true }));
    expect(c).toEqual(expect.objectContaining({ 'ssl.ca.pem': 'CA', 'ssl.certificate.pem': 'CERT', 'ssl.key.pem': 'KEY', 'ssl.endpoint.identification.algorithm': 'https' }));
    expect(Object.keys(c).filter((k) => k.endsWith('.location'))).toEqual([]);
  });

  it('control: without TLS, no ssl settings at all', () => {
    const c = librdkafkaConfig({ brokers: ['127.0.0.11:9092'], clientId: 'probe' });
    expect((c.kafkaJS as { ssl: boolean }).ssl).toBe(false);
    expect(Object.keys(c).filter((k) => k.startsWith('ssl.'))).toEqual([]);
  });

  it('produces idempotently with acks=all, Java\'s murmur2 partitioner, and gives up on a batch only after retryTimeoutMs', () => {
    const p = librdkafkaProducerConfig(90_000);
    expect(p.kafkaJS).toEqual(expect.objectContaining({ idempotent: true, acks: -1 }));
    expect(p).toEqual(expect.objectContaining({ partitioner: 'murmur2_random', 'message.timeout.ms': 90_000 }));
  });

  it('--retry-timeout 0 (no re-sends) is not librdkafka\'s 0, which waits forever: both producers get at least 10 s, as kafkajs\'s own retries last', () => {
    expect(librdkafkaProducerConfig(0)['message.timeout.ms']).toBe(10_000);
    expect(librdkafkaNativeConfig(conn, 0)['message.timeout.ms']).toBe(10_000);
    expect(librdkafkaNativeConfig(conn, 3000)['message.timeout.ms']).toBe(10_000);
    expect(librdkafkaNativeConfig(conn, 45_000)['message.timeout.ms']).toBe(45_000);
  });

  it("the batch producer (librdkafka's native producer) gets the same connection, TLS and producer settings in librdkafka's own names", () => {
    const n = librdkafkaNativeConfig(conn, 90_000);
    expect(n).toEqual(
      expect.objectContaining({
        'metadata.broker.list': '127.0.0.11:9093,127.0.0.12:9093',
        'client.id': 'millrace-pipeline',
        'security.protocol': 'ssl',
        'ssl.ca.pem': 'CA',
        'ssl.certificate.pem': 'CERT',
        'ssl.key.pem': 'KEY',
        'ssl.endpoint.identification.algorithm': 'https',
        'enable.idempotence': true,
        acks: -1,
        partitioner: 'murmur2_random',
        'message.timeout.ms': 90_000,
        // Reports for failed messages only; batches are acknowledged by flushing (flush-confirmer.test.ts).
        dr_cb: true,
        'delivery.report.only.error': true,
      }),
    );
    // Idempotence keeps order only with at most 5 requests in flight per connection.
    expect(n['max.in.flight.requests.per.connection']).toBeLessThanOrEqual(5);
    expect(Object.keys(n).filter((k) => k.endsWith('.location'))).toEqual([]);
    // The rest of the compatible layer's settings are the same, in its names.
    expect(n['linger.ms']).toBe(librdkafkaProducerConfig(90_000)['linger.ms']);
    const plain = librdkafkaNativeConfig({ brokers: ['127.0.0.11:9092'], clientId: 'probe', connectionTimeoutMs: 300 }, 1000);
    expect(plain['security.protocol']).toBe('plaintext');
    expect(Object.keys(plain).filter((k) => k.startsWith('ssl.'))).toEqual([]);
    expect(plain['socket.connection.setup.timeout.ms']).toBe(1000);
  });

  it('is chosen in the config with kafka.client, kafkajs by default; another name is refused with its path and the choices', () => {
    expect(parseConfigText('name: demo\n').kafka.client).toBe('kafkajs');
    expect(parseConfigText('name: demo\nkafka:\n  client: librdkafka\n').kafka.client).toBe('librdkafka');
    let error: unknown;
    try {
      parseConfigText('name: demo\nkafka:\n  client: rdkafka\n', 'millrace.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/kafka\.client/);
    expect(String(error)).toMatch(/kafkajs/);
    expect(String(error)).toMatch(/librdkafka/);
  });

  it("a batch purged after a fatal client error says that error (a refused write), not only librdkafka's 'Purged in queue'", () => {
    const errors = new RdErrors();
    const purged = new Error('Local: Purged in queue');
    expect(errors.explain(purged)).toBe(purged);
    errors.error('Error: Fatal error: Broker: Cluster authorization failed');
    expect(errors.explain(purged).message).toBe('Fatal error: Broker: Cluster authorization failed (Local: Purged in queue)');
    // An error that carries its own cause is left as it is.
    const refused = new Error('Broker: Topic authorization failed');
    expect(errors.explain(refused)).toBe(refused);
  });
});
