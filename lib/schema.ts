/**
 * What every YAML document millrace reads (the cluster config, the pipeline spec) shares on the
 * way in: the file read (a directory, a binary file, a missing or unreadable one are named as
 * such), YAML syntax errors by line and column, alias bombs refused, and zod's issues turned into
 * ConfigIssues with dotted paths, a hint on every one ("did you mean" for unknown keys), sorted,
 * all at once. One implementation, so the documents report problems the same way.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import * as YAML from 'yaml';
import { z } from 'zod';
import type { ConfigError, ConfigIssue } from './errors';

/** What differs between the documents: their error class, what they are called, where examples live. */
export interface SchemaDocument {
  /** The error (exit code 2) that lists every problem of `file`. */
  error(file: string, issues: ConfigIssue[]): ConfigError;
  /** What the file is, in a sentence: "config file", "pipeline spec file". */
  fileNoun: string;
  /** Where the valid keys are written down, for an unknown key with no close match. */
  unknownKeyHint: string;
  /** What to do when the file does not exist. */
  missingHint(file: string): string;
  /** A file name to suggest inside a directory given in its place. */
  defaultFileName: string;
  /** The command-line option that names the file: -c, --spec. */
  flag: string;
  /** A first line or two of a valid document, for "must be a mapping". */
  example: string;
}

/** Bigger than any real config: a file past this is not one (and is not read into memory). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Aliases a document may expand; a real config has none or a few, a "billion laughs" has millions. */
export const MAX_ALIAS_COUNT = 100;

/**
 * JSON Schema overrides for schemas zod-to-json-schema can't see through (refinements): keyed by
 * the zod definition, read by scripts/gen-schemas.ts.
 */
const jsonSchemaOverrides = new WeakMap<object, Record<string, unknown>>();

/** A refinement's identity survives .describe() and .default(), which copy the definition but keep its effect. */
const overrideKey = (def: z.ZodTypeDef): object => ((def as { effect?: object }).effect ?? def) as object;

function withJsonSchema<T extends z.ZodTypeAny>(schema: T, json: Record<string, unknown>): T {
  jsonSchemaOverrides.set(overrideKey(schema._def), json);
  return schema;
}

/** The JSON Schema registered for a zod definition (a oneOf's enum), with the definition's description. */
export function jsonSchemaOverride(def: z.ZodTypeDef): Record<string, unknown> | undefined {
  const json = jsonSchemaOverrides.get(overrideKey(def));
  if (!json) return undefined;
  return def.description ? { ...json, description: def.description } : json;
}

/** The closest of `candidates` to `value`, when it is close enough to be a likely typo. */
export function didYouMean(value: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0 || value.length === 0) return undefined;
  const lower = value.toLowerCase();
  const exactCase = candidates.find((c) => c.toLowerCase() === lower);
  if (exactCase) return exactCase;
  const best = closest(lower, candidates.map((c) => c.toLowerCase()));
  const match = candidates.find((c) => c.toLowerCase() === best);
  const allowed = value.length <= 3 ? 1 : value.length <= 6 ? 2 : 3;
  return match !== undefined && distance(lower, best) <= allowed ? match : undefined;
}

export interface OneOfOptions {
  /** "kafka version": the message then reads `unknown kafka version "x"`. */
  what?: string;
  /** Numbers in the YAML (java: 17) are taken as their string. */
  coerceNumbers?: boolean;
}

/**
 * A string from a fixed set, checked by a refinement rather than z.enum: an enum mismatch aborts
 * the parse of everything around it, which would hide the cross-field problems from the report.
 * Its JSON Schema is still the enum, for editors.
 */
