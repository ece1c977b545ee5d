// SSH keys: the lab's own client key (admin logs in with it) and each host's identity, cached by
// host name so a host keeps its host keys across down/up.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { HOST_KEY_CACHE, LAB_KEY_FILE } from './paths';
import { run } from './sh';

export const HOST_KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

export async function ensureLabKey(): Promise<string> {
  if (!existsSync(LAB_KEY_FILE)) {
    await mkdir(path.dirname(LAB_KEY_FILE), { recursive: true, mode: 0o700 });
    await rm(`${LAB_KEY_FILE}.pub`, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'patchdeck-lab', '-f', LAB_KEY_FILE]);
  }
  return LAB_KEY_FILE;
}

export const labPublicKey = () => readFileSync(`${LAB_KEY_FILE}.pub`, 'utf8').trim();

/** Generate any missing host keys into dir (ssh_host_<type>_key[.pub]). */
export async function generateHostKeys(dir: string, name: string, force = false): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const t of HOST_KEY_TYPES) {
    const f = path.join(dir, `ssh_host_${t}_key`);
    if (!force && existsSync(f) && existsSync(`${f}.pub`)) continue;
    await rm(f, { force: true });
    await rm(`${f}.pub`, { force: true });
    await run('ssh-keygen', [
      '-q',
      '-t',
      t,
      ...(t === 'rsa' ? ['-b', '3072'] : []),
      '-N',
      '',
      '-C',
      `root@${name}`,
      '-f',
      f,
    ]);
  }
}

export const cachedHostKeyDir = (name: string) => path.join(HOST_KEY_CACHE, name);

export interface HostKeyInfo {
  type: string;
  fingerprint: string;
  publicKey: string;
}

/** Read the public host keys in dir, with OpenSSH-style SHA256 fingerprints. */
export function readHostKeys(dir: string): HostKeyInfo[] {
  return HOST_KEY_TYPES.map((t) => {
    const [type, blob] = readFileSync(path.join(dir, `ssh_host_${t}_key.pub`), 'utf8')
      .trim()
      .split(/\s+/) as [string, string];
    const fingerprint =
      'SHA256:' +
      createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
    return { type, fingerprint, publicKey: `${type} ${blob}` };
  });
}
