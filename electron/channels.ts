/**
 * The IPC channel names, defined once: the preload invokes and listens on them, main handles and
 * sends on them. Free of `electron` imports so the sandboxed preload bundle and tests share it.
 */
/** Renderer → main: one contract call `{ method, args }`, answered with its envelope. */
export const INVOKE_CHANNEL = 'patchdeck:invoke';
/** Main → renderer: one contract event `{ event, payload }`. */
export const EVENT_CHANNEL = 'patchdeck:event';
