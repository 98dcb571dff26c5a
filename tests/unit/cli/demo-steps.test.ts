import { parseProgressLines, progressLinesCommand } from '../../../cli/demo/steps';

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
