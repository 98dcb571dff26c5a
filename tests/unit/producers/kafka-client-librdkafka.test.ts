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

  it('is chosen in the config with kafka.client, auto by default; another name is refused with its path and the choices', () => {
    expect(parseConfigText('name: demo\n').kafka.client).toBe('auto');
    expect(parseConfigText('name: demo\nkafka:\n  client: librdkafka\n').kafka.client).toBe('librdkafka');
    expect(parseConfigText('name: demo\nkafka:\n  client: kafkajs\n').kafka.client).toBe('kafkajs');
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

  it('auto is librdkafka on a machine where scripts/setup.sh built its native part (this one)', () => {
    const { autoProducerLibrary } = require('../../../producers/kafka-client') as typeof import('../../../producers/kafka-client');
    const chosen = autoProducerLibrary();
    if (chosen.warning) throw new Error(`librdkafka does not load here; scripts/setup.sh builds it: ${chosen.warning}`);
    expect(chosen).toEqual({ library: 'librdkafka' });
  });

  it('auto is kafkajs where librdkafka cannot be loaded, with a warning that names the cause and how to build it', () => {
    jest.isolateModules(() => {
      jest.doMock('@confluentinc/kafka-javascript', () => {
        throw new Error('Cannot find module \'../build/Release/confluent-kafka-javascript.node\'\nRequire stack: …');
      });
      const { autoProducerLibrary } = require('../../../producers/kafka-client') as typeof import('../../../producers/kafka-client');
      const chosen = autoProducerLibrary();
      expect(chosen.library).toBe('kafkajs');
      expect(chosen.warning).toMatch(/^kafka\.client is auto and @confluentinc\/kafka-javascript cannot be loaded on this machine \(Cannot find module '\.\.\/build\/Release\/confluent-kafka-javascript\.node'\): producing with kafkajs/);
      expect(chosen.warning).toMatch(/scripts\/setup\.sh/);
      expect(chosen.warning).toMatch(/kafka\.client: kafkajs/);
      expect(chosen.warning).not.toMatch(/Require stack/);
    });
    jest.dontMock('@confluentinc/kafka-javascript');
  });

  it('`doctor` says which library `produce` uses here: ok where it loads, a warning for auto without it, a failure for librdkafka without it', () => {
    const { producerLibraryFinding } = require('../../../cli/commands/doctor') as typeof import('../../../cli/commands/doctor');
    expect(producerLibraryFinding('auto')).toEqual(expect.objectContaining({ level: 'ok', detail: expect.stringMatching(/^librdkafka 2\.\d+\.\d+ \(auto\)$/) }));
    expect(producerLibraryFinding('kafkajs')).toEqual(expect.objectContaining({ level: 'ok', detail: 'kafkajs, as the config says' }));
    jest.isolateModules(() => {
      jest.doMock('@confluentinc/kafka-javascript', () => {
        throw new Error('Cannot find module \'../build/Release/confluent-kafka-javascript.node\'');
      });
      const isolated = require('../../../cli/commands/doctor') as typeof import('../../../cli/commands/doctor');
      expect(isolated.producerLibraryFinding('auto')).toEqual(expect.objectContaining({ level: 'warn', detail: expect.stringMatching(/^kafkajs \(auto\): librdkafka cannot be loaded \(Cannot find module/), hint: expect.stringMatching(/scripts\/setup\.sh/) }));
      expect(isolated.producerLibraryFinding('librdkafka')).toEqual(expect.objectContaining({ level: 'fail', hint: expect.stringMatching(/scripts\/setup\.sh/) }));
      expect(isolated.producerLibraryFinding('kafkajs').level).toBe('ok');
    });
    jest.dontMock('@confluentinc/kafka-javascript');
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

  it('"all broker connections are down" names the brokers: librdkafka\'s own message names none', () => {
    const errors = new RdErrors(['127.0.0.31:9093', '127.0.0.37:9093']);
    errors.error('all broker connections are down');
    expect(errors.explain(new Error('Local: Message timed out')).message).toBe('all broker connections are down: 127.0.0.31:9093, 127.0.0.37:9093 (Local: Message timed out)');
    // The failed reconnects that follow say less, and do not replace it.
    errors.error('broker transport failure');
    expect(errors.explain(new Error('Local: Message timed out')).message).toBe('all broker connections are down: 127.0.0.31:9093, 127.0.0.37:9093 (Local: Message timed out)');
    // Another error is kept as librdkafka gave it.
    errors.error('Broker: Not enough in-sync replicas');
    expect(errors.explain(new Error('Local: Message timed out')).message).toBe('Broker: Not enough in-sync replicas (Local: Message timed out)');
    const fresh = new RdErrors(['127.0.0.31:9093']);
    fresh.error('broker transport failure');
    expect(fresh.explain(new Error('Local: Message timed out')).message).toBe('broker transport failure (Local: Message timed out)');
  });
});
