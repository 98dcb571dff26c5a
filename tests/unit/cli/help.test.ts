/**
 * Help that teaches: every command in the tree shows the global options and at least one
 * example; the root help names every environment variable the code reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildProgram } from '../../../cli/main';
import { allCommands, commandPath, ENVIRONMENT, renderedHelp } from '../../../cli/help';

const REPO = path.resolve(__dirname, '../../..');

describe('help', () => {
  const program = buildProgram();
  const commands = allCommands(program);

  it('walks a tree with nested commands', () => {
    const paths = commands.map(commandPath);
    expect(paths).toEqual(expect.arrayContaining(['init', 'validate', 'up', 'down', 'list', 'completion', 'topics create', 'cache warm', 'jobs kill']));
    expect(paths.length).toBeGreaterThan(25);
  });

  it('every command, nested ones included, shows an example', () => {
    const without = commands.filter((c) => !/\nExamples:\n {2}(\S+=\S+ )?millrace /.test(renderedHelp(c))).map(commandPath);
    expect(without).toEqual([]);
  });

  it("every command's help shows the global options -c, --json, --debug and --log-format", () => {
    for (const c of commands) {
      const help = renderedHelp(c);
      const globals = help.slice(help.indexOf('Global Options:'));
      expect({ command: commandPath(c), has: help.includes('Global Options:') }).toEqual({ command: commandPath(c), has: true });
      for (const flag of ['-c, --config <path>', '--json', '--debug', '--log-format <format>']) expect(globals).toContain(flag);
    }
  });

  it('no command shows two Examples sections', () => {
    for (const c of [program, ...commands]) expect({ command: commandPath(c), n: renderedHelp(c).split('\nExamples:\n').length - 1 }).toEqual({ command: commandPath(c), n: 1 });
  });

  it('the root help documents every environment variable the code reads', () => {
    const help = renderedHelp(program);
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\b(?:process\.env|env)\.([A-Z][A-Z0-9_]+)/g)) read.add(m[1]!);
      }
    };
    for (const d of ['cli', 'lib', 'provisioning', 'targets', 'producers', 'consumers', 'stacks']) walk(path.join(REPO, d));
    // Set by millrace for the AWS SDK, and the operating system's own.
    const notSettings = new Set(['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'PATH', 'HOME']);
    const documented = ENVIRONMENT.flatMap(([k]) => k.split(', '));
    const missing = [...read].filter((v) => !notSettings.has(v) && !documented.includes(v));
    expect(missing).toEqual([]);
    expect(read.size).toBeGreaterThan(5);
    expect(help).toMatch(/\nEnvironment:\n/);
    for (const v of ['MILLRACE_CONFIG', 'MILLRACE_HOME', 'MILLRACE_CACHE', 'MILLRACE_DEBUG', 'LOG_LEVEL', 'MILLRACE_LOG_FORMAT']) expect(help).toMatch(new RegExp(`^ {2}${v}\\s`, 'm'));
    expect(help).toMatch(/Exit codes: 0 done, 1 failure, 2 usage or config error/);
  });
});
