import type { Platform } from './types';

/**
 * A Platform whose work is done by another process: the core's process asks the one that owns
 * the OS keychain, the dialogs, notifications and the PDF printer (Electron's main process), and
 * waits for its answer. `ask` sends one request and resolves with the answer's value, or rejects
 * with the error the other side reported.
 */
export type PlatformOp =
  | 'secrets.seal'
  | 'secrets.open'
  | 'openExternal'
  | 'chooseFileToOpen'
  | 'chooseFileToSave'
  | 'printToPdf'
  | 'notify';

export interface RemotePlatformOptions {
  kind: Platform['kind'];
  /** Where the key lives, as the other side named it at start (Settings shows it). */
  secretsBackend: string;
  /** Whether the other side shows OS notifications. */
  notify: boolean;
  ask(op: PlatformOp, request: Record<string, unknown>): Promise<unknown>;
}

/** Bytes as a Buffer, whatever the channel turned them into (a structured clone gives a Uint8Array). */
function asBuffer(value: unknown, what: string): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new Error(`The main process answered ${what} with something that is not bytes.`);
}

function asString(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  throw new Error(`The main process answered ${what} with something that is not text.`);
}

function asPathOrNull(value: unknown, what: string): string | null {
  return value === null ? null : asString(value, what);
}

export function createRemotePlatform(options: RemotePlatformOptions): Platform {
  const { ask } = options;
  const platform: Platform = {
    kind: options.kind,
    secrets: {
      backend: options.secretsBackend,
      async seal(plaintext) {
        return asBuffer(await ask('secrets.seal', { plaintext }), 'a sealed secret');
      },
      async open(ciphertext) {
        return asString(await ask('secrets.open', { ciphertext }), 'an opened secret');
      },
    },
    async openExternal(url) {
      await ask('openExternal', { url });
    },
    async chooseFileToOpen(dialog) {
      return asPathOrNull(await ask('chooseFileToOpen', { options: dialog }), 'a file dialog');
    },
    async chooseFileToSave(dialog) {
      return asPathOrNull(await ask('chooseFileToSave', { options: dialog }), 'a file dialog');
    },
    async printToPdf(html) {
      return asBuffer(await ask('printToPdf', { html }), 'a PDF');
    },
  };
  if (options.notify) {
    platform.notify = async (notification) => (await ask('notify', { notification })) === true;
  }
  return platform;
}
