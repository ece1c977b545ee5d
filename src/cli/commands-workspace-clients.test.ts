import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './testing/run-cli';

let dir: string;
let config: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-clients-'));
  config = path.join(dir, 'config');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The real CLI in its own process; its data folder (the recent list) is the test's own. */
const patchdeck = (...args: string[]) => runCli(args, { configDir: config });

describe('patchdeck workspace list / site', () => {
  it('names sites, lists the workspaces opened here with their names, and marks missing ones', async () => {
    const acme = path.join(dir, 'acme.sqlite');
    const bakery = path.join(dir, 'bakery.sqlite');
    const empty = await patchdeck('workspace', 'list');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/No workspace has been opened on this machine yet/u);

    expect((await patchdeck('-w', acme, 'workspace', 'init')).code).toBe(0);
    const unnamed = await patchdeck('-w', acme, 'workspace', 'site');
    expect(unnamed.stdout).toMatch(/has no site name yet/u);
    const named = await patchdeck('-w', acme, 'workspace', 'site', 'Acme\u001b[31m Dental');
    expect(named.code).toBe(0);
    expect(named.stdout).toContain('is now the site “Acme [31m Dental”');
    expect((await patchdeck('-w', acme, 'workspace', 'site')).stdout).toBe('Acme [31m Dental\n');
    expect((await patchdeck('-w', bakery, 'workspace', 'init')).code).toBe(0);

    const list = await patchdeck('-w', bakery, 'workspace', 'list');
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^site\s+workspace\s+last opened \(UTC\)\s+note$/u);
    expect(lines[2]).toMatch(
      new RegExp(`^\\(no site name\\)\\s+${bakery}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+selected`, 'u'),
    );
    expect(lines[3]).toMatch(new RegExp(`^Acme \\[31m Dental\\s+${acme}\\s`, 'u'));
    expect(lines).toHaveLength(4);

    fs.rmSync(acme);
    const json = await patchdeck('-w', bakery, '--json', 'workspace', 'list');
    const rows = JSON.parse(json.stdout) as {
      path: string;
      siteName: string;
      exists: boolean;
      selected: boolean;
    }[];
    expect(rows.map((r) => [r.path, r.siteName, r.exists, r.selected])).toEqual([
      [bakery, '', true, true],
      [acme, 'Acme [31m Dental', false, false],
    ]);
    expect((await patchdeck('-w', bakery, 'workspace', 'list')).stdout).toMatch(
      /acme\.sqlite\s+\S+ \S+\s+missing/u,
    );

    // Naming the site of a workspace that is not there creates nothing.
    const missing = await patchdeck('-w', acme, 'workspace', 'site', 'Acme');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No workspace at/u);
    expect(fs.existsSync(acme)).toBe(false);
  });
});
