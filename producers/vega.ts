/** The demo's real data: the `vega-datasets` npm package, resolved wherever npm put it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MillraceError } from '../lib/errors';

/**
 * The package's root. Its `exports` map lists only ".", so `vega-datasets/package.json` cannot
 * be resolved (ERR_PACKAGE_PATH_NOT_EXPORTED); resolve the entry point and walk up instead.
 */
export function vegaPackageDir(): string {
  let dir: string;
  try {
    dir = path.dirname(require.resolve('vega-datasets'));
  } catch (error) {
    throw new MillraceError('the vega-datasets package is not installed', { hint: 'run `npm install` in the millrace directory', cause: error });
  }
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'vega-datasets') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new MillraceError(`vega-datasets at ${dir} has no package.json`, { hint: 'reinstall it with `npm ci`' });
    dir = parent;
  }
}

export function vegaDataDir(): string {
  return path.join(vegaPackageDir(), 'data');
}

/** 3,000,000 US flights from 2001: date (timestamp), delay, distance, origin, destination. */
export function flightsParquetPath(): string {
  return path.join(vegaDataDir(), 'flights-3m.parquet');
}
