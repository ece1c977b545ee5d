import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import { createIpcHandler } from './ipc-handler';

let dir: string;
let core: Core;
let handle: ReturnType<typeof createIpcHandler>;
const APP = 'file:///opt/Patchdeck/resources/app.asar/out/renderer/index.html';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-ipc-'));
  core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'electron',
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  handle = createIpcHandler({ router: core.router, isTrustedSender: (s) => s.id === 1, appUrlPrefix: APP });
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

const own = { sender: { id: 1 }, senderFrame: { url: APP } };

describe('IPC handler (fake senders)', () => {
  it('serves the app’s own window', async () => {
    expect(await handle(own, { method: 'app.info', args: {} })).toMatchObject({
      ok: true,
      value: { carrier: 'electron' },
    });
  });
  it('refuses other webContents and foreign frames', async () => {
    expect(
      await handle({ sender: { id: 2 }, senderFrame: { url: APP } }, { method: 'app.info' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(
      await handle(
        { sender: { id: 1 }, senderFrame: { url: 'https://evil.example/' } },
        { method: 'app.info' },
      ),
    ).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await handle({ sender: { id: 1 }, senderFrame: null }, { method: 'app.info' })).toMatchObject({
      ok: false,
    });
  });
  it('refuses malformed payloads, unknown methods and schema failures', async () => {
    for (const payload of [null, 'app.info', [1, 2], 42]) {
      expect(await handle(own, payload)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
    expect(await handle(own, { method: 'fs.readFile', args: {} })).toMatchObject({
      ok: false,
      error: { code: 'unknown-method' },
    });
    expect(
      await handle(own, { method: 'hosts.update', args: { id: 1, patch: { evil: true } } }),
    ).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
  });
});
