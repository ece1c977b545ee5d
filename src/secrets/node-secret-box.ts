import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SecretBox } from '../platform';
import { shellQuote } from '../remote';
import { isPatchdeckError, PatchdeckError } from '../util';
import { openWithKey, sealWithKey } from './aes-gcm';

/**
 * Where the 256-bit key that seals credentials comes from, in order of preference:
 *  1. the OS keychain (macOS `security`, Linux libsecret `secret-tool`) when one answers;
 *  2. a passphrase (PATCHDECK_PASSPHRASE) stretched with scrypt and a per-machine salt;
 *  3. a random key in a 0600 file in the user's config directory.
 * The key never enters the workspace, so a handed-over workspace carries no usable secrets.
 */
export interface NodeSecretBoxOptions {
  configDir: string;
  passphrase?: string;
  /** Tests turn the keychain off to stay hermetic. */
  useKeychain?: boolean;
}

const KEYCHAIN_SERVICE = 'Patchdeck';
const KEYCHAIN_ACCOUNT = 'workspace-secrets-key';

function tryKeychain(): { key: Buffer; backend: string } | null {
  try {
    if (process.platform === 'darwin') {
      let hex: string;
      try {
        hex = execFileSync(
          'security',
          ['find-generic-password', '-s', KEYCHAIN_SERVICE, '-a', KEYCHAIN_ACCOUNT, '-w'],
          {
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        )
          .toString()
          .trim();
      } catch {
        hex = crypto.randomBytes(32).toString('hex');
        execFileSync(
          'security',
          ['add-generic-password', '-s', KEYCHAIN_SERVICE, '-a', KEYCHAIN_ACCOUNT, '-w', hex],
          {
            stdio: 'ignore',
          },
        );
      }
      return { key: Buffer.from(hex, 'hex'), backend: 'macOS Keychain' };
    }
    if (process.platform === 'linux' && process.env.DBUS_SESSION_BUS_ADDRESS) {
      const attrs = ['service', KEYCHAIN_SERVICE, 'account', KEYCHAIN_ACCOUNT];
      let hex = '';
      try {
        hex = execFileSync('secret-tool', ['lookup', ...attrs], {
          stdio: ['ignore', 'pipe', 'ignore'],
          timeout: 3000,
        })
          .toString()
          .trim();
      } catch {
        hex = '';
      }
      if (!/^[0-9a-f]{64}$/.test(hex)) {
        hex = crypto.randomBytes(32).toString('hex');
        // The key goes on stdin, never in argv where other users could read it.
        execFileSync('secret-tool', ['store', '--label=Patchdeck secrets key', ...attrs], {
          input: hex,
          stdio: ['pipe', 'ignore', 'ignore'],
          timeout: 3000,
        });
      }
      return { key: Buffer.from(hex, 'hex'), backend: 'Secret Service (libsecret)' };
    }
  } catch {
    return null;
  }
  return null;
}

function writePrivateFile(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
}

function keyFromPassphrase(configDir: string, passphrase: string): Buffer {
  const saltFile = path.join(configDir, 'secrets.salt');
  if (!fs.existsSync(saltFile)) writePrivateFile(saltFile, crypto.randomBytes(16).toString('hex'));
  const salt = Buffer.from(fs.readFileSync(saltFile, 'utf8').trim(), 'hex');
  return crypto.scryptSync(passphrase, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

function keyFromFile(configDir: string): Buffer {
  const keyFile = path.join(configDir, 'secrets.key');
  if (!fs.existsSync(keyFile)) {
    try {
      writePrivateFile(keyFile, crypto.randomBytes(32).toString('hex'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  let text: string;
  try {
    checkKeyFileMode(keyFile, fs.statSync(keyFile).mode);
    text = fs.readFileSync(keyFile, 'utf8').trim();
  } catch (error) {
    if (isPatchdeckError(error)) throw error;
    const err = error as NodeJS.ErrnoException;
    throw new PatchdeckError(
      'unavailable',
      err.code === 'EACCES'
        ? `${keyFile} (the key that seals stored passwords) cannot be read by this user: permission denied. ` +
            `It must belong to you with mode 0600; as its owner run: chmod 600 ${shellQuote(keyFile)}`
        : `${keyFile} (the key that seals stored passwords) cannot be read: ${err.code ?? err.message}.`,
    );
  }
  // 64 hex digits, exactly: Buffer.from(…, 'hex') would quietly stop at the first non-hex character.
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new PatchdeckError(
      'unavailable',
      `${keyFile} does not hold a 256-bit key (64 hexadecimal digits), so the stored passwords cannot be opened. ` +
        'If it was edited or replaced, restore the original file.',
    );
  return Buffer.from(text, 'hex');
}

/**
 * The key file unlocks every password in every workspace of this user: one that other users can
 * read (or replace) is refused, with what is wrong and the command that fixes it.
 */
function checkKeyFileMode(keyFile: string, fullMode: number): void {
  if (process.platform === 'win32') return;
  const mode = fullMode & 0o777;
  if ((mode & 0o077) === 0) return;
  const octal = mode.toString(8).padStart(4, '0');
  const what = mode & 0o044 ? 'readable by other users' : 'writable by other users';
  throw new PatchdeckError(
    'unavailable',
    `${keyFile} is ${what} (mode ${octal}); it holds the key that unlocks the stored passwords, so ` +
      `Patchdeck will not use it until only you can read it. Run: chmod 600 ${shellQuote(keyFile)}`,
  );
}

export function createNodeSecretBox(options: NodeSecretBoxOptions): SecretBox {
  let resolved: { key: Buffer; backend: string } | null = null;
  const resolve = (): { key: Buffer; backend: string } => {
    if (resolved) return resolved;
    const fromKeychain = options.useKeychain === false ? null : tryKeychain();
    if (fromKeychain) resolved = fromKeychain;
    else if (options.passphrase)
      resolved = {
        key: keyFromPassphrase(options.configDir, options.passphrase),
        backend: 'passphrase (scrypt)',
      };
    else
      resolved = {
        key: keyFromFile(options.configDir),
        backend: `key file (${path.join(options.configDir, 'secrets.key')})`,
      };
    return resolved;
  };
  return {
    get backend() {
      try {
        return resolve().backend;
      } catch (error) {
        // A key file to fix still lets the app start and say what is wrong (seal/open refuse).
        if (isPatchdeckError(error)) return `unavailable: ${error.message}`;
        throw error;
      }
    },
    async seal(plaintext) {
      return sealWithKey(resolve().key, plaintext);
    },
    async open(ciphertext) {
      return openWithKey(resolve().key, ciphertext);
    },
  };
}
