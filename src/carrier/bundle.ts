import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root';

let built: Promise<string> | null = null;

/**
 * Bundles the core's Node entry (src/core/host/node-entry.ts) and the core with esbuild, once per process, so a forked core starts in
 * a fraction of a second instead of transpiling the sources through tsx at every start (tests
 * and benchmarks fork many). The file sits under node_modules/.cache, where the packages it
 * leaves external resolve, is named after this process, and is removed when the process ends.
 */
export function bundleNodeCore(): Promise<string> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const root = packageRoot();
    const outfile = path.join(
      root,
      'node_modules',
      '.cache',
      'patchdeck-core',
      `node-entry-${process.pid}.mjs`,
    );
    await build({
      entryPoints: [path.join(import.meta.dirname, '../core/host/node-entry.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    process.once('exit', () => fs.rmSync(outfile, { force: true }));
    return outfile;
  })();
  return built;
}
