import { spawn } from 'node:child_process';
import { createNodeSecretBox } from '../secrets';
import { userConfigDir } from '../util';
import { assertExternalUrl, type Platform } from './types';

/**
 * The Node implementation of Platform: used by the CLI, the browser carrier and tests.
 * There is no native dialog or PDF printer in plain Node; those calls say so clearly and the
 * callers (which take explicit paths on the CLI) do not need them.
 */
export function createNodePlatform(
  options: { configDir?: string; passphrase?: string; useKeychain?: boolean } = {},
): Platform {
  const secrets = createNodeSecretBox({
    configDir: options.configDir ?? userConfigDir(),
    passphrase: options.passphrase ?? process.env.PATCHDECK_PASSPHRASE,
    useKeychain: options.useKeychain,
  });
  return {
    kind: 'node',
    secrets,
    async openExternal(url) {
      const parsed = assertExternalUrl(url);
      const opener =
        process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
      spawn(opener, [parsed.href], { stdio: 'ignore', detached: true })
        .on('error', () => undefined)
        .unref();
    },
    async chooseFileToOpen() {
      throw new Error('File dialogs exist only in the desktop app; pass a path instead.');
    },
    async chooseFileToSave() {
      throw new Error('File dialogs exist only in the desktop app; pass a path instead.');
    },
    async printToPdf() {
      throw new Error('PDF printing needs the desktop app; export HTML and print it from a browser instead.');
    },
  };
}
