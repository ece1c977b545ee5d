import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { createNodePlatform } from '../platform';
import { PatchdeckError } from '../util/errors';
import { createRouter, type Handlers } from './router';

let dir: string;
let core: Core;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-router-errors-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A router whose hosts.get throws what it is told to. */
const throwing = (error: unknown) =>
  createRouter({
    'hosts.get': () => {
      throw error;
    },
  } as unknown as Handlers);

describe('errors are data: { code, message, details }', () => {
  it('argument failures name each issue as data, bounded like the sentence', async () => {
    const envelope = await core.router.call(
      'hosts.update',
      { id: 1, patch: { address: 7 } },
      { carrier: 'test' },
    );
    expect(envelope).toMatchObject({
      ok: false,
      error: { code: 'bad-request', details: { issues: [{ path: ['patch', 'address'] }] } },
    });
    const many = await core.router.call(
      'credentials.add',
      { name: 1, username: 2, kind: 3, scope: 4, passphrase: 5, secret: 6, x: 7 },
      { carrier: 'test' },
    );
    const issues = (!many.ok && (many.error.details as { issues: unknown[] }).issues) || [];
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.length).toBeLessThanOrEqual(5);
  });

  it('a PatchdeckError keeps its details; details that are not plain JSON or too big are left off', async () => {
    const call = (error: unknown) => throwing(error).call('hosts.get', { id: 1 }, { carrier: 'test' });
    expect(await call(new PatchdeckError('conflict', 'Taken.', { hostIds: [3, 4] }))).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'Taken.', details: { hostIds: [3, 4] } },
    });
    expect(await call(new PatchdeckError('conflict', 'Taken.'))).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'Taken.' },
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(await call(new PatchdeckError('conflict', 'Taken.', circular))).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'Taken.' },
    });
    expect(await call(new PatchdeckError('conflict', 'Taken.', { big: 'x'.repeat(20_000) }))).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'Taken.' },
    });
  });

  it('Core.call rethrows the code, message and details it got', async () => {
    const error = await core.call('hosts.update', { id: 1, patch: { evil: true } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PatchdeckError);
    expect(error).toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/^Invalid arguments for hosts\.update/),
      details: { issues: [{ path: ['patch'] }] },
    });
  });
});
