/**
 * A consumer joins its group through the group's coordinator, and the first FindCoordinator a
 * cluster sees makes its brokers create __consumer_offsets (50 partitions). Until that is done
 * they answer "coordinator not available": on a slow machine for longer than a client's ordinary
 * retries last, so `millrace consume` right after `up` would fail. A join rides that through, for
 * a bounded time of its own, independent of the connection's retries. A refusal (the principal
 * may not use the group) is final at once. Nothing here names a client library.
 */
import { MillraceError } from '../lib/errors';
import { waitFor } from '../lib/retry';

/** How long a join waits for its group's coordinator to exist. */
export const GROUP_COORDINATOR_WAIT_MS = 60_000;

/** What a broker answered to FindCoordinator for the group. */
export interface CoordinatorAnswer {
  broker: string;
  /** The broker's error, as the client reports it. */
  error: string;
}

/** The coordinator is still being created or loaded: another attempt may find it. */
export class CoordinatorNotReady extends Error {
  constructor(readonly groupId: string, readonly answer: CoordinatorAnswer) {
    super(`${answer.broker} answered "${answer.error}" for consumer group "${groupId}"`);
    this.name = 'CoordinatorNotReady';
  }
}

/** The brokers refuse the principal this group: final. */
export class GroupRefused extends MillraceError {
  constructor(readonly groupId: string, answer: CoordinatorAnswer) {
    super(`the brokers refused consumer group "${groupId}": ${answer.broker} answered "${answer.error}"`, {
      hint: 'a principal may use only the groups its ACLs allow: `millrace topics create <topic> --principal <name>` allows the groups whose id starts with <name>-',
    });
  }
}

// Kafka's COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR, as clients word them.
const NOT_READY = /coordinator is not available|coordinator is loading|not the correct coordinator/i;
const REFUSED = /not authori[sz]ed|authori[sz]ation failed/i;

/**
 * What the brokers' answers to FindCoordinator during a failed join mean: a refusal (any broker
 * said so), a coordinator not ready yet (the last answer said so), or nothing to go on (undefined:
 * the join's own error stands).
 */
export function judgeCoordinatorAnswers(groupId: string, answers: CoordinatorAnswer[]): GroupRefused | CoordinatorNotReady | undefined {
  const refusal = answers.find((a) => REFUSED.test(a.error));
  if (refusal) return new GroupRefused(groupId, refusal);
  const last = answers[answers.length - 1];
  return last && NOT_READY.test(last.error) ? new CoordinatorNotReady(groupId, last) : undefined;
}

export interface CoordinatorWaitOptions {
  groupId: string;
  brokers: string[];
  waitMs?: number;
  intervalMs?: number;
  /** Told of each attempt that found no coordinator yet, for progress. */
  onWait?: (reason: CoordinatorNotReady) => void;
}

/**
 * Runs a join attempt (the whole consume, which resolves when it is done) again while it fails
 * with CoordinatorNotReady, for at most `waitMs`; every other outcome is the attempt's own. The
 * timeout error names the group, the brokers and the last answer.
 */
export async function rideThroughCoordinator<T>(attempt: () => Promise<T>, options: CoordinatorWaitOptions): Promise<T> {
  const outcome = await waitFor(
    async () => {
      try {
        return { value: await attempt() };
      } catch (error) {
        if (!(error instanceof CoordinatorNotReady)) return { error };
        options.onWait?.(error);
        throw error;
      }
    },
    {
      timeout: options.waitMs ?? GROUP_COORDINATOR_WAIT_MS,
      interval: options.intervalMs ?? 1000,
      what: `a coordinator for consumer group "${options.groupId}" on ${options.brokers.join(', ')}`,
      hint: 'the first consumer group on a cluster makes the brokers create __consumer_offsets; check them with `millrace status` and `millrace logs <kafka node> kafka`',
    },
  );
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
