/** consume --partition/--offset/--print-key: the flags, their resolution against watermarks, and a run through commander. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { registerData } from '../../../cli/commands/data';
import { checkPositionFlags, keyedLine, parseOffsetFlag, resolveStart } from '../../../consumers/position';
import { UsageError } from '../../../lib/errors';
import { fakeKafka, FakeKafka } from '../producers/fake-kafka';

const W = [
  { partition: 0, low: '0', high: '5' },
  { partition: 1, low: '3', high: '9' },
  { partition: 2, low: '0', high: '0' },
];

describe('start position', () => {
  it('parses --offset and checks how the flags combine', () => {
    expect(parseOffsetFlag('earliest')).toEqual({ kind: 'earliest' });
    expect(parseOffsetFlag('LATEST')).toEqual({ kind: 'latest' });
    expect(parseOffsetFlag('42')).toEqual({ kind: 'at', offset: 42n });
    expect(() => parseOffsetFlag('-1')).toThrow('--offset -1: expected a number, earliest or latest');
    expect(() => checkPositionFlags({ partition: 'x' })).toThrow('--partition x: expected a partition number (0, 1, ...)');
    expect(() => checkPositionFlags({ offset: '3' })).toThrow('--offset 3 needs --partition');
    expect(() => checkPositionFlags({ offset: 'earliest', fromBeginning: true })).toThrow('--from-beginning and --offset both say where to start');
    expect(() => checkPositionFlags({ partition: '0', verify: true })).toThrow('--partition and --offset do not go with --verify');
    expect(checkPositionFlags({ partition: '1', offset: '4' })).toEqual({ partition: 1, offset: { kind: 'at', offset: 4n } });
    expect(checkPositionFlags({ offset: 'earliest' })).toEqual({ partition: undefined, offset: { kind: 'earliest' } });
  });

  it('resolves earliest, latest and a number against the partition\'s watermarks', () => {
    expect(resolveStart('t', { partition: 1, offset: { kind: 'earliest' } }, W)).toEqual({ partition: 1, startOffset: '3', fromBeginning: true });
    expect(resolveStart('t', { partition: 1, offset: { kind: 'latest' } }, W)).toEqual({ partition: 1, startOffset: '9', fromBeginning: false });
    expect(resolveStart('t', { partition: 1 }, W)).toEqual({ partition: 1, startOffset: '9', fromBeginning: false });
    expect(resolveStart('t', { partition: 1, fromBeginning: true }, W)).toEqual({ partition: 1, startOffset: '3', fromBeginning: true });
    expect(resolveStart('t', { partition: 0, offset: { kind: 'at', offset: 4n } }, W)).toEqual({ partition: 0, startOffset: '4', fromBeginning: false });
    expect(resolveStart('t', { offset: { kind: 'earliest' } }, W)).toEqual({ fromBeginning: true });
    expect(() => resolveStart('t', { partition: 3 }, W)).toThrow(new UsageError('t has no partition 3'));
    expect(() => resolveStart('t', { partition: 1, offset: { kind: 'at', offset: 2n } }, W)).toThrow('t[1] holds offsets 3 to 8; 2 is outside them');
    expect(() => resolveStart('t', { partition: 2, offset: { kind: 'at', offset: 1n } }, W)).toThrow('t[2] holds no messages (its next offset is 0); 1 is outside them');
    expect(keyedLine('k', 'v')).toBe('k\tv');
    expect(keyedLine(undefined, 'v')).toBe('\tv');
  });
});

describe('consume --partition --offset --print-key', () => {
  let dir: string;
  const savedHome = process.env.MILLRACE_HOME;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-pos-'));
    fs.writeFileSync(path.join(dir, 'millrace.yaml'), 'name: demo\n');
    process.env.MILLRACE_HOME = path.join(dir, 'home');
  });
  afterAll(() => {
    if (savedHome === undefined) delete process.env.MILLRACE_HOME;
    else process.env.MILLRACE_HOME = savedHome;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(kafka: FakeKafka, args: string[]): Promise<{ stdout: string; error?: Error }> {
    const program = new Command('millrace').option('-c, --config <path>', 'config', path.join(dir, 'millrace.yaml')).option('--json').exitOverride();
    registerData(program, { connect: async () => kafka });
    let stdout = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'millrace', ...args]);
      return { stdout };
    } catch (error) {
      return { stdout, error: error as Error };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('prints key<TAB>value from the partition and offset asked for, and refuses an offset outside it', async () => {
    const kafka = fakeKafka();
    await kafka.createTopic('t', 3, 1);
    await kafka.produce('t', Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 6}`, value: `v${i}` })));
    const p = kafka.messages('t')[0]!.partition;
    const inP = kafka.messages('t').filter((m) => m.partition === p);
    const r = await run(kafka, ['consume', 't', '--partition', String(p), '--offset', '2', '--print-key', '-n', '3']);
    expect(r.error).toBeUndefined();
    expect(r.stdout).toBe(inP.slice(2, 5).map((m) => `${m.key}\t${m.value}\n`).join(''));
    const json = await run(kafka, ['--json', 'consume', 't', '-p', String(p), '-o', '1', '-n', '1']);
    expect(JSON.parse(json.stdout)).toMatchObject({ partition: p, offset: '1', key: inP[1]!.key, value: inP[1]!.value });
    const far = await run(kafka, ['consume', 't', '-p', String(p), '-o', '1000', '-n', '1']);
    expect(far.error?.message).toBe(`t[${p}] holds offsets 0 to ${inP.length - 1}; 1000 is outside them`);
    expect((await run(kafka, ['consume', 'nope', '-p', '0'])).error?.message).toBe('topic nope does not exist, or pipeline may not describe it');
  });
});
