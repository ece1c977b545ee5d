import { beforeEach, describe, expect, it, vi } from 'vitest';

// The Electron binary does not exist here: the platform runs against stand-ins for its modules.
const electron = vi.hoisted(() => {
  const shown: { title: string; body: string; silent: boolean }[] = [];
  const clicks: (() => void)[] = [];
  class Notification {
    static isSupported = vi.fn(() => true);
    constructor(private readonly options: { title: string; body: string; silent: boolean }) {}
    on(event: string, listener: () => void) {
      if (event === 'click') clicks.push(listener);
      return this;
    }
    show() {
      shown.push(this.options);
    }
  }
  return {
    shown,
    clicks,
    Notification,
    BrowserWindow: vi.fn(),
    dialog: {},
    shell: {},
    safeStorage: { isEncryptionAvailable: vi.fn(() => false) },
  };
});
vi.mock('electron', () => electron);

const { createElectronPlatform } = await import('./platform');

beforeEach(() => {
  electron.shown.length = 0;
  electron.clicks.length = 0;
  electron.Notification.isSupported.mockReturnValue(true);
});

describe('desktop notifications (Platform.notify)', () => {
  it("shows the task's outcome as an OS notification; a failure is not silent", async () => {
    const win = { isMinimized: vi.fn(() => true), restore: vi.fn(), show: vi.fn(), focus: vi.fn() };
    const platform = createElectronPlatform(() => win as never);
    expect(
      await platform.notify!({
        title: 'Audit 8 hosts — partly failed',
        body: '6 of 8 hosts succeeded, 2 failed',
        tone: 'danger',
      }),
    ).toBe(true);
    expect(
      await platform.notify!({
        title: 'Audit 2 hosts — succeeded',
        body: '2 of 2 hosts succeeded',
        tone: 'ok',
      }),
    ).toBe(true);
    expect(electron.shown).toEqual([
      { title: 'Audit 8 hosts — partly failed', body: '6 of 8 hosts succeeded, 2 failed', silent: false },
      { title: 'Audit 2 hosts — succeeded', body: '2 of 2 hosts succeeded', silent: true },
    ]);
    // Clicking one brings the window back.
    electron.clicks[0]!();
    expect(win.restore).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();
  });

  it('says so when the OS cannot show notifications', async () => {
    electron.Notification.isSupported.mockReturnValue(false);
    const platform = createElectronPlatform(() => null);
    expect(await platform.notify!({ title: 't', body: 'b', tone: 'warn' })).toBe(false);
    expect(electron.shown).toEqual([]);
  });
});
