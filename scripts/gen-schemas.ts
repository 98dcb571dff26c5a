/**
 * Writes the JSON Schemas of millrace.yaml and the pipeline spec, generated from their zod
 * schemas, to schemas/ (`npm run schemas`). Editors read them through the
 * `# yaml-language-server: $schema=...` line of each example; a unit test regenerates them in
 * memory and fails when the checked-in files differ from the code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { ignoreOverride, zodToJsonSchema } from 'zod-to-json-schema';
import { configSchema } from '../lib/config';
import { pipelineSpecSchema } from '../lib/pipeline-spec';
import { jsonSchemaOverride } from '../lib/schema';

function render(schema: z.ZodTypeAny, title: string): string {
  // zod-to-json-schema's types recurse through zod's; its own tests take the schema as unknown.
  const toJson = zodToJsonSchema as (schema: unknown, options: Record<string, unknown>) => unknown;
  const json = toJson(schema, {
    $refStrategy: 'none',
    target: 'jsonSchema7',
    // A document is validated as written: defaults make keys optional, refinements see their input.
    effectStrategy: 'input',
    pipeStrategy: 'input',
    override: (def: z.ZodTypeDef) => jsonSchemaOverride(def) ?? ignoreOverride,
  });
  const { $schema, ...rest } = nullableSections(json as JsonObject);
  return JSON.stringify({ $schema, title, ...rest }, null, 2) + '\n';
}

type JsonObject = Record<string, unknown>;

/**
 * A top-level key with nothing (or only comments) under it is absent to millrace (its defaults
 * apply: see dropEmptySections), so the schema lets it be null too.
 */
function nullableSections(json: JsonObject): JsonObject {
  const required = new Set((json.required as string[] | undefined) ?? []);
  const properties = Object.fromEntries(
    Object.entries((json.properties as Record<string, JsonObject> | undefined) ?? {}).map(([key, prop]) => {
      if (required.has(key) || typeof prop.type !== 'string') return [key, prop];
      const enumValues = prop.enum as unknown[] | undefined;
      return [key, { ...prop, type: [prop.type, 'null'], ...(enumValues ? { enum: [...enumValues, null] } : {}) }];
    }),
  );
  return { ...json, properties };
}

/** File name → contents, as `npm run schemas` writes them. */
export function jsonSchemas(): Record<string, string> {
  return {
    'millrace.schema.json': render(configSchema, 'millrace cluster config (millrace.yaml)'),
    'pipeline.schema.json': render(pipelineSpecSchema, 'millrace pipeline spec'),
  };
}

if (require.main === module) {
  const dir = path.resolve(process.argv[2] ?? 'schemas');
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(jsonSchemas())) {
    fs.writeFileSync(path.join(dir, file), text);
    process.stdout.write(`wrote ${path.join(dir, file)}\n`);
  }
}
