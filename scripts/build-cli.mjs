#!/usr/bin/env node
// Bundles the CLI (src/cli/index.ts, the core it uses and its pure-JS npm dependencies) into
// out/cli/patchdeck.mjs with esbuild, so `patchdeck` starts without transpiling TypeScript or
// resolving and loading dozens of package files at every launch (measured: `--version` went
// from ≈0.50 s to ≈0.30 s). Packages with native parts or loaded only on demand stay in
// node_modules: better-sqlite3 (a .node addon), ssh2 and node-ssh (optional cpu-features and
// sshcrypto addons, found by require at run time), playwright-core (PDFs only), tsx and
// fast-check (development only).
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
  external: ['better-sqlite3', 'ssh2', 'node-ssh', 'cpu-features', 'playwright-core', 'tsx', 'fast-check'],
  // Bundled CommonJS packages call require() for Node's built-ins; an ES module has none.
  banner: {
    js: "import { createRequire as __patchdeckCreateRequire } from 'node:module'; const require = __patchdeckCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
  // import.meta.url keeps pointing inside the package, so packageRoot() still finds it.
});
console.log('built out/cli/patchdeck.mjs');
