/**
 * Live progress on stderr while producing: a line rewritten in place a few times a second on a
 * terminal, a plain line every few seconds in logs and CI (where rewriting only makes noise).
 */
import type { ProduceStats } from './pipeline';
import { ProgressMeter } from './progress';

const TTY_INTERVAL_MS = 250;
const LOG_INTERVAL_MS = 5000;

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export function startProgress(stats: ProduceStats, stream: ProgressStream, now: () => number = Date.now): { stop(): void } {
  const meter = new ProgressMeter(now());
  const tty = !!stream.isTTY;
  const tick = (): void => {
    const line = meter.line(stats, now());
    stream.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const timer = setInterval(tick, tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS);
  // The display alone must not keep the process alive.
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      // Close the rewritten line, so the summary starts on a line of its own.
      if (tty) {
        tick();
        stream.write('\n');
      }
    },
  };
}
