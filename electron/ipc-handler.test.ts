import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import { createIpcHandler, isAppPageUrl } from './ipc-handler';

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
  handle = createIpcHandler({ router: core.router, isTrustedSender: (s) => s.id === 1, appUrl: APP });
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

describe('the app-page check on the sender frame’s URL', () => {
  const DEV = 'http://localhost:5173/';
  it('accepts the app’s own page, and any page of its own dev server', () => {
    expect(isAppPageUrl(APP, APP)).toBe(true);
    expect(isAppPageUrl(`${APP}#/hosts`, APP)).toBe(true);
    expect(isAppPageUrl(`${APP}?x=1`, APP)).toBe(true);
    expect(isAppPageUrl('http://localhost:5173/', DEV)).toBe(true);
    expect(isAppPageUrl('http://localhost:5173/#/jobs', DEV)).toBe(true);
    expect(isAppPageUrl('http://localhost:5173/index.html', 'http://localhost:5173')).toBe(true);
  });
  it('refuses look-alikes that share the string prefix', () => {
    for (const url of [
      'http://localhost:5173.evil.example/',
      'http://localhost:51730/',
      'http://localhost:5173@evil.example/',
      'http://user:pw@localhost:5173/',
      'https://localhost:5173/',
      'http://127.0.0.1:5173/',
      'ws://localhost:5173/',
    ]) {
      expect(isAppPageUrl(url, 'http://localhost:5173'), url).toBe(false);
      expect(isAppPageUrl(url, DEV), url).toBe(false);
    }
    for (const url of [
      `${APP}.evil/`,
      `${APP}/x`,
      'file:///opt/Patchdeck/resources/app.asar/out/renderer/index.html.html',
      'file:///opt/Patchdeck/resources/app.asar/out/renderer/other.html',
      'file:///opt/Patchdeck/resources/app.asar/out/renderer/../../../../../tmp/index.html',
      'file://evil.example/opt/Patchdeck/resources/app.asar/out/renderer/index.html',
      'https://evil.example/',
      '',
      'not a url',
    ]) {
      expect(isAppPageUrl(url, APP), url).toBe(false);
    }
  });
  it('refuses a dev-server look-alike through the handler', async () => {
    const dev = createIpcHandler({
      router: core.router,
      isTrustedSender: () => true,
      appUrl: 'http://localhost:5173',
    });
    const call = (url: string) => dev({ sender: { id: 1 }, senderFrame: { url } }, { method: 'app.info' });
    expect(await call('http://localhost:5173/')).toMatchObject({ ok: true });
    expect(await call('http://localhost:5173.evil.example/')).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
  });
});