export function oneOf<T extends string>(values: readonly T[], options: OneOfOptions = {}): z.ZodType<T, z.ZodTypeDef, unknown> {
  // No .transform() to narrow the type: zod skips a transform, and the refinements around it,
  // once a value has any issue.
  const check = z.string().superRefine((v, ctx) => {
    if ((values as readonly string[]).includes(v)) return;
    // Versions are too alike for a suggestion to mean anything: 3.9.0 is not a typo of 4.0.0.
    const near = options.what ? undefined : didYouMean(v, values);
    const list = values.join(', ');
    const message = options.what ? `unknown ${options.what} "${v}"` : `"${v}" is not one of ${list}`;
    const hint = near ? `did you mean "${near}"? valid values: ${list}` : options.what ? `known versions: ${list}` : `use one of ${list}`;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message, params: { hint } });
  });
  const schema = options.coerceNumbers ? z.preprocess((v) => (typeof v === 'number' ? String(v) : v), check) : check;
  return withJsonSchema(schema, options.coerceNumbers ? { type: ['string', 'number'], enum: [...values, ...values.map(Number).filter((n) => !Number.isNaN(n))] } : { type: 'string', enum: [...values] }) as unknown as z.ZodType<
    T,
    z.ZodTypeDef,
    unknown
  >;
}

/** Why `value` is not an IPv4 address or a DNS host name a node can have, or undefined when it is one. */
export function hostAddressProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (net.isIPv6(value)) return `"${value}" is an IPv6 address; millrace needs an IPv4 address or a host name`;
  if (/^[\d.]+$/.test(value)) {
    if (!net.isIPv4(value)) return `"${value}" is not a valid IPv4 address (four numbers 0-255, without leading zeros)`;
    const a = Number(value.split('.')[0]);
    if (a === 0) return `"${value}" is in 0.0.0.0/8, which is no host's address`;
    if (a >= 224) return `"${value}" is a ${a < 240 ? 'multicast' : 'reserved'} address, not a host's`;
    return undefined;
  }
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
  const labels = value.replace(/\.$/, '').split('.');
  if (value.length > 253 || !labels.every((l) => label.test(l)) || /^\d+$/.test(labels[labels.length - 1] ?? ''))
    return `"${value}" is not an IPv4 address or a host name`;
  return undefined;
}

export const HOST_ADDRESS_HINT = 'write an IPv4 address such as 10.0.0.5 or a DNS name such as kafka-1.example.org';

/** An IPv4 address or DNS name: checked by a refinement (so the cross-field rules still run), a string in JSON Schema. */
export function hostAddress(): z.ZodType<string, z.ZodTypeDef, unknown> {
  return z.string().superRefine((v, ctx) => {
    const problem = hostAddressProblem(v);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, params: { hint: HOST_ADDRESS_HINT } });
  });
}

/** Adds a cross-field problem with an optional hint, for a schema's superRefine. */
export function issueAdder(ctx: z.RefinementCtx): (path: (string | number)[], message: string, hint?: string) => void {
  return (path, message, hint) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, params: hint ? { hint } : undefined });
}

/** Formats a zod path the way users write it: nodes[1].roles[0]. */
export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The schema beneath wrappers (default, optional, refinements), and the first description met on the way. */
function unwrap(schema: z.ZodTypeAny): { schema: z.ZodTypeAny; description?: string } {
  let s = schema;
  let description = s.description;
  for (;;) {
    const def = s._def as { typeName?: string; innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny; in?: z.ZodTypeAny; getter?: () => z.ZodTypeAny };
    const next =
      def.typeName === 'ZodOptional' || def.typeName === 'ZodNullable' || def.typeName === 'ZodDefault' || def.typeName === 'ZodCatch' || def.typeName === 'ZodReadonly'
        ? def.innerType
        : def.typeName === 'ZodEffects'
          ? def.schema
          : def.typeName === 'ZodPipeline'
            ? def.in
            : def.typeName === 'ZodLazy'
              ? def.getter?.()
              : undefined;
    if (!next) return { schema: s, ...(description ? { description } : {}) };
    s = next;
    description ??= s.description;
  }
}

