/**
 * What every YAML document millrace reads (the cluster config, the pipeline spec) shares on the
 * way in: the file read, YAML syntax errors by line and column, and zod's issues turned into
 * ConfigIssues with dotted paths and hints, sorted, all at once. One implementation, so the two
 * documents report problems the same way.
 */
import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { z } from 'zod';
import type { ConfigError, ConfigIssue } from './errors';

/** What differs between the documents: their error class and where to look for valid keys. */
export interface SchemaDocument {
  /** The error (exit code 2) that lists every problem of `file`. */
  error(file: string, issues: ConfigIssue[]): ConfigError;
  /** The hint beside an unknown key: where the valid ones are written down. */
  unknownKeyHint: string;
  /** The hint when the file cannot be read. */
  unreadableHint: string;
}

/**
 * A string from a fixed set, checked by a refinement rather than z.enum: an enum mismatch aborts
 * the parse of everything around it, which would hide the cross-field problems from the report.
 */
export function oneOf<T extends string>(values: readonly T[]): z.ZodType<T, z.ZodTypeDef, unknown> {
  // No .transform() to narrow the type: zod skips a transform, and the refinements around it,
  // once a value has any issue.
  return z.string().superRefine((v, ctx) => {
    if (!(values as readonly string[]).includes(v)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not one of ${values.join(', ')}` });
  }) as unknown as z.ZodType<T, z.ZodTypeDef, unknown>;
}

/** Adds a cross-field problem with an optional hint, for a schema's superRefine. */
export function issueAdder(ctx: z.RefinementCtx): (path: (string | number)[], message: string, hint?: string) => void {
  return (path, message, hint) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, params: hint ? { hint } : undefined });
}

/** Formats a zod path the way users write it: nodes[1].roles[0]. */
export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** zod's issues as the user reads them, sorted by path. */
export function toIssues(error: z.ZodError, unknownKeyHint: string): ConfigIssue[] {
  const issues = error.issues.map((i): ConfigIssue => {
    const path = formatPath(i.path);
    if (i.code === z.ZodIssueCode.unrecognized_keys)
      return { path, message: `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`, hint: unknownKeyHint };
    if (i.code === z.ZodIssueCode.invalid_enum_value) return { path, message: `"${String(i.received)}" is not one of ${i.options.join(', ')}` };
    if (i.code === z.ZodIssueCode.invalid_type && i.received === 'undefined') return { path, message: 'is required' };
    if (i.code === z.ZodIssueCode.invalid_type) return { path, message: `expected ${i.expected}, got ${i.received}` };
    if (i.code === z.ZodIssueCode.invalid_union_discriminator) return { path, message: `must be one of ${i.options.map((o) => `"${String(o)}"`).join(', ')}` };
    const hint = i.code === z.ZodIssueCode.custom ? (i.params?.hint as string | undefined) : undefined;
    return { path, message: i.message, ...(hint ? { hint } : {}) };
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
  const result = schema.safeParse(dropEmptySections(doc));
  if (!result.success) throw kind.error(file, toIssues(result.error, kind.unknownKeyHint));
  return result.data as z.output<S>;
}

/** Parses YAML text; a syntax error is reported with its line and column. */
export function parseYaml(text: string, file: string, kind: SchemaDocument): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    // Later syntax errors are usually echoes of the first one, so report that one.
    throw kind.error(file, [
      {
        path: '',
        message: `invalid YAML at line ${first.linePos?.[0]?.line ?? '?'}, column ${first.linePos?.[0]?.col ?? '?'}: ${first.message.split('\n')[0]}`,
        hint: 'check the indentation and quoting on that line',
      },
    ]);
  }
  return doc.toJS();
}

/** Reads the document's file; a missing or unreadable one is a problem of the document, not a crash. */
export function readDocument(file: string, kind: SchemaDocument): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw kind.error(file, [{ path: '', message: code === 'ENOENT' ? 'file not found' : `cannot read: ${code ?? String(error)}`, hint: kind.unreadableHint }]);
  }
}
