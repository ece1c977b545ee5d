/** Locates captured fixtures under test/fixtures/ from a test file. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures');

export function fixture(relative: string): string {
  return readFileSync(join(FIXTURES, relative), 'utf8');
}

export function fixturePath(relative: string): string {
  return join(FIXTURES, relative);
}
