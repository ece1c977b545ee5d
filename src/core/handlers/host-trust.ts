import { getHost, insertHost, listTrustedKeys, readSettings, trustHostKey } from '../../db';
import { probeHostKey } from '../../remote/host-key-probe';
import { PatchdeckError } from '../../util/errors';
import { isValidHostName } from '../../util/text';
import type { Core } from '../core';
import net from 'node:net';

export function hostTrustHandlers(core: Core) {
  const db = () => core.requireWorkspace().db;
  return {
    'hosts.add': ({ name, address, sshPort }: { name: string; address?: string; sshPort?: number }) => {
      if (!isValidHostName(name) && !net.isIP(name))
        throw new PatchdeckError('bad-request', `“${name.slice(0, 80)}” is not a valid host name.`);
      if (address !== undefined && !net.isIP(address) && !isValidHostName(address))
        throw new PatchdeckError(
          'bad-request',
          `“${address.slice(0, 80)}” is not an IP address or host name.`,
        );
      const host = insertHost(db(), { name, address: address ?? (net.isIP(name) ? name : null), sshPort });
      core.events.emit('entity.changed', { entity: 'hosts', ids: [host.id] });
      return host;
    },
    'hosts.trust': async ({ id, pin, replace }: { id: number; pin: boolean; replace: boolean }) => {
      const host = getHost(db(), id);
      if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
      const pinned = listTrustedKeys(db(), id);
      const key = await probeHostKey(host.address ?? host.name, host.sshPort, {
        label: host.name,
        preferredType: pinned[0]?.type,
      });
      const known = pinned.some((k) => k.fingerprint === key.fingerprint);
      const changed = pinned.length > 0 && !known;
      if (changed && pin && !replace) {
        throw new PatchdeckError(
          'conflict',
          `${host.name} now presents ${key.type} ${key.fingerprint}, not the key trusted before. Re-trust it explicitly (replace) only after checking with the machine’s owner.`,
        );
      }
      if (pin && !known) {
        trustHostKey(db(), {
          hostId: id,
          type: key.type,
          fingerprint: key.fingerprint,
          publicKey: key.publicKey,
          actor: readSettings(db()).operatorName,
          replace,
        });
        core.events.emit('entity.changed', { entity: 'hosts', ids: [id] });
      }
      return { type: key.type, fingerprint: key.fingerprint, pinned: pin || known, changed };
    },
    'hosts.keys': ({ id }: { id: number }) => listTrustedKeys(db(), id),
  };
}
