import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PatchdeckApi } from '../src/api/contract';
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './channels';
import { createIpcHandler } from './ipc-handler';

// The Electron binary does not exist here: the preload runs against stand-ins for contextBridge
// and ipcRenderer, wired to the real IPC handler and a real core, and the renderer's api.ts
// runs on top of what the preload exposed, as in the window.
const electron = vi.hoisted(() => {
  const exposed: Record<string, unknown> = {};
  const listeners = new Map<string, Set<(event: unknown, message: unknown) => void>>();
  const bridge = { handle: null as null | ((payload: unknown) => Promise<unknown>) };
  return {
    exposed,
    listeners,
    bridge,
    invoked: [] as string[],
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
    ipcRenderer: {
      invoke(channel: string, payload: unknown) {
        electron.invoked.push(channel);
        return bridge.handle!(payload);
      },
      on(channel: string, listener: (event: unknown, message: unknown) => void) {
        if (!listeners.has(channel)) listeners.set(channel, new Set());
        listeners.get(channel)!.add(listener);
      },
      removeListener(channel: string, listener: (event: unknown, message: unknown) => void) {
        listeners.get(channel)?.delete(listener);
      },
    },
  };
});
vi.mock('electron', () => electron);

const APP = 'file:///opt/Patchdeck/resources/app.asar/out/renderer/index.html';
let dir: string;
let core: Core;
let api: PatchdeckApi;
let ApiError: new (...args: never[]) => Error & { code: string; details?: unknown };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-preload-'));
  core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'electron',
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  const handle = createIpcHandler({ router: core.router, isTrustedSender: () => true, appUrl: APP });
  electron.bridge.handle = (payload) => handle({ sender: { id: 1 }, senderFrame: { url: APP } }, payload);
  await import('./preload');
  vi.stubGlobal('window', { patchdeck: electron.exposed.patchdeck });
  // Through a variable: the node tsconfig does not type the renderer's DOM code.
  const rendererApi = path.resolve(import.meta.dirname, '../renderer/api.ts');
  ({ api, ApiError } = (await import(/* @vite-ignore */ rendererApi)) as {
    api: PatchdeckApi;
    ApiError: typeof ApiError;
  });
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('preload and renderer: errors cross as data', () => {
  it('a value arrives as the value, through the shared invoke channel', async () => {
    expect(await api.app.info()).toMatchObject({ carrier: 'electron', name: 'Patchdeck' });
    expect(electron.invoked.at(-1)).toBe(INVOKE_CHANNEL);
  });

  it('the preload hands the envelope over whole, code, message and details included', async () => {
    const bridge = electron.exposed.patchdeck as { hosts: { update(args: unknown): Promise<unknown> } };
    const envelope = await bridge.hosts.update({ id: 1, patch: { evil: true } });
    expect(envelope).toMatchObject({
      ok: false,
      error: {
        code: 'bad-request',
        message: expect.stringMatching(/^Invalid arguments for hosts\.update: patch: /),
        details: { issues: [{ path: ['patch'], message: expect.any(String) }] },
      },
    });
  });

  it('the page gets an ApiError with the same code, message and details', async () => {
    const refused = await api.hosts
      .update({ id: 1, patch: { evil: true } } as never)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/^Invalid arguments for hosts\.update: patch: /),
      details: { issues: [{ path: ['patch'] }] },
    });
    const missing = await api.hosts.get({ id: 4242 }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ code: 'not-found', message: 'Host 4242 does not exist.' });
    // A message that looks like the old "[code] message" text is not taken apart.
    const odd = await api.workspace.open({ path: path.join(dir, '[x] y.sqlite') }).catch((e: unknown) => e);
    expect(odd).toMatchObject({ code: 'workspace-missing' });
  });

  it('events arrive on the shared event channel, and unsubscribe', () => {
    const seen: unknown[] = [];
    const off = api.on('entity.changed', (payload) => seen.push(payload));
    const deliver = (message: unknown) =>
      [...(electron.listeners.get(EVENT_CHANNEL) ?? [])].forEach((l) => l({}, message));
    deliver({ event: 'entity.changed', payload: { entity: 'hosts' } });
    deliver({ event: 'task.changed', payload: {} });
    off();
    deliver({ event: 'entity.changed', payload: { entity: 'settings' } });
    expect(seen).toEqual([{ entity: 'hosts' }]);
  });
});
