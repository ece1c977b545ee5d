import { connectHost } from '../../audit';
import { addCredential, deleteCredential, getCredentialSummary, listCredentials } from '../../credentials';
import { getHost } from '../../db';
import { appendAuditLog } from '../../db/audit-log';
import { readSettings } from '../../db/settings';
import { RemoteError } from '../../remote/errors';
import { PatchdeckError } from '../../util/errors';
import type { Core } from '../core';

export function credentialHandlers(core: Core) {
  const db = () => core.requireWorkspace().db;
  return {
    'credentials.list': () => listCredentials(db()),
    'credentials.add': async (input: Parameters<typeof addCredential>[2]) => {
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
