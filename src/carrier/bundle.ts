import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util';

let built: Promise<string> | null = null;

/**
 * Bundles the core's Node entry (src/core/host/node-entry.ts) and the core with esbuild, once per
 * process, so a forked core starts in a fraction of a second instead of transpiling the sources
 * through tsx at every start (tests and benchmarks fork many). The file sits under
 * node_modules/.cache, where the packages it leaves external resolve, and is named after its
 * content: runs of the same sources share one file (written aside, then renamed into place, so a
 * parallel run never reads half of it), and nothing needs removing when a run ends.
 */
export function bundleNodeCore(): Promise<string> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const dir = path.join(packageRoot(), 'node_modules', '.cache', 'patchdeck-core');
    const result = await build({
      entryPoints: [path.join(import.meta.dirname, '../core/host/node-entry.ts')],
      outfile: path.join(dir, 'node-entry.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
      write: false,
    });
    const code = result.outputFiles[0]!.contents;
    const digest = crypto.createHash('sha256').update(code).digest('hex').slice(0, 16);
    const file = path.join(dir, `node-entry-${digest}.mjs`);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dir, { recursive: true });
      const aside = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
      fs.writeFileSync(aside, code);
      fs.renameSync(aside, file);
    }
    return file;
  })();
  return built;
}
