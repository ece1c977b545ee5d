/**
 * Test support: stand-ins for the Electron modules main.ts uses, for tests that start the shell
 * without the Electron binary. Load it inside `vi.hoisted` (vi.mock's factory runs before
 * imports):
 *
 *   const electron = await vi.hoisted(async () =>
 *     (await import('./testing/fake-electron')).fakeElectron({ safeStorage: … }));
 *   vi.mock('electron', () => electron);
 */
import type { ChildProcess } from 'node:child_process';
import { vi, type Mock } from 'vitest';

/** A window main.ts created: what it loaded, the handlers it registered, what it was sent. */
export interface FakeWindow {
  webContents: { id: number; isDestroyed(): boolean; send(channel: string, message: unknown): void };
  loadURL: Mock<(url: string) => Promise<void>>;
  loadFile: Mock<(file: string) => Promise<void>>;
  handlers: Map<string, (event?: unknown) => void>;
}

export interface FakeElectronOptions {
  /** The keychain main sees. */
  safeStorage: Record<string, unknown>;
  /** What every message box answers (the button index); unset, showMessageBox returns nothing. */
  messageBoxResponse?: number;
}

export function fakeElectron(options: FakeElectronOptions) {
  const windows: FakeWindow[] = [];
  /** Every message sent to a window, in order. */
  const sent: { channel: string; message: unknown }[] = [];
  /** Child processes a test's stand-in for the core's utilityProcess started. */
  const children: ChildProcess[] = [];
  const response = options.messageBoxResponse;
  return {
    windows,
    sent,
    children,
    app: {
      isPackaged: true,
      requestSingleInstanceLock: vi.fn(() => true),
      whenReady: vi.fn(() => Promise.resolve()),
      on: vi.fn(),
      quit: vi.fn(),
      exit: vi.fn(),
    },
    dialog: {
      showErrorBox: vi.fn(),
      showMessageBox: vi.fn(() => (response === undefined ? undefined : Promise.resolve({ response }))),
    },
    session: {
      defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() },
    },
    BrowserWindow: vi.fn(function (this: FakeWindow) {
      this.webContents = {
        id: 7,
        isDestroyed: () => false,
        send: (channel, message) => void sent.push({ channel, message }),
      };
      this.loadURL = vi.fn(() => Promise.resolve());
      this.loadFile = vi.fn(() => Promise.resolve());
      this.handlers = new Map();
      const handlers = this.handlers;
      Object.assign(this, {
        once: (name: string, fn: () => void) => handlers.set(name, fn),
        on: (name: string, fn: () => void) => handlers.set(name, fn),
        show: () => undefined,
        close: () => handlers.get('closed')?.(),
      });
      windows.push(this);
    }),
    ipcMain: { handle: vi.fn() },
    shell: { openExternal: vi.fn() },
    safeStorage: options.safeStorage,
  };
}
