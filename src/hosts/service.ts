/**
 * The inventory's own rules for adding, changing and removing a host: what a name or an address
 * may be, and that a credential named for a host exists. Each change says the hosts changed.
 */
import net from 'node:net';
import type { Database } from 'better-sqlite3';
import type { CallResult, ParsedArgs } from '../api';
import type { EventBus } from '../api';
import type { Host } from '../api';
import { deleteHost, getCredentialSummary, getHost, insertHost, updateHost } from '../db';
import { PatchdeckError } from '../util';
import { hostAddressProblem } from '../util';

/** What the inventory needs of the workspace: its database, and the bus that says hosts changed. */
export interface HostDeps {
  db: Database;
  events: EventBus;
}

/** The host with this id, or a not-found error naming the id. */
export function requireHost(db: Database, id: number): Host {
  const host = getHost(db, id);
  if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
  return host;
}

/** Adds a host by name (which may be an address too, then a valid one) and optional address. */
export function addHost(
  deps: HostDeps,
  { name, address, sshPort }: ParsedArgs<'hosts.add'>,
): CallResult<'hosts.add'> {
  const nameProblem = hostAddressProblem(name);
  if (nameProblem) throw new PatchdeckError('bad-request', `Host name: ${nameProblem}`);
  const addressProblem = address === undefined ? null : hostAddressProblem(address);
  if (addressProblem) throw new PatchdeckError('bad-request', `Address: ${addressProblem}`);
  const host = insertHost(deps.db, { name, address: address ?? (net.isIP(name) ? name : null), sshPort });
  deps.events.emit('entity.changed', { entity: 'hosts', ids: [host.id] });
  return host;
}

/** Changes a host; a credential it names must exist, an address must be a valid one. */
export function changeHost(
  deps: HostDeps,
  { id, patch }: ParsedArgs<'hosts.update'>,
): CallResult<'hosts.update'> {
  // Checked here, not left to the foreign key: that would surface as an internal error.
  if (typeof patch.credentialId === 'number' && !getCredentialSummary(deps.db, patch.credentialId))
    throw new PatchdeckError('not-found', `Credential ${patch.credentialId} does not exist.`);
  const addressProblem = typeof patch.address === 'string' ? hostAddressProblem(patch.address) : null;
  if (addressProblem) throw new PatchdeckError('bad-request', `Address: ${addressProblem}`);
  const host = updateHost(deps.db, id, patch);
  if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
  deps.events.emit('entity.changed', { entity: 'hosts', ids: [id] });
  return host;
}

/** Removes a host; says whether there was one. */
export function removeHost(deps: HostDeps, { id }: ParsedArgs<'hosts.remove'>): CallResult<'hosts.remove'> {
  const removed = deleteHost(deps.db, id);
  if (removed) deps.events.emit('entity.changed', { entity: 'hosts', ids: [id] });
  return { removed };
}
