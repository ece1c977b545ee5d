import type { Envelope } from '../src/api/contract';
import type { Router } from '../src/api/router';

/**
 * The one IPC channel and its guard, kept free of `electron` imports so it is tested under
 * Node with fake senders. main.ts registers `handleInvoke` with ipcMain.handle.
 */
export const INVOKE_CHANNEL = 'patchdeck:invoke';
export const EVENT_CHANNEL = 'patchdeck:event';

export interface SenderLike {
  /** webContents id of the sender. */
  id: number;
}
export interface InvokeEventLike {
  sender: SenderLike;
  senderFrame?: { url: string } | null;
}

export interface IpcHandlerOptions {
  router: Router;
  /** True only for the webContents of this app's own windows. */
  isTrustedSender(sender: SenderLike): boolean;
  /** The URL prefix the app's own page is loaded from (file://…/index.html or the dev server). */
  appUrlPrefix: string;
}

export function createIpcHandler(options: IpcHandlerOptions) {
  return async function handleInvoke(event: InvokeEventLike, payload: unknown): Promise<Envelope> {
    const frameUrl = event.senderFrame?.url ?? '';
    if (!options.isTrustedSender(event.sender) || !frameUrl.startsWith(options.appUrlPrefix)) {
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
