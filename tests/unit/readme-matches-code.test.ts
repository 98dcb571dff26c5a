/** The README says what the code does: default versions, environment variables, commands. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_VERSIONS } from '../../lib/versions';
import { ENVIRONMENT } from '../../cli/help';
import { buildProgram } from '../../cli/main';

const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

describe('README matches the code', () => {
  it('gives the default component versions the code uses', () => {
    const row = readme.split('\n').find((l) => l.startsWith('| `versions` |'));
    expect(row).toBeDefined();
    for (const [component, version] of Object.entries(DEFAULT_VERSIONS)) expect(row).toContain(`${component} \`${version}\``);
  });

  it('documents every environment variable the help names', () => {
    const names = ENVIRONMENT.flatMap(([k]) => k.split(/,\s*/));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !readme.includes(`\`${n}\``))).toEqual([]);
  });

  it('has a row in the commands table for every top-level command', () => {
    const commands = buildProgram().commands.map((c) => c.name());
    expect(commands.filter((c) => !readme.includes(`| \`${c}\``) && !readme.includes(`| \`${c} `))).toEqual([]);
  });
});
