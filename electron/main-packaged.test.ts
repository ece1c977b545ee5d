import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, expect, it, vi } from 'vitest';

// The Electron binary does not exist here: the shell starts against stand-ins for its modules,
// far enough to load its window and register its IPC handler.
const electron = await vi.hoisted(async () =>
  (await import('./testing/fake-electron')).fakeElectron({
    safeStorage: { isEncryptionAvailable: vi.fn(() => false) },
  }),
);
vi.mock('electron', () => electron);
// The core's utilityProcess is stood in for by a real child process (child_process.fork).
vi.mock('./core-host', async () => {
  const { bundleNodeCore, forkNodeCore } = await import('../src/carrier');
  const entry = await bundleNodeCore();
  return { forkCore: () => forkNodeCore({ entry }).channel };
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-main-packaged-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  electron.windows.length = 0;
  electron.ipcMain.handle.mockClear();
  electron.app.exit.mockClear();
});

type Handler = (
  event: { sender: { id: number }; senderFrame: { url: string } },
  payload: unknown,
) => Promise<{ ok: boolean }>;

/** Starts main.ts as Electron would, with ELECTRON_RENDERER_URL pointing at some other page. */
async function startShell(isPackaged: boolean, rendererUrl: string) {
  electron.app.isPackaged = isPackaged;
  vi.stubEnv('PATCHDECK_WORKSPACE', path.join(dir, `ws-${isPackaged}.sqlite`));
  vi.stubEnv('PATCHDECK_CONFIG_DIR', dir);
  vi.stubEnv('ELECTRON_RENDERER_URL', rendererUrl);
  await import('./main');
  await expect
    .poll(() => {
      const win = electron.windows[0];
      return win ? win.loadFile.mock.calls.length + win.loadURL.mock.calls.length : 0;
    })
    .toBe(1);
  const win = electron.windows[0]!;
  const handle = electron.ipcMain.handle.mock.calls[0]![1] as Handler;
  const from = (url: string) => handle({ sender: { id: 7 }, senderFrame: { url } }, { method: 'app.info' });
  const stop = async (): Promise<void> => {
    win.handlers.get('closed')!();
    await expect.poll(() => electron.app.exit.mock.calls.length).toBe(1);
  };
  return { win, from, stop };
}

it('a packaged app ignores ELECTRON_RENDERER_URL: it loads its own file and serves only that page', async () => {
  const { win, from, stop } = await startShell(true, 'http://127.0.0.1:9/evil.html');
  try {
    expect(win.loadURL).not.toHaveBeenCalled();
    expect(win.loadFile).toHaveBeenCalledTimes(1);
    const file = win.loadFile.mock.calls[0]![0] as string;
    expect(file).toMatch(/renderer[\\/]index\.html$/);
    expect(await from('http://127.0.0.1:9/evil.html')).toMatchObject({ ok: false });
    expect(await from(pathToFileURL(file).href)).toMatchObject({ ok: true });
  } finally {
    await stop();
  }
});

it('a development run loads the dev server named by ELECTRON_RENDERER_URL', async () => {
  const { win, from, stop } = await startShell(false, 'http://localhost:5173/');
  try {
    expect(win.loadURL).toHaveBeenCalledWith('http://localhost:5173/');
    expect(await from('http://localhost:5173/')).toMatchObject({ ok: true });
    expect(await from('http://localhost:5173.evil.example/')).toMatchObject({ ok: false });
  } finally {
    await stop();
  }
});

it('opens only https: links in the OS browser, denies every new window, and disables auxclick', async () => {
  const { stop } = await startShell(true, '');
  try {
    const created = electron.app.on.mock.calls.find((c) => c[0] === 'web-contents-created')![1] as (
      event: unknown,
      contents: unknown,
    ) => void;
    let openHandler: (details: { url: string }) => { action: string } = () => ({ action: 'allow' });
    created(
      {},
      {
        on: () => undefined,
        setWindowOpenHandler: (handler: typeof openHandler) => (openHandler = handler),
      },
    );
    for (const url of [
      'https://example.com/a?b',
      'http://example.com/',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'not a url',
    ]) {
      expect(openHandler({ url })).toEqual({ action: 'deny' });
    }
    expect(electron.shell.openExternal.mock.calls).toEqual([['https://example.com/a?b']]);
    const [options] = electron.BrowserWindow.mock.calls.at(-1) as unknown as [
      { webPreferences: Record<string, unknown> },
    ];
    expect(options.webPreferences).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      disableBlinkFeatures: 'Auxclick',
    });
  } finally {
    await stop();
  }
});
