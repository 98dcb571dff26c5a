import { parseProgressLines, progressLinesCommand } from '../../../cli/demo/steps';
import { runningStreamingJob } from '../../../cli/commands/demo';

describe('streaming progress lines', () => {
  it('parses complete lines, oldest first, and leaves out a line still being written', () => {
    const out = 'MILLRACE_PROGRESS {"batch": 0, "output_rows": 5, "query": "events"}\nMILLRACE_PROGRESS {"batch": 1, "output_rows": 7, "query": "events"}\nMILLRACE_PROGRESS {"batch": 2, "outp\n';
    expect(parseProgressLines<{ batch: number; output_rows: number }>(out)).toEqual([
      { batch: 0, output_rows: 5, query: 'events' },
      { batch: 1, output_rows: 7, query: 'events' },
    ]);
  });

  it('greps one query of a quoted log path', () => {
    expect(progressLinesCommand("/var/lib/x y/driver.log", 'events')).toBe(`grep -h '"query": "events"' '/var/lib/x y/driver.log' | grep '"batch":' || true`);
  });
});

describe('a streaming job the demo finds running', () => {
  const apps = [
    { id: 'app-1', name: 'millrace-ingest-flights', workDir: '/var/lib/millrace/spark/jobs/ingest-1' },
    { id: 'app-2', name: 'millrace-score-flights' },
  ];

  it('is read through its driver log on the master node when millrace started it', () => {
    expect(runningStreamingJob(apps, 'millrace-ingest-flights', 'spark-1')).toEqual({ running: true, job: { node: 'spark-1', log: '/var/lib/millrace/spark/jobs/ingest-1/driver.log' } });
  });

  it('is running without a log to read when another driver started it, and not running when absent', () => {
    expect(runningStreamingJob(apps, 'millrace-score-flights', 'spark-1')).toEqual({ running: true });
    expect(runningStreamingJob(apps, 'millrace-ingest-other', 'spark-1')).toEqual({ running: false });
  });
});
