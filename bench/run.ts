/**
 * `npm run bench -- <name> [args…]` runs bench/<name>.ts; with no name, lists what exists.
 * Each benchmark prints medians and ratios against a named baseline, measured in one run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const available = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'support.ts'].includes(f) && !f.endsWith('.test.ts'))
  .map((f) => f.replace(/\.ts$/, ''));
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(name ? 2 : 0);
}
const module = (await import(pathToFileURL(path.join(dir, `${name}.ts`)).href)) as {
  main(args: string[]): Promise<void>;
};
await module.main(args);
