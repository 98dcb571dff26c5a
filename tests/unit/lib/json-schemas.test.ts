/**
 * schemas/*.schema.json are generated from the zod schemas (`npm run schemas`) and checked in for
 * editors. They must match the code, every example must name its schema and pass it, and the JSON
 * Schema and loadConfig must agree on the examples and on typical mistakes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import * as YAML from 'yaml';
import { loadConfig, parseConfigText } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import { loadPipelineSpec, parsePipelineSpecText } from '../../../lib/pipeline-spec';
import { jsonSchemas } from '../../../scripts/gen-schemas';

const REPO = path.resolve(__dirname, '../../..');
const SCHEMAS = path.join(REPO, 'schemas');
const CONFIGS = fs.readdirSync(path.join(REPO, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(REPO, 'examples', f));
const SPECS = fs.readdirSync(path.join(REPO, 'examples/pipelines')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(REPO, 'examples/pipelines', f));

function validator(file: string): (doc: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), 'utf8')) as object);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}

function refusedBy(load: () => unknown): boolean {
  try {
    load();
    return false;
  } catch (error) {
    if (error instanceof ConfigError) return true;
    throw error;
  }
}

describe('JSON Schemas', () => {
  it('the checked-in files are what the zod schemas generate (run `npm run schemas` after changing them)', () => {
    for (const [file, text] of Object.entries(jsonSchemas())) {
      const checkedIn = fs.existsSync(path.join(SCHEMAS, file)) ? fs.readFileSync(path.join(SCHEMAS, file), 'utf8') : '(missing)';
      if (checkedIn !== text) throw new Error(`schemas/${file} is out of date with the zod schemas: run \`npm run schemas\` and commit the result`);
    }
    expect(Object.keys(jsonSchemas()).sort()).toEqual(['millrace.schema.json', 'pipeline.schema.json']);
  });

  it('carry the descriptions and enums editors show', () => {
    const config = JSON.parse(jsonSchemas()['millrace.schema.json']!) as { properties: Record<string, { description?: string; enum?: string[]; items?: { properties: Record<string, { items?: { enum?: string[] } }> } }> };
    expect(config.properties.name?.description).toMatch(/lowercase DNS label/);
    expect(config.properties.target?.enum).toEqual(['aws', 'static', 'local', null]); // null: "target:" with nothing under it takes the default
    expect(config.properties.nodes?.items?.properties.roles?.items?.enum).toEqual(['kafka', 'spark-master', 'spark-worker', 'namenode', 'datanode', 'kms', 'kdc', 'monitor']);
    const spec = JSON.parse(jsonSchemas()['pipeline.schema.json']!) as { properties: { fields: { items: { properties: { type: { enum: string[] } } } } } };
    expect(spec.properties.fields.items.properties.type.enum).toEqual(['string', 'int', 'long', 'double', 'boolean', 'timestamp']);
  });

  it('every example names its schema on its first line, by a path that exists', () => {
    for (const file of [...CONFIGS, ...SPECS]) {
      const first = fs.readFileSync(file, 'utf8').split('\n')[0]!;
      const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect([file, m ? 'ok' : first]).toEqual([file, 'ok']);
      const target = path.resolve(path.dirname(file), m![1]!);
      expect(target).toBe(path.join(SCHEMAS, SPECS.includes(file) ? 'pipeline.schema.json' : 'millrace.schema.json'));
    }
  });

  it('every example config passes both the JSON Schema (ajv) and loadConfig', () => {
    const validate = validator('millrace.schema.json');
    expect(CONFIGS.length).toBeGreaterThanOrEqual(3);
    for (const file of CONFIGS) {
      expect([file, validate(YAML.parse(fs.readFileSync(file, 'utf8')))]).toEqual([file, []]);
      expect(() => loadConfig(file)).not.toThrow();
    }
  });

  it('every example pipeline spec passes both the JSON Schema (ajv) and loadPipelineSpec', () => {
    const validate = validator('pipeline.schema.json');
    expect(SPECS.length).toBeGreaterThanOrEqual(1);
    for (const file of SPECS) {
      expect([file, validate(YAML.parse(fs.readFileSync(file, 'utf8')))]).toEqual([file, []]);
      expect(() => loadPipelineSpec(file)).not.toThrow();
    }
  });

  it('both refuse the same single-field mistakes', () => {
    const validate = validator('millrace.schema.json');
    const mistakes = [
      'name: Bad_Name\n',
      'name: demo\ntarget: gcp\n',
      'name: demo\nnetwork: { sshCIDR: 1.2.3.4/32 }\n',
      'name: demo\nnodes:\n  - { name: kafka-1, roles: [brokr] }\n',
      'name: demo\naws: { instanceType: banana.superhuge }\n',
      'name: demo\naws: { rootVolumeGb: 2 }\n',
      'name: demo\nversions: { kafka: 3.9.0 }\n',
      'name: demo\nversions: { java: 8 }\n',
      'name: demo\nartifacts: { source: npm }\n',
      'name: demo\naws: { state: { backend: s3 } }\n',
      'target: local\n',
    ];
    for (const text of mistakes) {
      expect([text, validate(YAML.parse(text)).length > 0]).toEqual([text, true]);
      expect([text, refusedBy(() => parseConfigText(text))]).toEqual([text, true]);
    }
    for (const text of ['name: demo\n', 'name: demo\nversions: { java: 17 }\n', 'name: demo\naws: { instanceType: c7gn.metal-48xl }\n'])
      expect([text, validate(YAML.parse(text))]).toEqual([text, []]);
    const spec = validator('pipeline.schema.json');
    const badSpec = 'name: t\ntopic: e\nid: i\nfields:\n  - { name: x, type: integer }\n';
    expect(spec(YAML.parse(badSpec)).length).toBeGreaterThan(0);
    expect(refusedBy(() => parsePipelineSpecText(badSpec))).toBe(true);
  });
});
