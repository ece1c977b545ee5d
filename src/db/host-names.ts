import net from 'node:net';
import type { Database } from 'better-sqlite3';
import { HostNameSource } from '../api';
import { isValidHostName } from '../util';

/**
 * Where a host's display name came from. A name from a higher-ranked source replaces one from a
 * lower-ranked (or the same) source; nothing replaces a name an admin gave.
 *
 *   admin        typed by an admin (Add host, renaming the host)
 *   audit        the host's own hostname, read by an SSH audit (`uname -n`, %COMPUTERNAME%)
 *   target       the DNS name the admin scanned (a scan target given by name)
 *   netbios      the NetBIOS name a Windows or Samba host answers with (UDP 137)
 *   mdns         a name the host announces over multicast DNS (Bonjour/Avahi)
 *   ptr          reverse DNS (the PTR record of its address)
 *   certificate  the subject of the TLS certificate it presents
 *   scan         found by a scan of an earlier Patchdeck version, source not recorded
 *   address      no name known: the host is shown by its address
 */
export const NAME_SOURCES = HostNameSource.options;
export type NameSource = (typeof NAME_SOURCES)[number];

/** Higher is better; `admin` is never replaced. */
export function nameRank(source: NameSource): number {
  return NAME_SOURCES.length - NAME_SOURCES.indexOf(source);
}

/** Whether a name learned from `incoming` may replace the current one from `current`. */
export function mayReplaceName(current: NameSource, incoming: NameSource): boolean {
  if (current === 'admin' || incoming === 'address') return false;
  return nameRank(incoming) >= nameRank(current);
}

const PLACEHOLDER_NAMES = new Set(['localhost', 'localhost.localdomain', 'localdomain', '(none)', 'unknown']);
const NETBIOS_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,14}$/u;

/**
 * A name a remote host told us (its hostname, a NetBIOS or mDNS answer, a PTR record) in the form
 * Patchdeck may show it, or null when it is not a usable name: names are untrusted input, so
 * only plain host names are kept (RFC 1123 labels, at most 253 characters; NetBIOS names at most
 * 15 characters), never an address literal, a placeholder such as "localhost", or anything with
 * spaces, control characters or markup. A trailing dot is dropped; `.local` mDNS names are kept.
 */
export function learnableName(raw: string, source: NameSource): string | null {
  if (typeof raw !== 'string' || raw.length > 300) return null;
  const name = raw.trim().replace(/\.$/u, '');
  if (name.length === 0 || name.length > 253) return null;
  if (net.isIP(name) !== 0 || /^[0-9.]+$/u.test(name)) return null;
  if (PLACEHOLDER_NAMES.has(name.toLowerCase())) return null;
  if (source === 'netbios') return NETBIOS_NAME.test(name) ? name : null;
  return isValidHostName(name) ? name : null;
}

/**
 * Whether another host already shows `name` (compared without case: DNS and NetBIOS names are
 * case-insensitive). A learned name is not given to a second host: two hosts answering to one
 * name would make every command that names hosts ambiguous, and a machine could borrow the
 * name of one it wants to be mistaken for. Such a host keeps its current name (e.g. its address).
 */
export function nameUsedByOtherHost(db: Database, name: string, hostId: number | null): boolean {
  return (
    db
      .prepare('SELECT 1 FROM hosts WHERE name = ? COLLATE NOCASE AND id IS NOT ? LIMIT 1')
      .get(name, hostId) !== undefined
  );
}
