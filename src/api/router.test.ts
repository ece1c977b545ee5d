import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { LATEST_SCHEMA_VERSION } from '../db';
import { createNodePlatform } from '../platform';

let dir: string;
let core: Core;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-router-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
});
afterEach(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (method: unknown, args?: unknown) => core.router.call(method, args, { carrier: 'test' });

describe('router', () => {
  it('refuses unknown methods, including prototype names', async () => {
    for (const method of ['hosts.explode', '__proto__', 'constructor', 'toString', 42, null]) {
      const result = await call(method, {});
      expect(result).toMatchObject({ ok: false, error: { code: 'unknown-method' } });
    }
  });

  it('refuses payloads that fail their schema, with the field named', async () => {
    const result = await call('hosts.get', { id: 'one' });
    expect(result).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(!result.ok && result.error.message).toMatch(/id/);
    const extra = await call('settings.get', { sneaky: true });
    expect(extra).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });

  it('says no workspace is open instead of crashing', async () => {
    expect(await call('hosts.list', {})).toMatchObject({ ok: false, error: { code: 'no-workspace' } });
  });

  it('creates a workspace and serves hosts and settings', async () => {
    const created = await call('workspace.create', { path: path.join(dir, 'ws.sqlite') });
    expect(created).toMatchObject({
      ok: true,
      value: { schemaVersion: LATEST_SCHEMA_VERSION, hostCount: 0, createdNew: true },
    });
    expect(await call('hosts.list', {})).toEqual({ ok: true, value: [] });
    const set = await call('settings.set', { patch: { theme: 'dark' } });
    expect(set).toMatchObject({ ok: true, value: { theme: 'dark' } });
    const bad = await call('settings.set', { patch: { theme: 'neon' } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await call('hosts.get', { id: 77 })).toMatchObject({ ok: false, error: { code: 'not-found' } });
  });

  it('refuses to open a file that is not a workspace and leaves it alone', async () => {
    const file = path.join(dir, 'photo.jpg');
    fs.writeFileSync(file, 'JFIF not a database');
    expect(await call('workspace.open', { path: file })).toMatchObject({
      ok: false,
      error: { code: 'workspace-invalid' },
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('JFIF not a database');
  });
});
