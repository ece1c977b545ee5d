#!/usr/bin/env node
// Bundles the CLI (src/cli/index.ts and the core it uses) into out/cli/patchdeck.mjs with
// esbuild, so `patchdeck` starts without transpiling TypeScript at every launch.
// Dependencies stay in node_modules (native ones like better-sqlite3 must).
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
await build({
  entryPoints: [path.join(root, 'src/cli/index.ts')],
  outfile: path.join(root, 'out/cli/patchdeck.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  // import.meta.url keeps pointing inside the package, so packageRoot() still finds it.
});
console.log('built out/cli/patchdeck.mjs');