/** The sub-schema at a zod path, with its description; undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodTypeAny, at: (string | number)[]): { schema: z.ZodTypeAny; description?: string } | undefined {
  let here = unwrap(root);
  for (const key of at) {
    const s = here.schema;
    let next: z.ZodTypeAny | undefined;
    if (s instanceof z.ZodObject) next = (s.shape as Record<string, z.ZodTypeAny>)[String(key)];
    else if (s instanceof z.ZodArray) next = s.element as z.ZodTypeAny;
    else if (s instanceof z.ZodRecord) next = s.valueSchema as z.ZodTypeAny;
    else if (s instanceof z.ZodDiscriminatedUnion || s instanceof z.ZodUnion) {
      const options = (s instanceof z.ZodDiscriminatedUnion ? [...s.options] : [...s.options]) as z.ZodTypeAny[];
      next = options.map((o) => unwrap(o).schema).find((o): o is z.AnyZodObject => o instanceof z.ZodObject && String(key) in o.shape)?.shape[String(key)] as z.ZodTypeAny | undefined;
    }
    if (!next) return undefined;
    here = unwrap(next);
  }
  return here;
}

/** The keys an object schema (or a union of objects) takes. */
function keysOf(schema: z.ZodTypeAny | undefined): string[] {
  if (!schema) return [];
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape as object);
  if (schema instanceof z.ZodDiscriminatedUnion || schema instanceof z.ZodUnion)
    return [...new Set(([...schema.options] as z.ZodTypeAny[]).flatMap((o) => keysOf(unwrap(o).schema)))];
  return [];
}

/** The value at a path of the document, for messages that quote what was written. */
function valueAt(doc: unknown, at: (string | number)[]): unknown {
  let v = doc;
  for (const key of at) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  float: 'a decimal number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'nothing',
  nan: 'NaN',
  date: 'a date',
};
const TYPE_EXAMPLES: Record<string, string> = {
  string: 'write text; quote it if it looks like a number or holds ": " or "#"',
  number: 'write digits without quotes, e.g. 30',
  boolean: 'write true or false, without quotes',
  array: 'write a list: [a, b] on one line, or one "- item" per line',
  object: 'write "key: value" lines indented under this key',
};

const words = (type: string): string => TYPE_WORDS[type] ?? type;
const withDescription = (hint: string, description?: string): string => (description ? `${hint}; ${description}` : hint);

/**
 * zod's issues as the user reads them, sorted by path: every one with a hint, unknown keys with
 * the close valid key ("did you mean") or the list of valid ones.
 */
