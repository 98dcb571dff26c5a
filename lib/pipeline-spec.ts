/**
 * The pipeline spec: what the events of one topic look like. The producer validates records
 * against it and the PySpark jobs build their schema from the same YAML, so keys are only ever
 * added (optionally), never renamed. Parsed once at the edge; every problem is reported at once.
 *
 * One contract with the Spark side (spark-jobs/millrace_pipeline/spec.py): the same spec gets the
 * same verdict, at the same paths, from both. tests/fixtures/specs/ holds the shared cases, run
 * through this parser (tests/unit/lib/spec-contract.test.ts) and spec.py (test_spec_contract.py).
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
  /** The source column (CSV header, JSON or Parquet key) that fills it, when its name differs (producers/columns.ts). */
  from?: string;
}

/** A model feature learned from the past (spark-jobs/millrace_pipeline/features.py recent_label_means). */
export interface RecentFeature {
  /** The feature's name, listed in model.features. */
  name: string;
  /** The field whose value groups the events, e.g. origin. */
  by: string;
  /** How many whole hours of event time before the event's own hour the mean covers. */
  hours: number;
}

export interface PipelineSpec {
  name: string;
  topic: string;
  /** Field whose value keys (partitions) each event. */
  key?: string;
  /** Field that carries the event id; the producer fills it when a record lacks it. */
  id: string;
  /** A required timestamp field: the event time used for replay pacing and by the Spark jobs. */
  eventTime: string;
  fields: FieldSpec[];
  /** How ingest partitions events/ by event time. */
  lakePartition: (typeof LAKE_PARTITIONS)[number];
  /** The Spark side's section; kept as written. */
  model?: { label: string; features: string[]; algorithm: (typeof MODEL_ALGORITHMS)[number]; tuning: boolean; recent?: RecentFeature[] } & Record<string, unknown>;
  /** Derived: `<topic>.dlq`. */
  dlqTopic: string;
  /** Derived: `<topic>.predictions`. */
  predictionsTopic: string;
}

// Spark column names and Python identifiers both accept these; dots would mean struct access, and
// names starting with '_' are the Spark jobs' internal columns (spark-jobs/millrace_pipeline/spec.py).
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Columns the Spark jobs add; a field may not take one of these names (as spec.py's RESERVED_COLUMNS). */
export const RESERVED_COLUMNS = [
  'event_time', 'event_date', 'event_month', 'event_year', 'hour_of_day', 'day_of_week', 'produced_at', 'ingested_at',
  'kafka_partition', 'kafka_offset', 'kafka_timestamp', 'kafka_key', 'prediction', 'model_version', 'scored_at',
] as const;
/** Columns ingest derives from eventTime, which model.features may name (spec.py's DERIVED_FEATURES). */
export const DERIVED_FEATURES = ['hour_of_day', 'day_of_week'] as const;
/** The most hours a recent feature may look back (spec.py's MAX_RECENT_HOURS): a week. */
export const MAX_RECENT_HOURS = 168;
/** How ingest partitions the lake's events/ (spec.py's LAKE_PARTITIONS): by day, month or year of the event time. */
export const LAKE_PARTITIONS = ['day', 'month', 'year'] as const;
/** The regressors train.py fits (spec.py's ALGORITHMS). */
export const MODEL_ALGORITHMS = ['linear', 'gbt', 'random_forest'] as const;
// It names lake paths on the Spark side.
const SPEC_NAME = /^[a-z0-9][a-z0-9_-]*$/;
// Kafka's legal topic characters; 237 leaves room for the ".predictions" suffix within 249.
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,237}$/;

const FIELD_NAME_MESSAGE = 'must be a letter followed by letters, digits or _';

const fieldSchema = z
  .object({
    name: z.string().regex(FIELD_NAME, FIELD_NAME_MESSAGE).describe('Field name: a letter followed by letters, digits or _, e.g. origin (not a column the Spark jobs add, such as event_time)'),
    type: oneOf(FIELD_TYPES).describe(`Field type: ${FIELD_TYPES.join(', ')}`),
    required: z.boolean().default(false).describe('true: a record without this field goes to the dead-letter topic'),
    from: z
      .string()
      .min(1, 'must name a column')
      .optional()
      .describe('The source column that fills this field, as the file writes it, e.g. "Flight Date" (without it: the column of the same name, or one that differs only in case, spaces and symbols)'),
  })
  .strict()
  .describe('One field of the events');

