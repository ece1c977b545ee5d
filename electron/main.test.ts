import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';

// The Electron binary does not exist here: the shell starts against stand-ins for its modules.
const electron = vi.hoisted(() => ({
  app: {
    requestSingleInstanceLock: vi.fn(() => true),
    whenReady: vi.fn(() => Promise.resolve()),
    on: vi.fn(),
    quit: vi.fn(),
    exit: vi.fn(),
  },
  dialog: { showErrorBox: vi.fn() },
  session: {
    defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() },
  },
  BrowserWindow: vi.fn(),
  ipcMain: { handle: vi.fn() },
  shell: { openExternal: vi.fn() },
  safeStorage: { isEncryptionAvailable: vi.fn(() => false) },
}));
vi.mock('electron', () => electron);
// The core's utilityProcess is stood in for by a real child process (child_process.fork).
vi.mock('./core-host', async () => {
  const { bundleNodeCore, forkNodeCore } = await import('../src/carrier');
  const entry = await bundleNodeCore();
  return { forkCore: () => forkNodeCore({ entry }).channel };
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-main-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('says why and quits when the workspace cannot be opened at start-up', async () => {
  const workspace = path.join(dir, 'not-a-workspace.sqlite');
  fs.writeFileSync(workspace, 'these are not the bytes of a SQLite file');
  vi.stubEnv('PATCHDECK_WORKSPACE', workspace);
  const rejections: unknown[] = [];
  const record = (error: unknown): void => void rejections.push(error);
  process.on('unhandledRejection', record);
  try {
    await import('./main');
    await expect.poll(() => electron.app.exit.mock.calls.length).toBe(1);
    expect(electron.app.exit).toHaveBeenCalledWith(1);
    expect(electron.dialog.showErrorBox).toHaveBeenCalledWith(
      'Patchdeck could not start',
      expect.stringMatching(/\S/u),
    );
    expect(electron.BrowserWindow).not.toHaveBeenCalled();
    await new Promise((r) => setTimeout(r, 50));
    expect(rejections).toEqual([]);
  } finally {
    process.off('unhandledRejection', record);
    vi.unstubAllEnvs();
  }
});
