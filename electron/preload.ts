import { contextBridge, ipcRenderer } from 'electron';
import { methodNames, type Envelope, type EventName } from '../src/api/contract';

/**
 * `window.patchdeck`: named functions built from the contract, and cancellable event
 * subscriptions. Only the message of an Error survives contextBridge, so failures are
 * rejected as `Error("[code] message")` and the renderer turns them back into ApiErrors.
 */
const INVOKE_CHANNEL = 'patchdeck:invoke';
const EVENT_CHANNEL = 'patchdeck:event';

const api: Record<string, Record<string, (args?: unknown) => Promise<unknown>> | unknown> = {};
for (const method of methodNames) {
  const [ns, fn] = method.split('.') as [string, string];
  const group = (api[ns] ??= {}) as Record<string, (args?: unknown) => Promise<unknown>>;
  group[fn] = async (args?: unknown) => {
    const envelope = (await ipcRenderer.invoke(INVOKE_CHANNEL, { method, args: args ?? {} })) as Envelope;
    if (envelope.ok) return envelope.value;
    throw new Error(`[${envelope.error.code}] ${envelope.error.message}`);
  };
}
api.on = (event: EventName, listener: (payload: unknown) => void) => {
  const wrapped = (_e: unknown, message: { event: string; payload: unknown }) => {
    if (message.event === event) listener(message.payload);
  };
  ipcRenderer.on(EVENT_CHANNEL, wrapped);
  return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
};

contextBridge.exposeInMainWorld('patchdeck', api);
