import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { connectHost } from '../../audit';
import { addCredential, deleteCredential, getCredentialSummary, listCredentials } from '../../credentials';
import { getHost } from '../../db';
import { appendAuditLog } from '../../db/audit-log';
import { readSettings } from '../../db/settings';
import { RemoteError } from '../../remote/errors';
import { PatchdeckError } from '../../util/errors';
import type { Core } from '../core';

/** A private key file is a few KiB; anything past this is not one (and is never read whole). */
export const KEY_FILE_MAX_BYTES = 64 * 1024;
/** How long a chosen key file waits for its credentials.add, and how many may wait at once. */
const KEY_FILE_TTL_MS = 10 * 60_000;
const KEY_FILES_HELD = 8;

/**
 * Reads a chosen private key file, bounded: at most KEY_FILE_MAX_BYTES, and it must hold a
 * -----BEGIN … PRIVATE KEY----- block. Errors name the file, never its content.
 *
 * Only a regular file is opened: a FIFO would block a plain open (and the core with it) until a
 * writer comes, a device such as /dev/zero never ends. So it is stat'ed first, opened
 * non-blocking, and fstat'ed again: the open file must be the same regular file that was stat'ed.
 * A symlink to a key file is followed (keys managed elsewhere are often linked into ~/.ssh).
 */
export function readKeyFile(file: string): string {
  const name = path.basename(file);
  const failure = (error: unknown, verb: string) =>
    new PatchdeckError(
      'bad-request',
      `Could not ${verb} ${name}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}.`,
    );
  let before: fs.Stats;
  try {
    before = fs.statSync(file);
  } catch (error) {
    throw failure(error, 'open');
  }
  if (!before.isFile()) throw new PatchdeckError('bad-request', `${name} is not a file.`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (fs.constants.O_NOCTTY ?? 0));
  } catch (error) {
    throw failure(error, 'open');
  }
  const buffer = Buffer.alloc(KEY_FILE_MAX_BYTES + 1);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new PatchdeckError('bad-request', `${name} is not a file.`);
    if (stat.dev !== before.dev || stat.ino !== before.ino)
      throw new PatchdeckError(
        'bad-request',
        `${name} was replaced while it was being opened; choose it again.`,
      );
    if (stat.size > KEY_FILE_MAX_BYTES)
      throw new PatchdeckError(
        'bad-request',
        `${name} is ${stat.size.toLocaleString('en')} bytes: a private key file is at most ${KEY_FILE_MAX_BYTES.toLocaleString('en')}.`,
      );
    let read = 0;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buffer, read, buffer.length - read, read);
      } catch (error) {
        throw failure(error, 'read');
      }
      if (n === 0) break;
      read += n;
      if (read > KEY_FILE_MAX_BYTES)
        throw new PatchdeckError(
          'bad-request',
          `${name} grew past ${KEY_FILE_MAX_BYTES.toLocaleString('en')} bytes.`,
        );
    }
    const text = buffer.subarray(0, read).toString('utf8');
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
      throw new PatchdeckError(
        'bad-request',
        `${name} is not a private key file (expected a -----BEGIN … PRIVATE KEY----- block; a .pub file is the public half).`,
      );
    return text;
  } finally {
    buffer.fill(0);
    fs.closeSync(fd);
  }
}

export function credentialHandlers(core: Core) {
  const db = () => core.requireWorkspace().db;
  /** Key files chosen in the desktop dialog, by one-use id, until credentials.add takes them. */
  const chosenKeys = new Map<string, { text: string; expires: number }>();
  const dropExpired = () => {
    const now = Date.now();
    for (const [id, held] of chosenKeys) if (held.expires <= now) chosenKeys.delete(id);
  };
  return {
    'credentials.list': () => listCredentials(db()),
    'credentials.chooseKeyFile': async () => {
      const platform = core.options.platform;
      if (platform.kind !== 'electron')
        throw new PatchdeckError(
          'unavailable',
          'A file dialog exists only in the desktop app; in a browser, choose the key file with the file field.',
        );
      const file = await platform.chooseFileToOpen({ title: 'Choose a private key file' });
      if (!file) return { cancelled: true, fileId: null, fileName: null };
      const text = readKeyFile(file);
      dropExpired();
      while (chosenKeys.size >= KEY_FILES_HELD) chosenKeys.delete(chosenKeys.keys().next().value!);
      const fileId = randomUUID();
      chosenKeys.set(fileId, { text, expires: Date.now() + KEY_FILE_TTL_MS });
      return { cancelled: false, fileId, fileName: path.basename(file) };
    },
    'credentials.add': async ({
      keyFileId,
      ...input
    }: Parameters<typeof addCredential>[2] & { keyFileId?: string }) => {
      if (keyFileId !== undefined) {
        if (input.kind !== 'key' || input.secret !== undefined)
          throw new PatchdeckError(
            'bad-request',
            'A key file goes with a private-key credential, in place of a pasted key.',
          );
        dropExpired();
        const held = chosenKeys.get(keyFileId);
        if (!held)
          throw new PatchdeckError(
            'bad-request',
            'That key file choice has expired or was used; choose the file again.',
          );
        chosenKeys.delete(keyFileId);
        input = { ...input, secret: held.text };
      }
      const created = await addCredential(db(), core.options.platform.secrets, input);
      appendAuditLog(db(), {
        actor: readSettings(db()).operatorName,
        action: 'credential.add',
        entityType: 'credential',
        entityId: created.id,
        details: {
          name: created.name,
          username: created.username,
          kind: created.kind,
          scope: created.scope,
          trustOnFirstUse: created.trustOnFirstUse,
        },
      });
      core.events.emit('entity.changed', { entity: 'credentials' });
      return created;
    },
    'credentials.remove': ({ id }: { id: number }) => {
      const removed = deleteCredential(db(), id);
      if (removed) {
        appendAuditLog(db(), {
          actor: readSettings(db()).operatorName,
          action: 'credential.remove',
          entityType: 'credential',
          entityId: id,
        });
        core.events.emit('entity.changed', { entity: 'credentials' });
      }
      return { removed };
    },
    'credentials.test': async ({ id, hostId }: { id: number; hostId: number }) => {
      const credential = getCredentialSummary(db(), id);
      const host = getHost(db(), hostId);
      if (!credential || !host)
        throw new PatchdeckError('not-found', 'That credential or host does not exist.');
      const settings = readSettings(db());
      try {
        const session = await connectHost(
          { db: db(), secrets: core.options.platform.secrets, actor: settings.operatorName },
          host,
          { credential, timeoutMs: 20_000 },
        );
        try {
          let sudo: boolean | null = null;
          try {
            await session.run('true', { sudo: true, timeoutMs: 15_000 });
            sudo = true;
          } catch (error) {
            if (error instanceof RemoteError && error.kind.startsWith('sudo')) sudo = false;
            else throw error;
          }
          return {
            ok: true,
            sudo,
            message: sudo
              ? `Logged in to ${host.name} as ${credential.username}; sudo works.`
              : `Logged in to ${host.name} as ${credential.username}, but sudo does not work for this user.`,
          };
        } finally {
          session.close();
        }
      } catch (error) {
        if (error instanceof RemoteError) return { ok: false, sudo: null, message: error.message };
        throw error;
      }
    },
  };
}
