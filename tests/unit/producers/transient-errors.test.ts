/**
 * Which failed sends the batch producer repeats (producers/kafka-client.ts isTransient), judged on
 * kafkajs's own error classes as its producer throws them: a broker restarting is repeated, even
 * inside kafkajs's "retries exceeded"; a refusal or a broken sequence is not.
 */
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError } from 'kafkajs';
import { isTransient } from '../../../producers/kafka-client';

/** A broker's error answer, as kafkajs's protocol layer builds it (type, code, retriable, message). */
const protocolError = (type: string, code: number, retriable: boolean, message: string): KafkaJSProtocolError => new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable }));

describe('isTransient', () => {
  it('repeats a refused or cut connection and a timed-out request, also once kafkajs has given up on them', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.31:9093', { broker: '127.0.0.31:9093', code: 'ECONNREFUSED' });
    expect(isTransient(refused)).toBe(true);
    expect(isTransient(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 7000 }))).toBe(true);
    expect(isTransient(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'))).toBe(true);
  });

  it('repeats a leader that moved (a retriable protocol error)', () => {
    const notLeader = protocolError('NOT_LEADER_FOR_PARTITION', 6, true, 'This server is not the leader for that topic-partition');
    expect(isTransient(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 5, retryTime: 7000 }))).toBe(true);
  });

  it('does not repeat a refusal, a broken sequence, or an error of its own', () => {
    const denied = protocolError('TOPIC_AUTHORIZATION_FAILED', 29, false, 'Not authorized to access topics: [Topic authorization failed]');
    expect(isTransient(denied)).toBe(false);
    expect(isTransient(new KafkaJSNumberOfRetriesExceeded(denied, { retryCount: 0, retryTime: 0 }))).toBe(false);
    const sequence = protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false, 'The broker received an out of order sequence number');
    expect(isTransient(sequence)).toBe(false);
    expect(isTransient(new TypeError('x is undefined'))).toBe(false);
    expect(isTransient('ECONNREFUSED')).toBe(false);
  });
});