export function toIssues(error: z.ZodError, kind: Pick<SchemaDocument, 'unknownKeyHint'>, schema?: z.ZodTypeAny, doc?: unknown): ConfigIssue[] {
  const issues = error.issues.flatMap((i): ConfigIssue[] => {
    const path = formatPath(i.path);
    const field = schema ? schemaAt(schema, i.path) : undefined;
    const description = field?.description;
    const key = i.path[i.path.length - 1];
    switch (i.code) {
      case z.ZodIssueCode.unrecognized_keys: {
        const valid = keysOf(field?.schema);
        return i.keys.map((k) => {
          const near = didYouMean(k, valid);
          const hint = near ? `did you mean "${near}"?` : valid.length > 0 ? `valid keys here: ${valid.join(', ')}` : kind.unknownKeyHint;
          // Quoted as JSON: a key with a line break must not split the message.
          return { path, message: `unknown key ${JSON.stringify(k)}`, hint };
        });
      }
      case z.ZodIssueCode.invalid_enum_value: {
        const options = i.options.map(String);
        const near = typeof i.received === 'string' ? didYouMean(i.received, options) : undefined;
        return [{ path, message: `${quote(i.received)} is not one of ${options.join(', ')}`, hint: near ? `did you mean "${near}"?` : `use one of ${options.join(', ')}` }];
      }
      case z.ZodIssueCode.invalid_type: {
        if (i.received === 'undefined') {
          const what = typeof key === 'string' ? `add "${key}:"` : 'add it';
          return [{ path, message: 'is required', hint: withDescription(`${what} (${words(i.expected)})`, description) }];
        }
        const got = valueAt(doc, i.path);
        const shown = got === undefined || got === null || typeof got === 'object' ? '' : ` (${quote(got)})`;
        return [
          {
            path,
            message: `expected ${words(i.expected)}, got ${words(i.received)}${shown}`,
            hint: withDescription(TYPE_EXAMPLES[i.expected] ?? `write ${words(i.expected)}`, description),
          },
        ];
      }
      case z.ZodIssueCode.invalid_union_discriminator: {
        const options = i.options.map((o) => `"${String(o)}"`).join(', ');
        if (valueAt(doc, i.path) === undefined) return [{ path, message: 'is required', hint: `add "${String(key)}:" with one of ${options}` }];
        return [{ path, message: `must be one of ${options}`, hint: `use one of ${options}` }];
      }
      case z.ZodIssueCode.invalid_union: {
        // All alternatives refused the type: name the types they take.
        const expected = i.unionErrors.flatMap((e) => e.issues.filter((u) => u.code === z.ZodIssueCode.invalid_type && u.path.length === i.path.length).map((u) => (u as z.ZodInvalidTypeIssue).expected));
        const got = valueAt(doc, i.path);
        const received = Array.isArray(got) ? 'a list' : got === null ? 'nothing' : words(typeof got);
        const list = [...new Set(expected.map(words))];
        const alternatives = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}` : (list[0] ?? 'another form');
        return [{ path, message: `expected ${alternatives}, got ${received}`, hint: withDescription(`write ${alternatives}`, description) }];
      }
      case z.ZodIssueCode.too_small:
      case z.ZodIssueCode.too_big: {
        const small = i.code === z.ZodIssueCode.too_small;
        const bound = Number(i.code === z.ZodIssueCode.too_small ? i.minimum : i.maximum);
        const unit = i.type === 'string' ? 'character' : i.type === 'array' ? 'entry' : '';
        const units = bound === 1 ? unit : unit === 'entry' ? 'entries' : `${unit}s`;
        const exclusive = !i.inclusive;
        const fallback = unit ? `${i.type === 'array' ? 'list' : 'write'} ${small ? 'at least' : 'at most'} ${bound} ${units}` : `use a value ${small ? (exclusive ? 'above' : 'of at least') : exclusive ? 'below' : 'of at most'} ${bound}`;
        // zod's own wording ("Number must be greater than or equal to 8") reads as the hint's.
        const message = /^(Number|String|Array) must /.test(i.message) ? `${quote(valueAt(doc, i.path) ?? '')} is too ${small ? 'small' : 'big'}` : i.message;
        return [{ path, message, hint: withDescription(fallback, description) }];
      }
      case z.ZodIssueCode.invalid_string: {
        const fallback = i.validation === 'url' ? 'write a full URL, e.g. https://mirror.example.org/path' : 'see the format in the schema';
        return [{ path, message: i.message, hint: description ?? fallback }];
      }
      case z.ZodIssueCode.custom: {
        const hint = i.params?.hint as string | undefined;
        return [{ path, message: i.message, hint: hint ?? description ?? `see ${path || 'the document'} in the JSON Schema` }];
      }
      default:
        return [{ path, message: i.message, hint: description ?? 'see this field in the JSON Schema (schemas/ in the millrace repository)' }];
    }
  });
  return issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A section with only comments under it parses as null; treat it as absent so defaults apply. */
export function dropEmptySections(doc: unknown): unknown {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) return doc;
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== null));
}

/** Validates an already-parsed document against its schema; throws the document's error listing every problem. */
export function validateDocument<S extends z.ZodTypeAny>(schema: S, doc: unknown, file: string, kind: SchemaDocument): z.output<S> {
  const body = dropEmptySections(doc);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const what = Array.isArray(body) ? 'a list' : `a single ${typeof body} value (${quote(body)})`;
    throw kind.error(file, [{ path: '', message: `the ${kind.fileNoun} must be a mapping of keys, not ${what}`, hint: `start it with "key: value" lines, e.g. ${kind.example}` }]);
  }
  const result = schema.safeParse(body);
  if (!result.success) throw kind.error(file, toIssues(result.error, kind, schema, body));
  return result.data as z.output<S>;
}

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'each key may appear once in a mapping: remove or merge the repeated one',
  MULTIPLE_DOCS: 'keep one YAML document per file: remove the "---" line and what follows, or merge the two',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'indent the keys of one mapping by the same number of spaces',
};

/** Parses YAML text; a syntax error is reported with its line and column, an alias bomb is refused. */
export function parseYaml(text: string, file: string, kind: SchemaDocument): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    // Later syntax errors are usually echoes of the first one, so report that one.
    const pos = first.linePos?.[0];
    const what = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw kind.error(file, [
      {
        path: '',
        message: `invalid YAML at line ${pos?.line ?? '?'}, column ${pos?.col ?? '?'}: ${what}`,
        hint: YAML_HINTS[first.code] ?? 'check the indentation and quoting on that line',
      },
    ]);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/excessive alias count/i.test(message))
      throw kind.error(file, [
        {
          path: '',
          message: `the YAML expands its aliases (*name) into too many values (a "billion laughs" document)`,
          hint: `write the values out, or use fewer aliases (at most ${MAX_ALIAS_COUNT} expansions)`,
        },
      ]);
    const alias = /^Unresolved alias.*?: (.+)$/.exec(message);
    if (alias) throw kind.error(file, [{ path: '', message: `the alias *${alias[1]} has no anchor &${alias[1]} before it`, hint: `define &${alias[1]} on an earlier value, or write the value out` }]);
    throw kind.error(file, [{ path: '', message: `the YAML cannot be read: ${message}`, hint: 'check the YAML syntax, e.g. with `millrace validate`' }]);
  }
}

/** Names a file-system error code in words. */
function errnoWords(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'a symbolic link loop';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'EIO':
      return 'an I/O error';
    default:
      return code ?? 'an unknown error';
  }
}

/**
 * Reads the document's file; a missing, unreadable, binary or oversized one, a directory or a
 * device is a problem of the document, named with its path, not a crash (and not a hang on a FIFO).
 */
export function readDocument(file: string, kind: SchemaDocument): string {
  const problem = (message: string, hint: string): ConfigError => kind.error(file, [{ path: '', message, hint }]);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const dir = path.dirname(file);
      const dirMissing = !fs.existsSync(dir);
      throw problem(`${file} does not exist${dirMissing ? ` (nor does its directory ${dir})` : ''}`, kind.missingHint(file));
    }
    if (code === 'ENOTDIR') throw problem(`${file} cannot be read: a part of its path is a file, not a directory`, 'check the path');
    throw problem(`${file} cannot be read: ${errnoWords(code)}`, 'check the permissions of the file and of the directories above it (ls -ld)');
  }
  if (stat.isDirectory())
    throw problem(`${file} is a directory, not a ${kind.fileNoun}`, `pass the file itself, e.g. ${kind.flag} ${path.join(file, kind.defaultFileName)}`);
  if (!stat.isFile())
    throw problem(`${file} is not a regular file (${stat.isFIFO() ? 'a named pipe' : stat.isSocket() ? 'a socket' : 'a device'})`, `pass a YAML ${kind.fileNoun} such as ${kind.defaultFileName}`);
  if (stat.size > MAX_DOCUMENT_BYTES)
    throw problem(`${file} is ${(stat.size / 1024 / 1024).toFixed(1)} MiB, too big for a ${kind.fileNoun} (at most 1 MiB)`, `pass the YAML ${kind.fileNoun}, e.g. ${kind.defaultFileName}`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw problem(`${file} cannot be read: ${errnoWords((error as NodeJS.ErrnoException).code)}`, 'check the permissions of the file and of the directories above it (ls -ld)');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = '\0';
  }
  if (/[\0-\x08\x0e-\x1f]/.test(text.replace(/\x1b/g, '')))
    throw problem(`${file} is not a YAML text file (it holds binary data)`, `pass the YAML ${kind.fileNoun}, e.g. ${kind.defaultFileName}`);
  return text;
}
