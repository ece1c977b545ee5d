import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorkspace } from '../db/workspace';
import { runCli } from './testing/run-cli';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-ws-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the real CLI in its own process (the sources through tsx). */
const patchdeck = (...args: string[]) => runCli(args, { configDir: path.join(dir, 'config') });

const hosts = (file: string): string[] => {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM hosts ORDER BY name').all() as { name: string }[]).map(
      (r) => r.name,
    );
  } finally {
    db.close();
  }
};

describe('patchdeck workspace backup / restore', () => {
  it('backs up while the workspace is open elsewhere, refuses to restore then, and restores once it is closed', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    db.prepare(`INSERT INTO hosts (name, created_at, updated_at) VALUES ('before', 't', 't')`).run();

    // `db` stays open (another Patchdeck holding the workspace) while the CLI backs it up.
    const backup = path.join(dir, 'copy.sqlite');
    const made = await patchdeck('-w', ws, 'workspace', 'backup', backup);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(
      /^Backed up .*ws\.sqlite to .*copy\.sqlite \(schema \d+, .* MiB, integrity check ok\)\.$/m,
    );
    expect(fs.statSync(backup).mode & 0o777).toBe(0o600);
    expect(hosts(backup)).toEqual(['before']);

    db.prepare(`INSERT INTO hosts (name, created_at, updated_at) VALUES ('after', 't', 't')`).run();
    const refused = await patchdeck('-w', ws, 'workspace', 'restore', backup);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/open in another Patchdeck process/);
    db.close();
    expect(hosts(ws)).toEqual(['after', 'before']);

    const restored = await patchdeck('-w', ws, '--json', 'workspace', 'restore', backup);
    expect(restored.code).toBe(0);
    const out = JSON.parse(restored.stdout) as { previousCopy: string };
    expect(hosts(ws)).toEqual(['before']);
    expect(hosts(out.previousCopy)).toEqual(['after', 'before']);

    const info = await patchdeck('-w', ws, 'workspace', 'info');
    expect(info.code).toBe(0);
  });

  it('refuses to restore a file that is not a workspace', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    createWorkspace(ws).close();
    fs.writeFileSync(path.join(dir, 'junk.sqlite'), 'junk');
    const r = await patchdeck('-w', ws, 'workspace', 'restore', path.join(dir, 'junk.sqlite'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^patchdeck: .*junk\.sqlite is not a Patchdeck workspace/);
  });
});
