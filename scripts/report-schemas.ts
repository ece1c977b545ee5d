/**
 * Writes the reports' published JSON Schemas into docs/schemas/ from their definitions
 * (src/reports/schemas.ts): `npm run report-schemas`. With --check it writes nothing and exits 1
 * when a committed file differs (the unit test src/reports/schemas.test.ts does the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { reportSchemaFiles, schemaText } from '../src/reports/schemas';

const dir = path.resolve(import.meta.dirname, '../docs/schemas');
const check = process.argv.includes('--check');
let stale = 0;
fs.mkdirSync(dir, { recursive: true });
for (const file of reportSchemaFiles()) {
  const target = path.join(dir, file.name);
  const text = schemaText(file);
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
  if (current === text) continue;
  stale++;
  if (check) console.error(`docs/schemas/${file.name} differs from what src/reports/schemas.ts generates`);
  else {
    fs.writeFileSync(target, text);
    console.log(`wrote docs/schemas/${file.name}`);
  }
}
if (check && stale) {
  console.error('Run `npm run report-schemas` and commit docs/schemas/.');
  process.exit(1);
}
if (!stale) console.log('docs/schemas/ is up to date');