const recentSchema = z
  .object({
    name: z.string().regex(FIELD_NAME, FIELD_NAME_MESSAGE).describe('The feature\'s name, listed in model.features, e.g. origin_delay_3h (not a field\'s name)'),
    by: z.string().describe('The field whose value groups the events: a string, int, long or boolean field other than the label, e.g. origin'),
    hours: z
      .number()
      .int('must be a whole number of hours')
      .min(1, `must be from 1 to ${MAX_RECENT_HOURS}`)
      .max(MAX_RECENT_HOURS, `must be from 1 to ${MAX_RECENT_HOURS}`)
      .describe(`How many whole hours before the event's own hour the mean covers: 1 to ${MAX_RECENT_HOURS}`),
  })
  .strict()
  .describe('A feature learned from the past: the mean label of the events with the same `by` value in the `hours` whole hours of event time before the event\'s hour. Train computes it from the lake; score from the lake\'s events when it starts; an event with none gets the training mean');

const baseSchema = z
  .object({
    name: z
      .string()
      .regex(SPEC_NAME, 'must be lowercase letters, digits, "-" or "_", starting with a letter or digit')
      .describe('Pipeline name: lowercase letters, digits, "-" or "_" (it names lake paths), e.g. flights'),
    topic: z
      .string()
      .regex(TOPIC_NAME, 'must be 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-"')
      .describe('Kafka topic of the events: 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-", e.g. flights; <topic>.dlq and <topic>.predictions are derived'),
    key: z.string().optional().describe('The field whose value keys (partitions) each event, e.g. origin'),
    id: z.string().regex(FIELD_NAME, FIELD_NAME_MESSAGE).describe('The string field that holds the event id; the producer fills it when a record lacks it, e.g. event_id'),
    eventTime: z.string().describe('The required timestamp field with the event time, used for replay pacing and by the Spark jobs (ingest, training and scoring derive from it), e.g. date'),
    fields: z.array(fieldSchema).min(1, 'list at least one field').describe('The fields of the events: name, type, required'),
    lakePartition: oneOf(LAKE_PARTITIONS)
      .default('day')
      .describe('How ingest partitions the lake\'s events by event time: day (event_date, the default), month (event_month) or year (event_year). Data spanning years, such as a backfilled export, writes a file per partition it holds in every micro-batch: month or year keeps that to a few. Choose before the first ingest'),
    // The Spark jobs own this section's details, so keys beyond these two pass through.
    model: z
      .object({
        label: z.string().describe('The numeric (int, long, double) field the model learns to predict, e.g. delay'),
        features: z
          .array(z.string())
          .min(1, 'list at least one feature')
          .describe(`Fields (not timestamps, not the label) and ${DERIVED_FEATURES.join(', ')} (derived from eventTime) the model learns from`),
        algorithm: oneOf(MODEL_ALGORITHMS)
          .default('linear')
          .describe('The regressor: linear (fast, the default), gbt (gradient-boosted trees) or random_forest; `train.py --algorithm` overrides it'),
        tuning: z
          .boolean()
          .default(false)
          .describe("true: train picks the algorithm's settings with a TrainValidationSplit over a small grid (several fits, so slower); the chosen ones go in metrics.json"),
        recent: z.array(recentSchema).optional().describe('Features learned from the label\'s recent past, per value of a field: e.g. { name: origin_delay_3h, by: origin, hours: 3 } (list each name in features)'),
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
  const byName = new Map<string, { type: string; index: number; required: boolean }>();
  s.fields.forEach((f, i) => {
    const first = byName.get(f.name);
    if ((RESERVED_COLUMNS as readonly string[]).includes(f.name))
      issue(['fields', i, 'name'], `"${f.name}" is a column the Spark jobs add`, `rename the field; the jobs add ${RESERVED_COLUMNS.join(', ')}`);
    if (first) issue(['fields', i, 'name'], `duplicate field "${f.name}" (also fields[${first.index}])`, 'give every field a unique name');
    else byName.set(f.name, { type: f.type, index: i, required: f.required });
  });
  const names = [...byName.keys()].join(', ');
  const pick = (value: string, extra: readonly string[] = []): string => {
    const near = didYouMean(value, [...byName.keys(), ...extra]);
    return near ? `did you mean "${near}"? fields: ${names}` : `use one of ${[names, ...extra].join(', ')}`;
  };
  if (s.key !== undefined && !byName.has(s.key)) issue(['key'], `"${s.key}" is not one of the fields`, pick(s.key));
  const idField = byName.get(s.id);
  if ((RESERVED_COLUMNS as readonly string[]).includes(s.id)) issue(['id'], `"${s.id}" is a column the Spark jobs add`, 'name another field as id, e.g. event_id');
  if (idField && idField.type !== 'string') issue(['id'], `the id field "${s.id}" must have type string, not ${idField.type}`, `set type: string on field "${s.id}", or name another field as id`);
  const t = byName.get(s.eventTime);
  if (!t) issue(['eventTime'], `"${s.eventTime}" is not one of the fields`, pick(s.eventTime));
  else if (t.type !== 'timestamp') issue(['eventTime'], `"${s.eventTime}" has type ${t.type}; the event time must be a timestamp field`, `set type: timestamp on field "${s.eventTime}", or name a timestamp field`);
  else if (!t.required) issue(['eventTime'], `the event-time field "${s.eventTime}" must be required`, `set required: true on field "${s.eventTime}"`);
  if (s.model) {
    const label = byName.get(s.model.label);
    if (!label) issue(['model', 'label'], `"${s.model.label}" is not one of the fields`, pick(s.model.label));
    else if (!['int', 'long', 'double'].includes(label.type))
      issue(['model', 'label'], `"${s.model.label}" has type ${label.type}; a label must be numeric (the model is a regression)`, 'name an int, long or double field as the label');
    const recent = recentRules(s.model, byName, issue, pick);
    const seen = new Set<string>();
    s.model.features.forEach((feature, i) => {
      const at = ['model', 'features', i];
      if (seen.has(feature)) issue(at, `"${feature}" is listed twice`, 'list each feature once');
      seen.add(feature);
      if ((DERIVED_FEATURES as readonly string[]).includes(feature) || recent.has(feature)) return;
      const f = byName.get(feature);
      if (!f) issue(at, `"${feature}" is neither a field, one of ${DERIVED_FEATURES.join(', ')}, nor a model.recent name`, pick(feature, [...DERIVED_FEATURES, ...recent]));
      else if (f.type === 'timestamp') issue(at, `the timestamp field "${feature}" cannot be a feature`, `use ${DERIVED_FEATURES.join(' or ')} (derived from eventTime)`);
      else if (feature === s.model!.label) issue(at, `"${feature}" is the label`, 'a model cannot learn its label from itself: remove it from features');
    });
    (s.model.recent ?? []).forEach((r, i) => {
      if (recent.has(r.name) && !seen.has(r.name)) issue(['model', 'recent', i, 'name'], `"${r.name}" is not in model.features`, `add ${r.name} to model.features, or remove this entry`);
    });
  }
}

/** model.recent's own rules (spec.py's _parse_recent); returns the names of the well-formed entries. */
function recentRules(
  model: NonNullable<ParsedSpec['model']>,
  byName: Map<string, { type: string }>,
  issue: ReturnType<typeof issueAdder>,
  pick: (value: string) => string,
): Set<string> {
  const names = new Set<string>();
  (model.recent ?? []).forEach((r, i) => {
    const at = (key: string): (string | number)[] => ['model', 'recent', i, key];
    let ok = true;
    if (byName.has(r.name) || (RESERVED_COLUMNS as readonly string[]).includes(r.name) || (DERIVED_FEATURES as readonly string[]).includes(r.name)) {
      issue(at('name'), `"${r.name}" is already a column: a field, or one the Spark jobs add`, 'give the recent feature a name of its own, e.g. origin_delay_3h');
      ok = false;
    } else if (names.has(r.name)) {
      issue(at('name'), `"${r.name}" is declared twice`, 'give every recent feature a unique name');
      ok = false;
    }
    const by = byName.get(r.by);
    if (!by) {
      issue(at('by'), `"${r.by}" is not one of the fields`, pick(r.by));
      ok = false;
    } else if (by.type === 'timestamp' || by.type === 'double' || r.by === model.label) {
      issue(at('by'), `"${r.by}" cannot group events (${r.by === model.label ? 'it is the label' : `type ${by.type}`})`, 'name a string, int, long or boolean field other than the label, e.g. origin');
      ok = false;
    }
    if (ok) names.add(r.name);
  });
  return names;
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
  flag: '--spec',
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
