/** The operator-side cache: component bundles and the local target's host image. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { logger } from '../../lib/logger';
import { cacheDir } from '../../lib/paths';
import { ensureBundle } from '../../provisioning/artifacts';
import { readManifest } from '../../provisioning/artifacts/bundle';
import { COMPONENTS } from '../../provisioning/service';
import { imageDir } from '../../targets/local/image';
import { targetFor } from '../../targets/target';
import { configFor, output } from '../context';

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('manage downloaded artifacts and the local host image');

  cache
    .command('warm')
    .description('download and verify every component (and, for the local target, build the host image) ahead of `up`')
    .action(async function (this: Command) {
      const config = configFor(this);
      const log = logger();
      const built: Record<string, string> = {};
      const target = await targetFor(config);
      if (target.warmCache) {
        await target.checkPrerequisites();
        Object.assign(built, await target.warmCache((m) => log.info(m)));
      }
      for (const c of COMPONENTS) {
        const b = await ensureBundle(config, c, (m) => log.info({ component: c }, m));
        built[c] = `${b.path} (${Math.round(b.bytes / 1048576)} MiB, SHA-512 ${b.sha512.slice(0, 16)}…)`;
      }
      output(this, Object.entries(built).map(([k, v]) => `${k}: ${v}`).join('\n'), built);
    });

  cache
    .command('list')
    .description('list cached bundles with their checksums and sources')
    .action(function (this: Command) {
      const root = path.join(cacheDir(), 'artifacts');
      const rows = (fs.existsSync(root) ? fs.readdirSync(root) : []).flatMap((source) =>
        fs
          .readdirSync(path.join(root, source))
          .filter((f) => f.endsWith('.tar'))
          .map((f) => readManifest(path.join(root, source, f)))
          .filter((m) => m !== undefined),
      );
      const image = fs.existsSync(imageDir()) ? imageDir() : undefined;
      output(
        this,
        [...rows.map((m) => `${m.source.padEnd(7)} ${m.component.padEnd(7)} ${m.version.padEnd(7)} ${String(Math.round(m.bytes / 1048576)).padStart(5)} MiB  ${m.sha512.slice(0, 16)}…`), `image: ${image ?? 'not built'}`].join('\n'),
        { bundles: rows, image },
      );
    });
}
