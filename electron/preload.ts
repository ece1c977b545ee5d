import { contextBridge, ipcRenderer } from 'electron';
import { methodNames, type Envelope, type EventName } from '../src/api';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './channels';

/**
 * `window.patchdeck` (a PatchdeckBridge): named functions built from the contract, and
 * cancellable event subscriptions. Each function resolves with the call's envelope as plain data:
 * contextBridge copies `{ ok: false, error: { code, message, details } }` whole, where of a thrown
 * Error only the message would survive. renderer/api.ts turns envelopes into values and ApiErrors.
 */
const api: Record<string, Record<string, (args?: unknown) => Promise<Envelope>> | unknown> = {};
for (const method of methodNames) {
  const [ns, fn] = method.split('.') as [string, string];
  const group = (api[ns] ??= {}) as Record<string, (args?: unknown) => Promise<Envelope>>;
  group[fn] = (args?: unknown) =>
    ipcRenderer.invoke(INVOKE_CHANNEL, { method, args: args ?? {} }) as Promise<Envelope>;
}
api.on = (event: EventName, listener: (payload: unknown) => void) => {
  const wrapped = (_e: unknown, message: { event: string; payload: unknown }) => {
    if (message.event === event) listener(message.payload);
  };
  ipcRenderer.on(EVENT_CHANNEL, wrapped);
  return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
};

contextBridge.exposeInMainWorld('patchdeck', api);
