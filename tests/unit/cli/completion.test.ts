/**
 * `millrace completion`: scripts generated from the command tree. The bash one is checked by bash
 * itself and driven as bash drives it on TAB.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildProgram } from '../../../cli/main';
import { allCommands } from '../../../cli/help';

const REPO = path.resolve(__dirname, '../../..');
const MAIN = path.join(REPO, 'dist/cli/main.js');

let dir: string;
let bashScript: string;
beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-completion-'));
  const r = spawnSync(process.execPath, [MAIN, 'completion', 'bash'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } });
  expect(r.status).toBe(0);
  bashScript = path.join(dir, 'millrace.bash');
  fs.writeFileSync(bashScript, r.stdout);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What bash offers after the words (the last one is the word being completed). */
function complete(words: string[]): string[] {
  const arr = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `source ${bashScript}\ncd ${dir}\nCOMP_WORDS=(${arr}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _millrace; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('completion', () => {
  it('the bash script is valid bash', () => {
    const r = spawnSync('bash', ['-n', bashScript], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('completes commands, nested commands, options and their choices', () => {
    expect(complete(['millrace', 'top'])).toEqual(['topics']);
    expect(complete(['millrace', 'co'])).toEqual(['completion', 'consume', 'copy-file']);
    expect(complete(['millrace', 'topics', 'cr'])).toEqual(['create']);
    expect(complete(['millrace', '-c', 'x.yaml', '--json', 'cache', ''])).toEqual(['list', 'warm']);
    expect(complete(['millrace', 'up', '--ta'])).toEqual(['--target']);
    expect(complete(['millrace', 'up', '--target', ''])).toEqual(['aws', 'local', 'static']);
    expect(complete(['millrace', 'up', '--log-format', 'p'])).toEqual(['pretty']);
    expect(complete(['millrace', 'completion', ''])).toEqual(['bash', 'fish', 'zsh']);
    expect(complete(['millrace', 'topics', 'create', '--p'])).toEqual(['--partitions', '--principal']);
    expect(complete(['millrace', 'down', '--'])).toEqual(expect.arrayContaining(['--yes', '--target', '--config', '--json', '--debug', '--log-format', '--help']));
  });

  it('completes file names where a path is expected', () => {
    fs.writeFileSync(path.join(dir, 'cluster-a.yaml'), 'name: a\n');
    expect(complete(['millrace', 'validate', '-c', 'cluster-'])).toEqual(['cluster-a.yaml']);
  });

  it('offers every top-level command at the first word', () => {
    const names = buildProgram().commands.map((c) => c.name()).sort();
    expect(complete(['millrace', ''])).toEqual(names);
  });

  it('zsh and fish scripts name every command of the tree', () => {
    const program = buildProgram();
    for (const shell of ['zsh', 'fish']) {
      const r = spawnSync(process.execPath, [MAIN, 'completion', shell], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } });
      expect(r.status).toBe(0);
      for (const c of allCommands(program)) expect(r.stdout).toMatch(new RegExp(`['\\s]${c.name()}['\\s]`));
      if (shell === 'fish') for (const c of allCommands(program)) expect(r.stdout).toContain(`-a '${c.name()}'`);
    }
    const zsh = spawnSync(process.execPath, [MAIN, 'completion', 'zsh'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } }).stdout;
    expect(zsh).toMatch(/^#compdef millrace\n/);
    expect(zsh).toContain('bashcompinit');
    // The zsh script is bash completion under bashcompinit: check its syntax with bash.
    const file = path.join(dir, 'zsh-as-bash');
    fs.writeFileSync(file, zsh.split('\n').filter((l) => !/^\(\(/.test(l)).join('\n'));
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
  });
});
