import { BrowserWindow, Notification, dialog, safeStorage, shell } from 'electron';
import { assertExternalUrl, type Platform } from '../src/platform';

/** The desktop Platform: OS keychain via safeStorage, native dialogs, printToPDF, the OS browser. */
export function createElectronPlatform(getWindow: () => BrowserWindow | null): Platform {
  return {
    kind: 'electron',
    secrets: {
      get backend() {
        return safeStorage.isEncryptionAvailable()
          ? `OS keychain (${process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : process.platform})`
          : 'unavailable';
      },
      async seal(plaintext) {
        if (!safeStorage.isEncryptionAvailable())
          throw new Error('The OS keychain is not available; secrets cannot be stored.');
        return safeStorage.encryptString(plaintext);
      },
      async open(ciphertext) {
        return safeStorage.decryptString(ciphertext);
      },
    },
    async openExternal(url) {
      await shell.openExternal(assertExternalUrl(url).href);
    },
    async chooseFileToOpen(options) {
      const win = getWindow();
      const result = win
        ? await dialog.showOpenDialog(win, { ...options, properties: ['openFile'] })
        : await dialog.showOpenDialog({ ...options, properties: ['openFile'] });
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async chooseFileToSave(options) {
      const win = getWindow();
      const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      return result.canceled ? null : (result.filePath ?? null);
    },
    async notify({ title, body, tone }) {
      if (!Notification.isSupported()) return false;
      // Silent for good news; a failure makes the OS's sound, so it is noticed.
      const shown = new Notification({ title, body, silent: tone === 'ok' });
      // Clicking it brings the window back to where the admin reads the whole story.
      shown.on('click', () => {
        const win = getWindow();
        if (!win) return;
        if (win.isMinimized()) win.restore();
        win.show();
        win.focus();
      });
      shown.show();
      return true;
    },
    async printToPdf(html) {
      // An offscreen, sandboxed window with JavaScript off renders the report and prints it.
      const win = new BrowserWindow({
        show: false,
        webPreferences: {
          sandbox: true,
          javascript: false,
          contextIsolation: true,
          disableBlinkFeatures: 'Auxclick',
        },
      });
      try {
        await win.loadURL(`data:text/html;charset=utf-8,${encodeURIComponent(html)}`);
        return await win.webContents.printToPDF({ printBackground: true });
      } finally {
        win.destroy();
      }
    },
  };
}
