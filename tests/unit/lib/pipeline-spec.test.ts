import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../../lib/errors';
import { idField, loadPipelineSpec, parsePipelineSpecText, PipelineSpecError } from '../../../lib/pipeline-spec';

function problems(yaml: string): string[] {
  try {
    parsePipelineSpecText(yaml, 'bad.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const minimal = `name: t\ntopic: events\nid: event_id\neventTime: at\nfields:\n  - { name: at, type: timestamp, required: true }\n`;

describe('pipeline spec', () => {
  it('loads the shipped flights example with its derived topic names', () => {
    const s = loadPipelineSpec('examples/pipelines/flights.yaml');
    expect(s.topic).toBe('flights');
    expect(s.dlqTopic).toBe('flights.dlq');
    expect(s.predictionsTopic).toBe('flights.predictions');
    expect(s.key).toBe('origin');
    expect(s.id).toBe('event_id');
    expect(s.eventTime).toBe('date');
    expect(s.fields.map((f) => `${f.name}:${f.type}:${f.required}`)).toEqual([
      'date:timestamp:true',
      'delay:int:true',
      'distance:int:true',
      'origin:string:true',
      'destination:string:true',
    ]);
    expect(s.model?.label).toBe('delay');
    expect(idField(s)).toEqual({ name: 'event_id', type: 'string', required: false });
  });

  it('defaults required to false', () => {
    expect(parsePipelineSpecText('name: t\ntopic: e\nid: i\neventTime: at\nfields:\n  - { name: x, type: long }\n  - { name: at, type: timestamp, required: true }\n').fields[0]).toEqual({ name: 'x', type: 'long', required: false });
  });

  it('reports every problem at once, with dotted paths', () => {
    expect(
      problems(`name: t
topic: "bad topic"
id: event_id
key: airport
eventTime: delay
fields:
  - { name: delay, type: integer }
  - { name: 9lives, type: string, required: yes }
  - { name: delay, type: int }
  - { name: when, type: timestamp, reqired: true }
`),
    ).toEqual([
      'fields[0].type: "integer" is not one of string, int, long, double, boolean, timestamp (hint: use one of string, int, long, double, boolean, timestamp)',
      'fields[1].name: must be a letter followed by letters, digits or _ (hint: Field name: a letter followed by letters, digits or _, e.g. origin (not a column the Spark jobs add, such as event_time))',
      'fields[1].required: expected true or false, got a string ("yes") (hint: write true or false, without quotes; true: a record without this field goes to the dead-letter topic)',
      'fields[3]: unknown key "reqired" (hint: did you mean "required"?)',
      'topic: must be 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-" (hint: Kafka topic of the events: 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-", e.g. flights; <topic>.dlq and <topic>.predictions are derived)',
    ]);
  });

  it('checks that key, eventTime, id and the model label fit the fields', () => {
    expect(
      problems(`name: t
topic: e
id: delay
key: airport
eventTime: delay
fields:
  - { name: delay, type: int }
  - { name: delay, type: int }
  - { name: origin, type: string }
model: { label: origin, features: [delay] }
`),
    ).toEqual([
      'eventTime: "delay" has type int; the event time must be a timestamp field (hint: set type: timestamp on field "delay", or name a timestamp field)',
      'fields[1].name: duplicate field "delay" (also fields[0]) (hint: give every field a unique name)',
      'id: the id field "delay" must have type string, not int (hint: set type: string on field "delay", or name another field as id)',
      'key: "airport" is not one of the fields (hint: use one of delay, origin)',
      'model.label: "origin" has type string; a label must be numeric (the model is a regression) (hint: name an int, long or double field as the label)',
    ]);
  });

  it('names missing keys and unknown top-level keys', () => {
    expect(problems('name: t\nfeilds: []\n')).toEqual([
      '(root): unknown key "feilds" (hint: did you mean "fields"?)',
      'eventTime: is required (hint: add "eventTime:" (a string); The required timestamp field with the event time, used for replay pacing and by the Spark jobs (ingest, training and scoring derive from it), e.g. date)',
      'fields: is required (hint: add "fields:" (a list); The fields of the events: name, type, required)',
      'id: is required (hint: add "id:" (a string); The string field that holds the event id; the producer fills it when a record lacks it, e.g. event_id)',
      'topic: is required (hint: add "topic:" (a string); Kafka topic of the events: 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-", e.g. flights; <topic>.dlq and <topic>.predictions are derived)',
    ]);
    expect(problems('').map((p) => p.replace(/ \(hint: .*\)$/, ''))).toEqual(['eventTime: is required', 'fields: is required', 'id: is required', 'name: is required', 'topic: is required']);
  });

  it('treats a key with nothing (or only comments) under it as absent, as the cluster config and the Spark side do', () => {
    const s = parsePipelineSpecText(`${minimal}key:\nmodel:\n  # label: delay\n`);
    expect(s.key).toBeUndefined();
    expect(s.model).toBeUndefined();
    expect(problems(`${minimal.replace('name: t\n', 'name:\n')}`)).toEqual(['name: is required (hint: add "name:" (a string); Pipeline name: lowercase letters, digits, "-" or "_" (it names lake paths), e.g. flights)']);
  });

  it('passes the Spark side\'s own model keys through', () => {
    const s = parsePipelineSpecText(`${minimal}  - { name: y, type: double }\n  - { name: x, type: int }\nmodel: { label: y, features: [x], kind: regression }\n`);
    expect(s.model).toEqual({ label: 'y', features: ['x'], kind: 'regression', algorithm: 'linear', tuning: false });
  });

  it('reports malformed YAML with line and column', () => {
    expect(problems('name: t\nfields: [\n  - x: {\n')).toEqual([
      expect.stringMatching(/^\(root\): invalid YAML at line \d+, column \d+: .+ \(hint: .+\)$/),
    ]);
  });

  it('is a ConfigError (exit 2) whose message names the pipeline spec and the file', () => {
    let error: unknown;
    try {
      parsePipelineSpecText('name: t\n', 'flights.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PipelineSpecError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).message).toBe(
      'flights.yaml: 4 problems in the pipeline spec\n' +
        '  - eventTime: is required (hint: add "eventTime:" (a string); The required timestamp field with the event time, used for replay pacing and by the Spark jobs (ingest, training and scoring derive from it), e.g. date)\n' +
        '  - fields: is required (hint: add "fields:" (a list); The fields of the events: name, type, required)\n' +
        '  - id: is required (hint: add "id:" (a string); The string field that holds the event id; the producer fills it when a record lacks it, e.g. event_id)\n' +
        '  - topic: is required (hint: add "topic:" (a string); Kafka topic of the events: 1 to 237 of a-z, A-Z, 0-9, ".", "_", "-", e.g. flights; <topic>.dlq and <topic>.predictions are derived)',
    );
    expect((error as ConfigError).hint).toBe('fix the spec and run again; examples/pipelines/flights.yaml is a commented example');
  });

  it('says when the file is missing', () => {
    const missing = path.join(os.tmpdir(), `no-such-spec-${process.pid}.yaml`);
    expect(() => loadPipelineSpec(missing)).toThrow(`${missing}: 1 problem in the pipeline spec\n  - (root): ${missing} does not exist (hint: pass --spec <pipeline.yaml> of an existing spec, e.g. examples/pipelines/flights.yaml)`);
    expect(fs.existsSync(missing)).toBe(false);
  });
});

// What the Spark side (spark-jobs/millrace_pipeline/spec.py) refuses is refused here too, before
// anything is produced: names it uses, features it cannot learn from, an event time it cannot read.
describe('pipeline spec: the rules the Spark jobs hold it to', () => {
  const fields = 'fields:\n  - { name: at, type: timestamp, required: true }\n  - { name: delay, type: int }\n  - { name: origin, type: string }\n';

  it('refuses the column names the jobs add, and names starting with _', () => {
    expect(problems(`name: t\ntopic: e\nid: kafka_key\neventTime: at\n${fields}  - { name: prediction, type: double }\n  - { name: _x, type: int }\n`)).toEqual([
      'fields[3].name: "prediction" is a column the Spark jobs add (hint: rename the field; the jobs add event_time, event_date, event_month, event_year, hour_of_day, day_of_week, produced_at, ingested_at, kafka_partition, kafka_offset, kafka_timestamp, kafka_key, prediction, model_version, scored_at)',
      'fields[4].name: must be a letter followed by letters, digits or _ (hint: Field name: a letter followed by letters, digits or _, e.g. origin (not a column the Spark jobs add, such as event_time))',
      'id: "kafka_key" is a column the Spark jobs add (hint: name another field as id, e.g. event_id)',
    ]);
  });

  it('checks the features: fields or derived columns, no timestamps, not the label, each once', () => {
    expect(problems(`name: t\ntopic: e\nid: event_id\neventTime: at\n${fields}model: { label: delay, features: [origin, orign, at, delay, hour_of_day, origin] }\n`)).toEqual([
      'model.features[1]: "orign" is neither a field, one of hour_of_day, day_of_week, nor a model.recent name (hint: did you mean "origin"? fields: at, delay, origin)',
      'model.features[2]: the timestamp field "at" cannot be a feature (hint: use hour_of_day or day_of_week (derived from eventTime))',
      'model.features[3]: "delay" is the label (hint: a model cannot learn its label from itself: remove it from features)',
      'model.features[5]: "origin" is listed twice (hint: list each feature once)',
    ]);
    // The derived features need eventTime, which every spec names: the Spark jobs read it (one contract, spec.py).
    expect(problems(`name: t\ntopic: e\nid: event_id\n${fields}model: { label: delay, features: [day_of_week] }\n`).map((p) => p.replace(/ \(hint: .*\)$/, ''))).toEqual(['eventTime: is required']);
  });

  it('checks recent features: a name of their own that features lists, a field to group by, whole hours', () => {
    const recent = (entries: string, features = 'origin, origin_delay_3h'): string[] =>
      problems(`name: t\ntopic: e\nid: event_id\neventTime: at\n${fields}model:\n  label: delay\n  features: [${features}]\n  recent:\n${entries}`);
    expect(recent('    - { name: origin_delay_3h, by: orign, hours: 3 }\n')).toEqual([
      'model.features[1]: "origin_delay_3h" is neither a field, one of hour_of_day, day_of_week, nor a model.recent name (hint: use one of at, delay, origin, hour_of_day, day_of_week)',
      'model.recent[0].by: "orign" is not one of the fields (hint: did you mean "origin"? fields: at, delay, origin)',
    ]);
    expect(recent('    - { name: origin_delay_3h, by: delay, hours: 3 }\n    - { name: origin, by: origin, hours: 1 }\n    - { name: unused_3h, by: origin, hours: 3 }\n')).toEqual([
      'model.features[1]: "origin_delay_3h" is neither a field, one of hour_of_day, day_of_week, nor a model.recent name (hint: use one of at, delay, origin, hour_of_day, day_of_week, unused_3h)',
      'model.recent[0].by: "delay" cannot group events (it is the label) (hint: name a string, int, long or boolean field other than the label, e.g. origin)',
      'model.recent[1].name: "origin" is already a column: a field, or one the Spark jobs add (hint: give the recent feature a name of its own, e.g. origin_delay_3h)',
      'model.recent[2].name: "unused_3h" is not in model.features (hint: add unused_3h to model.features, or remove this entry)',
    ]);
    expect(recent('    - { name: origin_delay_3h, by: origin, hours: 0.5 }\n    - { name: origin_delay_9d, by: origin, hours: 200 }\n', 'origin').map((p) => p.replace(/ \(hint: .*\)$/, ''))).toEqual([
      'model.recent[0].hours: expected a whole number, got a decimal number (0.5)',
      'model.recent[0].hours: must be from 1 to 168',
      'model.recent[0].name: "origin_delay_3h" is not in model.features',
      'model.recent[1].hours: must be from 1 to 168',
      'model.recent[1].name: "origin_delay_9d" is not in model.features',
    ]);
  });

  it('needs the event-time field to be required, and a name that can name lake paths', () => {
    expect(problems(`name: Flights Now\ntopic: e\nid: event_id\neventTime: at\nfields:\n  - { name: at, type: timestamp }\n`)).toEqual([
      'eventTime: the event-time field "at" must be required (hint: set required: true on field "at")',
      'name: must be lowercase letters, digits, "-" or "_", starting with a letter or digit (hint: Pipeline name: lowercase letters, digits, "-" or "_" (it names lake paths), e.g. flights)',
    ]);
  });

  it('says which document and file for a directory, a binary file and a list', () => {
    expect(() => loadPipelineSpec(os.tmpdir())).toThrow(`${os.tmpdir()} is a directory, not a pipeline spec (hint: pass the file itself, e.g. --spec ${path.join(os.tmpdir(), 'pipeline.yaml')})`);
    expect(problems('- name: t\n')).toEqual(['(root): the pipeline spec must be a mapping of keys, not a list (hint: start it with "key: value" lines, e.g. "name: flights", "topic: flights", "id: event_id" and "fields:")']);
  });
});
