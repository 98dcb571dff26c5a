import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import { holdLogs } from '../lib/logger';
import { HostRunner, mapSettled, Settled } from '../lib/parallel';

/**
 * Live progress on stderr: one line per host with its current step (listr2 on a terminal, plain
 * timestamped lines elsewhere). Every host runs to the end, and each host's outcome is gathered.
 * On a terminal, log lines are held while the display draws and printed under it when it ends, so
 * they never tear it; elsewhere they go out as they come.
 */
export function listrRunner(concurrency: number): HostRunner {
  return async (title, items, name, fn) => {
    const results: Settled<Awaited<ReturnType<typeof fn>>>[] = [];
    const processOutput = new ProcessOutput(process.stderr, process.stderr);
    const list = new Listr(
      items.map((item, i) => ({
        title: `${name(item)}: waiting`,
        task: async (_ctx: unknown, task: { title: string }) => {
          const started = Date.now();
          try {
            const value = await fn(item, (m) => (task.title = `${name(item)}: ${m}`));
            results[i] = { where: name(item), ok: true, value };
            task.title = `${name(item)}: done in ${Math.round((Date.now() - started) / 1000)}s`;
          } catch (error) {
            results[i] = { where: name(item), ok: false, error };
            task.title = `${name(item)}: failed`;
            throw error;
          }
        },
      })),
      {
        concurrent: concurrency,
        exitOnError: false,
        collectErrors: false,
        rendererOptions: { logger: new ListrLogger({ processOutput }), collapseErrors: true },
        fallbackRendererOptions: { logger: new ListrLogger({ processOutput }) },
        fallbackRendererCondition: () => !process.stderr.isTTY,
      },
    );
    process.stderr.write(`${title}\n`);
    const release = process.stderr.isTTY ? holdLogs() : () => undefined;
    try {
      await list.run().catch(() => undefined);
    } finally {
      release();
    }
    return results;
  };
}

/** No display: used by tests and --json runs. */
export function quietRunner(concurrency: number): HostRunner {
  return (_title, items, name, fn) => mapSettled(items, concurrency, name, (item) => fn(item, () => undefined));
}
