/**
 * Creating a topic waits for its leaders through the answers KRaft gives while a new topic's
 * metadata settles ("does not host this topic-partition"), and fails at once on anything else.
 * Found by `millrace demo` right after `up`: kafkajs's own wait gave up on the first such answer.
 */
import { waitForTopicLeaders } from '../../../producers/kafka-client';

const protocolError = (type: string, message: string): Error => Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type, retriable: true });
const meta = (leaders: number[]) => ({ topics: [{ name: 't', partitions: leaders.map((leader, partitionId) => ({ partitionId, leader })) }] });

describe('waitForTopicLeaders', () => {
  it('waits through unknown-topic and leader-not-available answers, and through partitions without a leader', async () => {
    const answers: (() => ReturnType<typeof meta>)[] = [
      () => {
        throw protocolError('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition');
      },
      () => {
        throw protocolError('LEADER_NOT_AVAILABLE', 'There is no leader for this topic-partition as we are in the middle of a leadership election');
      },
      () => ({ topics: [] }),
      () => meta([1, -1, 1]),
      () => meta([1, 1, 1]),
    ];
    let calls = 0;
    await waitForTopicLeaders(async () => answers[calls++]!(), 't', 5000, 1);
    expect(calls).toBe(5);
  });

  it('fails at once, with the broker\'s own error, on an answer that is not about settling', async () => {
    let calls = 0;
    const denied = protocolError('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics: [Topic authorization failed]');
    await expect(
      waitForTopicLeaders(
        async () => {
          calls++;
          throw denied;
        },
        't',
        5000,
        1,
      ),
    ).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('gives up after its timeout, naming the topic and the last answer', async () => {
    await expect(
      waitForTopicLeaders(
        async () => {
          throw protocolError('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition');
        },
        't',
        50,
        5,
      ),
    ).rejects.toThrow(/timed out after 0s waiting for the partitions of topic t to have leaders; last error: This server does not host this topic-partition/);
  });
});
