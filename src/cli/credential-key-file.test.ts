import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { packageRoot } from '../util/package-root';

// `patchdeck credential add --key FILE` as a real process, with real files that cannot be used:
// the message says why, instead of only that the file cannot be read.
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-keyfile-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function addKey(keyFile: string) {
  return spawnSync(
    process.execPath,
    [
      path.join(packageRoot(), 'bin/patchdeck.mjs'),
      '-w',
      path.join(dir, 'ws.sqlite'),
      'credential',
      'add',
      '--name',
      'office',
      '--user',
      'admin',
      '--key',
      keyFile,
    ],
    { encoding: 'utf8', env: { ...process.env, PATCHDECK_CONFIG_DIR: path.join(dir, 'cfg'), NO_COLOR: '1' } },
  );
}

it('names what is wrong with a key file it cannot read', () => {
  const missing = addKey(path.join(dir, 'id_missing'));
  expect(missing.stderr).toBe(
    `patchdeck: Cannot read the key file ${path.join(dir, 'id_missing')}: there is no such file.\n`,
  );
  expect(missing.status).toBe(2);
  const folder = path.join(dir, 'keys');
  fs.mkdirSync(folder);
  const asFolder = addKey(folder);
  expect(asFolder.stderr).toBe(
    `patchdeck: Cannot read the key file ${folder}: it is a folder, not a key file.\n`,
  );
  expect(asFolder.status).toBe(2);
});
