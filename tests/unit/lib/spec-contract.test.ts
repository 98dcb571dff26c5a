/**
 * One spec contract (issue 16): every fixture in tests/fixtures/specs gets the verdict its first
 * line states from the CLI's validator. spark-jobs/tests/test_spec_contract.py runs the same files
 * through the Spark jobs' validator, so the two agree with each other by agreeing with the files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../../lib/errors';
import { parsePipelineSpecText } from '../../../lib/pipeline-spec';

const DIR = path.join(__dirname, '..', '..', 'fixtures', 'specs');
const TOP = '(top level)';

/** The verdict a fixture's first line states: valid, or the sorted paths of its problems. */
export function expected(text: string, file: string): 'valid' | string[] {
  const m = /^# expect: (valid|invalid at (.+))$/.exec(text.split('\n')[0] ?? '');
  if (!m) throw new Error(`${file}: the first line must be "# expect: valid" or "# expect: invalid at <path>, …"`);
  return m[1] === 'valid' ? 'valid' : m[2]!.split(',').map((p) => (p.trim() === TOP ? '' : p.trim())).sort();
}

function verdict(text: string, file: string): 'valid' | string[] {
  try {
    parsePipelineSpecText(text, file);
    return 'valid';
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => i.path).sort();
    throw e;
  }
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

describe('one spec contract: the CLI gives each shared fixture its stated verdict', () => {
  it('the fixtures cover both verdicts and the drift issue 16 found (no eventTime, boolean label, timestamp feature, a field named prediction, a capitalised name, a long id)', () => {
    const verdicts = files.map((f) => expected(fs.readFileSync(path.join(DIR, f), 'utf8'), f));
    expect(verdicts.filter((v) => v === 'valid').length).toBeGreaterThanOrEqual(3);
    expect(verdicts.filter((v) => v !== 'valid').length).toBeGreaterThanOrEqual(20);
    for (const f of ['no-event-time', 'boolean-label', 'timestamp-feature', 'field-named-prediction', 'capitalised-name', 'long-id']) expect(files).toContain(`invalid-${f}.yaml`);
  });

  it.each(files)('%s', (file) => {
    const text = fs.readFileSync(path.join(DIR, file), 'utf8');
    expect(verdict(text, file)).toEqual(expected(text, file));
  });
});
