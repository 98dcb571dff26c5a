/**
 * What the cluster config and the pipeline spec share on the way in: the file (missing, a
 * directory, unreadable, binary, a pipe, too big), the YAML (syntax, alias bombs, scalars and
 * lists) — each a ConfigError with what, where and a hint, never a crash or a hang.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { loadPipelineSpec } from '../../../lib/pipeline-spec';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-docs-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function problem(load: () => unknown): { message: string; hint?: string; path: string } {
  try {
    load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.exitCode).toBe(2);
    expect(error.issues).toHaveLength(1);
    return error.issues[0]!;
  }
  throw new Error('expected a ConfigError');
}

/** A YAML document that expands 10^6 values from a few lines. */
const BILLION_LAUGHS = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  .concat(['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcde'[i]}`).join(',')}]`))
  .join('\n');

describe('the file', () => {
  it('a missing one: what and where, and how to write one', () => {
    const file = path.join(dir, 'missing.yaml');
    expect(problem(() => loadConfig(file))).toEqual({ path: '', message: `${file} does not exist`, hint: `run \`millrace init -c ${file}\` to write one, or pass -c <path> of an existing config` });
    const deep = path.join(dir, 'no', 'such', 'x.yaml');
    expect(problem(() => loadConfig(deep)).message).toBe(`${deep} does not exist (nor does its directory ${path.dirname(deep)})`);
  });

  it('a directory: says so, and suggests the file inside it (not EISDIR, not init)', () => {
    const p = problem(() => loadConfig(dir));
    expect(p.message).toBe(`${dir} is a directory, not a config file`);
    expect(p.hint).toBe(`pass the file itself, e.g. -c ${path.join(dir, 'millrace.yaml')}`);
    expect(problem(() => loadPipelineSpec(dir)).message).toBe(`${dir} is a directory, not a pipeline spec`);
  });

  it('a path through a file: says a part of it is not a directory', () => {
    const file = path.join(dir, 'plain.yaml');
    fs.writeFileSync(file, 'name: demo\n');
    expect(problem(() => loadConfig(path.join(file, 'x.yaml'))).message).toBe(`${path.join(file, 'x.yaml')} cannot be read: a part of its path is a file, not a directory`);
  });

  it('a binary file: not a YAML text file (not "expected object, got string")', () => {
    const file = path.join(dir, 'binary.yaml');
    fs.writeFileSync(file, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0xff, 0xfe]));
    expect(problem(() => loadConfig(file))).toEqual({ path: '', message: `${file} is not a YAML text file (it holds binary data)`, hint: 'pass the YAML config file, e.g. millrace.yaml' });
    const latin1 = path.join(dir, 'latin1.yaml');
    fs.writeFileSync(latin1, Buffer.from('name: d\xe9mo\n', 'latin1'));
    expect(problem(() => loadConfig(latin1)).message).toMatch(/is not a YAML text file/);
  });

  it('a named pipe: refused at once, without blocking on the read', () => {
    const fifo = path.join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(problem(() => loadConfig(fifo)).message).toBe(`${fifo} is not a regular file (a named pipe)`);
  });

  it('a file too big to be a config', () => {
    const file = path.join(dir, 'big.yaml');
    fs.writeFileSync(file, `name: demo\n# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    expect(problem(() => loadConfig(file)).message).toBe(`${file} is 2.0 MiB, too big for a config file (at most 1 MiB)`);
  });

  it('an unreadable file: permission denied, with where', () => {
    const file = path.join(dir, 'secret.yaml');
    fs.writeFileSync(file, 'name: demo\n', { mode: 0o000 });
    if (process.getuid?.() === 0) {
      // root reads it anyway; the built CLI test runs this case as an unprivileged user.
      expect(loadConfig(file).name).toBe('demo');
      return;
    }
    expect(problem(() => loadConfig(file))).toEqual({ path: '', message: `${file} cannot be read: permission denied`, hint: 'check the permissions of the file and of the directories above it (ls -ld)' });
  });
});

describe('the YAML', () => {
  it('a scalar or a list: the config must be a mapping', () => {
    expect(problem(() => parseConfigText('just some words\n'))).toEqual({
      path: '',
      message: 'the config file must be a mapping of keys, not a single string value ("just some words")',
      hint: 'start it with "key: value" lines, e.g. "name: demo" and "target: local"',
    });
    expect(problem(() => parseConfigText('- name: demo\n')).message).toBe('the config file must be a mapping of keys, not a list');
    expect(problem(() => parseConfigText('42\n')).message).toBe('the config file must be a mapping of keys, not a single number value (42)');
  });

  it('an alias bomb: a clean ConfigError, quickly, never a stack trace or a hang', () => {
    const started = Date.now();
    expect(problem(() => parseConfigText(BILLION_LAUGHS))).toEqual({
      path: '',
      message: 'the YAML expands its aliases (*name) into too many values (a "billion laughs" document)',
      hint: 'write the values out, or use fewer aliases (at most 100 expansions)',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('an alias without its anchor', () => {
    expect(problem(() => parseConfigText('name: *nope\n')).message).toBe('the alias *nope has no anchor &nope before it');
  });

  it('a syntax error: line and column, without the parser repeating them', () => {
    expect(problem(() => parseConfigText('name: demo\nnodes:\n  - name: a\n   roles: [kafka]\n'))).toEqual({
      path: '',
      message: expect.stringMatching(/^invalid YAML at line 4, column \d+: [^\n]+$/),
      hint: expect.any(String),
    });
    expect(problem(() => parseConfigText('name: demo\nname: other\n'))).toEqual({
      path: '',
      message: 'invalid YAML at line 2, column 1: Map keys must be unique',
      hint: 'each key may appear once in a mapping: remove or merge the repeated one',
    });
    expect(problem(() => parseConfigText('name: demo\n---\nname: other\n')).hint).toBe('keep one YAML document per file: remove the "---" line and what follows, or merge the two');
    expect(problem(() => parseConfigText('name: demo\n\ttarget: local\n')).message).toMatch(/^invalid YAML at line 2, column 1: /);
  });
});
