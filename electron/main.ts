import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, session, shell } from 'electron';
import { CoreClient } from '../src/carrier';
import { assertExternalUrl } from '../src/platform';
import { errorMessage } from '../src/util';
import { defaultWorkspacePath } from '../src/util';
import { forkCore } from './core-host';
import { createIpcHandler, EVENT_CHANNEL, INVOKE_CHANNEL } from './ipc-handler';
import { createElectronPlatform } from './platform';
import { activeTaskCount, confirmQuit, QUIT_GRACE_MS } from './quit-guard';

/**
 * The thin desktop shell: one secure window, its dialogs and the Platform work (keychain,
 * notifications, PDF). The core runs in a utilityProcess of its own (SQLite, audits, imports
 * never block this process's event loop); one IPC channel leads from the window, through the
 * sender checks here, to the core's router over a MessagePort.
 */
let mainWindow: BrowserWindow | null = null;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore();
    mainWindow?.focus();
  });
  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      // Without a window nothing would ever quit this process, and its single-instance lock
      // would turn every later launch into a silent no-op: say why, and quit.
      dialog.showErrorBox('Patchdeck could not start', errorMessage(error));
      app.exit(1);
    });
  // The window's 'closed' handler closes the workspace, then quits.
  app.on('window-all-closed', () => undefined);
}

// No webview, no navigation away, no new windows: links to https: go to the OS browser.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const external = httpsUrlOrNull(url);
    if (external) void shell.openExternal(external.href);
    return { action: 'deny' };
  });
});

/** The parsed URL when it is an https: link, else null (a malformed link opens nothing). */
function httpsUrlOrNull(url: string): URL | null {
  try {
    return assertExternalUrl(url);
  } catch {
    return null;
  }
}

async function start(): Promise<void> {
  // Windows shows an app's notifications only under its application id (electron-builder.yml).
  if (process.platform === 'win32') app.setAppUserModelId('io.patchdeck.app');
  // Deny-by-default: the page needs no camera, notifications, geolocation or anything else (the
  // main process shows work's notifications itself, through Platform.notify).
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  const rendererIndex = path.join(import.meta.dirname, '../renderer/index.html');
  // Only a development run loads its page from a dev server: in a packaged app the environment
  // (anyone who can start it) must not choose the page that gets the IPC channel.
  const devUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL;
  const appUrl = devUrl ?? pathToFileURL(rendererIndex).href;

  const channel = forkCore();
  const core = new CoreClient({
    channel,
    platform: createElectronPlatform(() => mainWindow),
    carrier: 'electron',
  });
  try {
    await core.start({
      path: process.env.PATCHDECK_WORKSPACE ?? defaultWorkspacePath(),
      create: 'if-missing',
    });
  } catch (error) {
    await core.stop(QUIT_GRACE_MS);
    throw error;
  }
  let quitting = false;
  // The core's process ending on its own leaves nothing to serve the window: say why and quit.
  // Work it was doing is marked interrupted when Patchdeck starts again.
  channel.onClose((reason) => {
    if (quitting) return;
    dialog.showErrorBox(
      'Patchdeck stopped working',
      `Patchdeck's core stopped (${reason}). Open Patchdeck again; work that was running shows as interrupted.`,
    );
    app.exit(1);
  });

  const handleInvoke = createIpcHandler({
    router: core.router,
    isTrustedSender: (sender) => mainWindow !== null && sender.id === mainWindow.webContents.id,
    appUrl,
  });
  ipcMain.handle(INVOKE_CHANNEL, (event, payload: unknown) => handleInvoke(event, payload));
  core.events.subscribe((event, payload) => {
    if (mainWindow && !mainWindow.webContents.isDestroyed())
      mainWindow.webContents.send(EVENT_CHANNEL, { event, payload });
  });

  mainWindow = new BrowserWindow({
    width: 1280,
    height: 820,
    show: false,
    title: 'Patchdeck',
    webPreferences: {
      preload: path.join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
      // A middle click would otherwise fire auxclick and may open a link in a new window; the
      // window-open handler denies that anyway, this removes the path altogether.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  // Closing with work still running asks first (a patch job's installs carry on on their hosts).
  let mayClose = false;
  let asking = false;
  mainWindow.on('close', (event) => {
    if (mayClose || activeTaskCount(core) === 0) return;
    event.preventDefault();
    if (asking) return;
    asking = true;
    void confirmQuit(core, async ({ message, detail }) => {
      const answer = await dialog.showMessageBox(mainWindow!, {
        type: 'warning',
        message,
        detail,
        buttons: ['Quit anyway', 'Keep Patchdeck open'],
        defaultId: 1,
        cancelId: 1,
      });
      return answer.response === 0;
    })
      .catch(() => true)
      .then((quit) => {
        asking = false;
        if (!quit) return;
        mayClose = true;
        mainWindow?.close();
      });
  });
  mainWindow.on('closed', () => {
    mainWindow = null;
    quitting = true;
    // Stopping the core closes the workspace, which cancels running tasks and waits for them; a
    // patch install is never interrupted and may take many minutes. Wait briefly, then exit: the
    // remote installs carry on detached, and the next start marks the job interrupted (every step
    // transition is already committed), from where Resume finishes it.
    void core.stop(QUIT_GRACE_MS).finally(() => app.exit(0));
  });
  await (devUrl ? mainWindow.loadURL(devUrl) : mainWindow.loadFile(rendererIndex));
}
