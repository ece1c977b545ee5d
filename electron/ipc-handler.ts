import type { Envelope } from '../src/api';
import type { Router } from '../src/api';

/**
 * The one IPC channel's guard, kept free of `electron` imports so it is tested under Node with
 * fake senders. main.ts registers `handleInvoke` with ipcMain.handle on INVOKE_CHANNEL.
 */
export { EVENT_CHANNEL, INVOKE_CHANNEL } from './channels';

export interface SenderLike {
  /** webContents id of the sender. */
  id: number;
}
export interface InvokeEventLike {
  sender: SenderLike;
  senderFrame?: { url: string } | null;
}

export interface IpcHandlerOptions {
  /** The core's router: in-process, or the client of the core's own process. */
  router: Router;
  /** True only for the webContents of this app's own windows. */
  isTrustedSender(sender: SenderLike): boolean;
  /** The URL the app's own page is loaded from (file://…/index.html, or the dev server). */
  appUrl: string;
}

/**
 * Whether a frame's URL is the app's own page: the same scheme, host and port as `appUrl`, and
 * the same document (for a dev server serving from a folder such as `/`, a path under it). The
 * URLs are compared parsed: a string prefix also accepted `http://localhost:5173.evil.example/`,
 * `http://localhost:5173@evil.example/` or `file:///…/index.html.evil/`.
 */
export function isAppPageUrl(frameUrl: string, appUrl: string): boolean {
  let frame: URL;
  let own: URL;
  try {
    frame = new URL(frameUrl);
    own = new URL(appUrl);
  } catch {
    return false;
  }
  if (frame.protocol !== own.protocol || frame.host !== own.host) return false;
  if (frame.username !== '' || frame.password !== '') return false;
  return own.pathname.endsWith('/')
    ? frame.pathname.startsWith(own.pathname)
    : frame.pathname === own.pathname;
}

export function createIpcHandler(options: IpcHandlerOptions) {
  return async function handleInvoke(event: InvokeEventLike, payload: unknown): Promise<Envelope> {
    const frameUrl = event.senderFrame?.url ?? '';
    if (!options.isTrustedSender(event.sender) || !isAppPageUrl(frameUrl, options.appUrl)) {
      return {
        ok: false,
        error: { code: 'forbidden', message: 'This window is not allowed to call Patchdeck.' },
      };
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return {
        ok: false,
        error: { code: 'bad-request', message: 'An IPC call must be an object { method, args }.' },
      };
    }
    const { method, args } = payload as { method?: unknown; args?: unknown };
    return options.router.call(method, args, { carrier: 'electron' });
  };
}
