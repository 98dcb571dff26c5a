/**
 * Renders the files millrace writes on hosts. Templates mirror the path they are written to
 * (templates/kafka/server.properties.hbs) and are compiled with `strict: true`, so a missing
 * variable fails the render instead of leaving a blank. Templates hold no logic beyond
 * each/if: typed build*Context() functions compute every value.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type HandlebarsLib from 'handlebars';
import { assetPath } from '../lib/assets';
import { lazy } from '../lib/lazy';

/** The .hbs sources, found from the package root so dist/ needs no copies. */
export const TEMPLATE_DIR = assetPath('templates');
const PARTIALS = path.join(TEMPLATE_DIR, 'partials');

/** Handlebars with the partials registered, made on the first render (commands that render nothing start without it). */
const handlebars = lazy(() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hbs = (require('handlebars') as typeof HandlebarsLib).create();
  for (const f of fs.readdirSync(PARTIALS)) {
    if (f.endsWith('.hbs')) hbs.registerPartial(f.slice(0, -4), fs.readFileSync(path.join(PARTIALS, f), 'utf8'));
  }
  return hbs;
});
const cache = new Map<string, HandlebarsTemplateDelegate>();

export function render(name: string, context: object): string {
  let template = cache.get(name);
  if (!template) {
    const file = path.join(TEMPLATE_DIR, `${name}.hbs`);
    template = handlebars().compile(fs.readFileSync(file, 'utf8'), { strict: true, noEscape: true });
    cache.set(name, template);
  }
  return template(context);
}

export interface Property {
  key: string;
  value: string;
}

/**
 * Turns a property map into sorted key/value pairs, with user overrides merged last.
 * Sorted output keeps diffs, and the provisioner's change detection, stable.
 */
export function sortedProperties(
  base: Record<string, string | number | boolean>,
  overrides: Record<string, string | number | boolean> = {},
): Property[] {
  const merged = { ...base, ...overrides };
  return Object.keys(merged)
    .sort()
    .map((key) => ({ key, value: String(merged[key]) }));
}

/** Every template under templates/, by name (path without .hbs), for tests that render them all. */
export function templateNames(dir = TEMPLATE_DIR, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory() && e.name === 'partials') return [];
    if (e.isDirectory()) return templateNames(path.join(dir, e.name), `${prefix}${e.name}/`);
    return e.name.endsWith('.hbs') ? [`${prefix}${e.name.slice(0, -4)}`] : [];
  });
}
