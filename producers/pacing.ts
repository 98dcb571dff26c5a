/**
 * When the next record may go. Both schedules are absolute (record i is due at a fixed time
 * from the start), so a late wake-up from a timer is made up for rather than piling up drift.
 */

/** A target rate in events per second: event i is due at start + i / rate. */
export class RateSchedule {
  private start: number | undefined;
  private count = 0;

  constructor(readonly perSecond: number) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`rate must be a positive number, got ${perSecond}`);
  }

  /** Milliseconds to wait before the next event; counts that event as sent. */
  next(nowMs: number): number {
    this.start ??= nowMs;
    const due = this.start + (this.count * 1000) / this.perSecond;
    this.count++;
    return Math.max(0, due - nowMs);
  }
}

/**
 * Replays event time at `speed` times real time: the first event goes at once, and an event
 * whose time is t ms after the first goes t / speed ms after it. Events whose time runs
 * backwards go at once; events without a time are not held back.
 */
export class ReplaySchedule {
  private origin: { eventMs: number; wallMs: number } | undefined;

  constructor(readonly speed: number) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`replay speed must be a positive number, got ${speed}`);
  }

  next(eventMs: number | undefined, nowMs: number): number {
    if (eventMs === undefined || Number.isNaN(eventMs)) return 0;
    this.origin ??= { eventMs, wallMs: nowMs };
    const due = this.origin.wallMs + (eventMs - this.origin.eventMs) / this.speed;
    return Math.max(0, due - nowMs);
  }
}
