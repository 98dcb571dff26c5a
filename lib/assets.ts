import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

/** The package root (where package.json is), whether running from dist/ or from sources under ts-jest. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find millrace's package.json above ${__dirname}`);
    dir = up;
  }
  root = dir;
  return dir;
}

export function assetPath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
