/**
 * The pipeline spec: what the events of one topic look like. The producer validates records
 * against it and the PySpark jobs build their schema from the same YAML, so keys are only ever
 * added (optionally), never renamed. Parsed once at the edge; every problem is reported at once.
 */
import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, ConfigIssue } from './errors';
import { formatPath } from './config';

export const FIELD_TYPES = ['string', 'int', 'long', 'double', 'boolean', 'timestamp'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldSpec {
  name: string;
  type: FieldType;
  required: boolean;
}

export interface PipelineSpec {
  name: string;
  topic: string;
  /** Field whose value keys (partitions) each event. */
  key?: string;
  /** Field that carries the event id; the producer fills it when a record lacks it. */
  id: string;
  /** A timestamp field: the event time used for replay pacing and by ingest. */
  eventTime?: string;
  fields: FieldSpec[];
  /** The Spark side's section; kept as written. */
  model?: { label: string; features: string[] } & Record<string, unknown>;
  /** Derived: `<topic>.dlq`. */
  dlqTopic: string;
  /** Derived: `<topic>.predictions`. */
  predictionsTopic: string;
}

// Spark column names and Python identifiers both accept these; dots would mean struct access.
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Kafka's legal topic characters; 237 leaves room for the ".predictions" suffix within 249.
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,237}$/;

/** A string from a fixed set, as a refinement so one bad value does not hide the other problems. */
const fieldType = z.string().superRefine((v, ctx) => {
  if (!(FIELD_TYPES as readonly string[]).includes(v)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not one of ${FIELD_TYPES.join(', ')}` });
});

const fieldSchema = z
  .object({
    name: z.string().regex(FIELD_NAME, 'must be a letter or _ followed by letters, digits or _'),
    type: fieldType,
    required: z.boolean().default(false),
  })
  .strict();

const baseSchema = z
  .object({
    name: z.string().min(1, 'must not be empty'),
    topic: z.string().regex(TOPIC_NAME, 'must be 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-"'),
    key: z.string().optional(),
    id: z.string().regex(FIELD_NAME, 'must be a letter or _ followed by letters, digits or _'),
    eventTime: z.string().optional(),
    fields: z.array(fieldSchema).min(1, 'list at least one field'),
    // The Spark jobs own this section's details, so keys beyond these two pass through.
    model: z.object({ label: z.string(), features: z.array(z.string()).min(1, 'list at least one feature') }).passthrough().optional(),
  })
  .strict();

type ParsedSpec = z.infer<typeof baseSchema>;

function crossFieldRules(s: ParsedSpec, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string, hint?: string): void =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, params: hint ? { hint } : undefined });
  const byName = new Map<string, { type: string; index: number }>();
  s.fields.forEach((f, i) => {
    const first = byName.get(f.name);
    if (first) issue(['fields', i, 'name'], `duplicate field "${f.name}" (also fields[${first.index}])`);
    else byName.set(f.name, { type: f.type, index: i });
  });
  const names = [...byName.keys()].join(', ');
  if (s.key !== undefined && !byName.has(s.key)) issue(['key'], `"${s.key}" is not one of the fields`, `use one of ${names}`);
  const idField = byName.get(s.id);
  if (idField && idField.type !== 'string') issue(['id'], `the id field "${s.id}" must have type string, not ${idField.type}`);
  if (s.eventTime !== undefined) {
    const t = byName.get(s.eventTime);
    if (!t) issue(['eventTime'], `"${s.eventTime}" is not one of the fields`, `use one of ${names}`);
    else if (t.type !== 'timestamp') issue(['eventTime'], `"${s.eventTime}" has type ${t.type}; the event time must be a timestamp field`);
  }
  if (s.model) {
    const label = byName.get(s.model.label);
    if (!label) issue(['model', 'label'], `"${s.model.label}" is not one of the fields`, `use one of ${names}`);
    else if (!['int', 'long', 'double', 'boolean'].includes(label.type))
      issue(['model', 'label'], `"${s.model.label}" has type ${label.type}; a label must be numeric or boolean`);
  }
}

export const pipelineSpecSchema = baseSchema.superRefine(crossFieldRules);

function toIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => {
    const path = formatPath(i.path);
    if (i.code === z.ZodIssueCode.unrecognized_keys)
      return { path, message: `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`, hint: 'check the spelling against examples/pipelines/flights.yaml' };
    if (i.code === z.ZodIssueCode.invalid_type && i.received === 'undefined') return { path, message: 'is required' };
    if (i.code === z.ZodIssueCode.invalid_type) return { path, message: `expected ${i.expected}, got ${i.received}` };
    const hint = i.code === z.ZodIssueCode.custom ? (i.params?.hint as string | undefined) : undefined;
    return { path, message: i.message, ...(hint ? { hint } : {}) };
  });
}

/** ConfigError (exit code 2) whose text names the pipeline spec rather than the cluster config. */
export class PipelineSpecError extends ConfigError {
  constructor(file: string, issues: ConfigIssue[]) {
    super(file, issues);
    const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
    const n = issues.length;
    this.message = `${file}: ${n} problem${n === 1 ? '' : 's'} in the pipeline spec\n${lines.join('\n')}`;
    (this as { hint?: string }).hint = 'fix the spec and run again; examples/pipelines/flights.yaml is a commented example';
  }
}

/** Validates an already-parsed document. Throws PipelineSpecError listing every problem. */
export function parsePipelineSpec(doc: unknown, file = 'pipeline.yaml'): PipelineSpec {
  const result = pipelineSpecSchema.safeParse(doc ?? {});
  if (!result.success) {
    const issues = toIssues(result.error).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    throw new PipelineSpecError(file, issues);
  }
  const s = result.data;
  return {
    ...s,
    fields: s.fields.map((f) => ({ ...f, type: f.type as FieldType })),
    dlqTopic: dlqTopicFor(s.topic),
    predictionsTopic: predictionsTopicFor(s.topic),
  };
}

export function parsePipelineSpecText(text: string, file = 'pipeline.yaml'): PipelineSpec {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    // Later syntax errors are usually echoes of the first one.
    throw new PipelineSpecError(file, [
      {
        path: '',
        message: `invalid YAML at line ${first.linePos?.[0]?.line ?? '?'}, column ${first.linePos?.[0]?.col ?? '?'}: ${first.message.split('\n')[0]}`,
        hint: 'check the indentation and quoting on that line',
      },
    ]);
  }
  return parsePipelineSpec(doc.toJS(), file);
}

export function loadPipelineSpec(file: string): PipelineSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PipelineSpecError(file, [
      { path: '', message: code === 'ENOENT' ? 'file not found' : `cannot read: ${code ?? String(error)}`, hint: 'pass --spec <pipeline.yaml>, e.g. examples/pipelines/flights.yaml' },
    ]);
  }
  return parsePipelineSpecText(text, file);
}

export const dlqTopicFor = (topic: string): string => `${topic}.dlq`;
export const predictionsTopicFor = (topic: string): string => `${topic}.predictions`;

/** The field an event's id lives in, as a spec field (type string), whether or not the spec lists it. */
export function idField(spec: PipelineSpec): FieldSpec {
  return spec.fields.find((f) => f.name === spec.id) ?? { name: spec.id, type: 'string', required: false };
}
