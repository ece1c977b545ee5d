import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, migrations } from './index';

// migrate() runs every migration above the file's user_version: a gap in the numbers would let a
// migration added later into the gap be skipped, silently, on every workspace already past it.
describe('the migration list', () => {
  it('numbers its migrations 1, 2, 3 … with no gap, in order, and names each file by its number', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(migrations.length);
    const files = fs
      .readdirSync(import.meta.dirname)
      .filter((f) => /^\d{3}_.*\.ts$/.test(f) && !f.endsWith('.test.ts'))
      .sort();
    expect(files.map((f) => Number(f.slice(0, 3)))).toEqual(migrations.map((m) => m.version));
    for (const file of files)
      expect(fs.existsSync(path.join(import.meta.dirname, file.replace(/\.ts$/, '.test.ts')))).toBe(true);
  });
});
