/**
 * The pipeline spec: what the events of one topic look like. The producer validates records
 * against it and the PySpark jobs build their schema from the same YAML, so keys are only ever
 * added (optionally), never renamed. Parsed once at the edge; every problem is reported at once.
 */
import { z } from 'zod';
import { ConfigError, ConfigIssue } from './errors';
import { didYouMean, issueAdder, oneOf, parseYaml, readDocument, SchemaDocument, validateDocument } from './schema';

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

const FIELD_NAME_MESSAGE = 'must be a letter or _ followed by letters, digits or _';

const fieldSchema = z
  .object({
    name: z.string().regex(FIELD_NAME, FIELD_NAME_MESSAGE).describe('Field name: a letter or _ followed by letters, digits or _, e.g. origin'),
    type: oneOf(FIELD_TYPES).describe(`Field type: ${FIELD_TYPES.join(', ')}`),
    required: z.boolean().default(false).describe('true: a record without this field goes to the dead-letter topic'),
  })
  .strict()
  .describe('One field of the events');

const baseSchema = z
  .object({
    name: z.string().min(1, 'must not be empty').describe('Pipeline name, e.g. flights'),
    topic: z
      .string()
      .regex(TOPIC_NAME, 'must be 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-"')
      .describe('Kafka topic of the events: 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-", e.g. flights; <topic>.dlq and <topic>.predictions are derived'),
    key: z.string().optional().describe('The field whose value keys (partitions) each event, e.g. origin'),
    id: z.string().regex(FIELD_NAME, FIELD_NAME_MESSAGE).describe('The string field that holds the event id; the producer fills it when a record lacks it, e.g. event_id'),
    eventTime: z.string().optional().describe('The timestamp field with the event time, used for replay pacing and by ingest, e.g. date'),
    fields: z.array(fieldSchema).min(1, 'list at least one field').describe('The fields of the events: name, type, required'),
    // The Spark jobs own this section's details, so keys beyond these two pass through.
    model: z
      .object({
        label: z.string().describe('The numeric or boolean field the model learns to predict, e.g. delay'),
        features: z.array(z.string()).min(1, 'list at least one feature').describe('Fields (and hour_of_day, day_of_week) the model learns from'),
      })
      .passthrough()
      .optional()
      .describe('The Spark side\'s model: label and features; other keys pass through to the Spark jobs'),
  })
  .strict()
  .describe('millrace pipeline spec: what the events of one topic look like');

type ParsedSpec = z.infer<typeof baseSchema>;

function crossFieldRules(s: ParsedSpec, ctx: z.RefinementCtx): void {
  const issue = issueAdder(ctx);
  const byName = new Map<string, { type: string; index: number }>();
  s.fields.forEach((f, i) => {
    const first = byName.get(f.name);
    if (first) issue(['fields', i, 'name'], `duplicate field "${f.name}" (also fields[${first.index}])`, 'give every field a unique name');
    else byName.set(f.name, { type: f.type, index: i });
  });
  const names = [...byName.keys()].join(', ');
  const pick = (value: string): string => {
    const near = didYouMean(value, [...byName.keys()]);
    return near ? `did you mean "${near}"? fields: ${names}` : `use one of ${names}`;
  };
  if (s.key !== undefined && !byName.has(s.key)) issue(['key'], `"${s.key}" is not one of the fields`, pick(s.key));
  const idField = byName.get(s.id);
  if (idField && idField.type !== 'string') issue(['id'], `the id field "${s.id}" must have type string, not ${idField.type}`, `set type: string on field "${s.id}", or name another field as id`);
  if (s.eventTime !== undefined) {
    const t = byName.get(s.eventTime);
    if (!t) issue(['eventTime'], `"${s.eventTime}" is not one of the fields`, pick(s.eventTime));
    else if (t.type !== 'timestamp') issue(['eventTime'], `"${s.eventTime}" has type ${t.type}; the event time must be a timestamp field`, `set type: timestamp on field "${s.eventTime}", or name a timestamp field`);
  }
  if (s.model) {
    const label = byName.get(s.model.label);
    if (!label) issue(['model', 'label'], `"${s.model.label}" is not one of the fields`, pick(s.model.label));
    else if (!['int', 'long', 'double', 'boolean'].includes(label.type))
      issue(['model', 'label'], `"${s.model.label}" has type ${label.type}; a label must be numeric or boolean`, 'name an int, long, double or boolean field as the label');
  }
}

export const pipelineSpecSchema = baseSchema.superRefine(crossFieldRules);

/** ConfigError (exit code 2) whose text names the pipeline spec rather than the cluster config. */
export class PipelineSpecError extends ConfigError {
  constructor(file: string, issues: ConfigIssue[]) {
    super(file, issues, { name: 'pipeline spec', hint: 'fix the spec and run again; examples/pipelines/flights.yaml is a commented example' });
  }
}

const PIPELINE_SPEC: SchemaDocument = {
  error: (file, issues) => new PipelineSpecError(file, issues),
  fileNoun: 'pipeline spec',
  unknownKeyHint: 'check the spelling against examples/pipelines/flights.yaml or schemas/pipeline.schema.json',
  missingHint: () => 'pass --spec <pipeline.yaml> of an existing spec, e.g. examples/pipelines/flights.yaml',
  defaultFileName: 'pipeline.yaml',
  example: '"name: flights", "topic: flights", "id: event_id" and "fields:"',
};

/** Validates an already-parsed document. Throws PipelineSpecError listing every problem. */
export function parsePipelineSpec(doc: unknown, file = 'pipeline.yaml'): PipelineSpec {
  const s = validateDocument(pipelineSpecSchema, doc, file, PIPELINE_SPEC);
  return { ...s, dlqTopic: dlqTopicFor(s.topic), predictionsTopic: predictionsTopicFor(s.topic) };
}

export function parsePipelineSpecText(text: string, file = 'pipeline.yaml'): PipelineSpec {
  return parsePipelineSpec(parseYaml(text, file, PIPELINE_SPEC), file);
}

export function loadPipelineSpec(file: string): PipelineSpec {
  return parsePipelineSpecText(readDocument(file, PIPELINE_SPEC), file);
}

export const dlqTopicFor = (topic: string): string => `${topic}.dlq`;
export const predictionsTopicFor = (topic: string): string => `${topic}.predictions`;

/** The field an event's id lives in, as a spec field (type string), whether or not the spec lists it. */
export function idField(spec: PipelineSpec): FieldSpec {
  return spec.fields.find((f) => f.name === spec.id) ?? { name: spec.id, type: 'string', required: false };
}
