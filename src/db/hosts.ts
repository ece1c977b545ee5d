import net from 'node:net';
import type { Database } from 'better-sqlite3';
import type { Host, HostUpdate } from '../api';
import { appendAuditLog } from './audit-log';
import { learnableName, mayReplaceName, nameUsedByOtherHost, type NameSource } from './host-names';
import { hostKeyTrust, hostKeyTrustAll } from './host-keys';
import { coverageHolds, listCompletedCoverage, type ScanCoverage } from './scans';
import { readSettings } from './settings';
import { now, parseJsonArray } from './time';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';

type Row = Record<string, unknown>;

/**
 * What "new" and "not seen in last scan" are measured against: the completed scans that recorded
 * which addresses they covered. A cancelled, failed or interrupted scan only ever says "seen".
 */
type ScanView = { scanId: number; coverage: ScanCoverage }[];

/** The newest completed scan whose coverage holds the address, or null. */
function lastCoveringScan(view: ScanView, address: string | null): number | null {
  if (address === null) return null;
  for (const scan of view) if (coverageHolds(scan.coverage, address)) return scan.scanId;
  return null;
}

/**
 * - seenInLastScan: null when no scan ever looked for the host; false only when the newest
 *   completed scan that covered its address did not find it; true when a scan at least that
 *   recent (of any status) found it.
 * - isNew: found by a scan, no later completed scan covered it since, and nobody has dealt with
 *   it yet: no successful audit, no trusted key. Audit it or trust its key and "new" clears.
 */
function scanState(
  db: Database,
  row: Row,
  view: ScanView,
  keyTrust: Host['keyTrust'],
  audited?: boolean,
): { isNew: boolean; seenInLastScan: boolean | null } {
  const lastSeenBy = (row.last_scan_id as number | null) ?? null;
  const firstSeenBy = (row.first_scan_id as number | null) ?? null;
  const covering = lastCoveringScan(view, (row.address as string | null) ?? null);
  const seenInLastScan =
    covering === null ? (lastSeenBy === null ? null : true) : lastSeenBy !== null && lastSeenBy >= covering;
  const dealtWith =
    keyTrust === 'trusted' ||
    (audited ??
      db.prepare(`SELECT 1 FROM audits WHERE host_id = ? AND status = 'succeeded' LIMIT 1`).get(row.id) !==
        undefined);
  const isNew = firstSeenBy !== null && (covering === null || covering <= firstSeenBy) && !dealtWith;
  return { isNew, seenInLastScan };
}

/** What listHosts reads for all hosts at once, instead of several queries per host. */
interface HostsPrefetch {
  addresses: Map<number, string[]>;
  services: Map<number, Host['services']>;
  keyTrust: Map<number, Host['keyTrust']>;
  audited: Set<number>;
}

function prefetchHosts(db: Database): HostsPrefetch {
  const addresses = new Map<number, string[]>();
  for (const r of db
    .prepare('SELECT host_id, address FROM host_addresses ORDER BY host_id, last_seen DESC, address')
    .all() as { host_id: number; address: string }[])
    (addresses.get(r.host_id) ?? addresses.set(r.host_id, []).get(r.host_id)!).push(r.address);
  const services = new Map<number, Host['services']>();
  for (const r of db
    .prepare('SELECT host_id, port, state, service, banner FROM host_services ORDER BY host_id, port')
    .all() as ({ host_id: number } & Host['services'][number])[]) {
    const { host_id: hostId, ...service } = r;
    (services.get(hostId) ?? services.set(hostId, []).get(hostId)!).push(service);
  }
  // A host has a successful audit exactly when it has a current one (migration 015).
  const audited = new Set(db.prepare('SELECT host_id FROM current_audits').pluck().all() as number[]);
  return { addresses, services, keyTrust: hostKeyTrustAll(db), audited };
}

function toHost(db: Database, row: Row, view: ScanView, prefetched?: HostsPrefetch): Host {
  const id = row.id as number;
  const addresses = prefetched
    ? (prefetched.addresses.get(id) ?? [])
    : (
        db
          .prepare('SELECT address FROM host_addresses WHERE host_id = ? ORDER BY last_seen DESC, address')
          .all(id) as {
          address: string;
        }[]
      ).map((r) => r.address);
  const services = prefetched
    ? (prefetched.services.get(id) ?? [])
    : (db
        .prepare('SELECT port, state, service, banner FROM host_services WHERE host_id = ? ORDER BY port')
        .all(id) as Host['services']);
  const keyTrust = prefetched ? (prefetched.keyTrust.get(id) ?? 'none') : hostKeyTrust(db, id);
  return {
    id,
    name: row.name as string,
    nameSource: row.name_source as NameSource,
    address: (row.address as string | null) ?? null,
    addresses,
    mac: (row.mac as string | null) ?? null,
    macVendor: (row.mac_vendor as string | null) ?? null,
    osFamily: (row.os_family as Host['osFamily']) ?? null,
    osName: (row.os_name as string | null) ?? null,
    osVersion: (row.os_version as string | null) ?? null,
    osConfidence: (row.os_confidence as number | null) ?? null,
    osEvidence: parseJsonArray(row.os_evidence as string),
    management: parseJsonArray(row.management as string) as Host['management'],
    sshPort: row.ssh_port as number,
    credentialId: (row.credential_id as number | null) ?? null,
    tags: parseJsonArray(row.tags as string),
    notes: row.notes as string,
    inInventory: row.in_inventory === 1,
    offlineOnly: row.offline_only === 1,
    keyTrust,
    firstSeen: (row.first_seen as string | null) ?? null,
    lastSeen: (row.last_seen as string | null) ?? null,
    ...scanState(db, row, view, keyTrust, prefetched?.audited.has(id)),
    services,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}

export function listHosts(db: Database, options: { inventoryOnly?: boolean } = {}): Host[] {
  const view = listCompletedCoverage(db);
  const rows = db
    .prepare(`SELECT * FROM hosts WHERE (@all = 1 OR in_inventory = 1) ORDER BY name COLLATE NOCASE, id`)
    .all({ all: options.inventoryOnly ? 0 : 1 }) as Row[];
  const prefetched = prefetchHosts(db);
  return rows.map((row) => toHost(db, row, view, prefetched));
}

export function getHost(db: Database, id: number): Host | null {
  const row = db.prepare('SELECT * FROM hosts WHERE id = ?').get(id) as Row | undefined;
  return row ? toHost(db, row, listCompletedCoverage(db)) : null;
}

/**
 * Finds a host by its name or one of its addresses (what an admin types on the command line).
 * Names are not unique: a name several hosts answer to is refused (`conflict`, naming their
 * addresses), never resolved to whichever host came first.
 */
export function findHost(db: Database, nameOrAddress: string): Host | null {
  const rows = db
    .prepare(
      `SELECT h.* FROM hosts h WHERE h.name = @q OR h.address = @q
       OR h.id IN (SELECT host_id FROM host_addresses WHERE address = @q) ORDER BY h.id LIMIT 11`,
    )
    .all({ q: nameOrAddress }) as Row[];
  if (rows.length > 1) {
    const candidates = rows
      .slice(0, 10)
      .map((r) => `${typeof r.address === 'string' ? r.address : 'no address'} (id ${Number(r.id)})`)
      .join(', ');
    throw new PatchdeckError(
      'conflict',
      `Several hosts answer to ${sanitizeText(nameOrAddress, { maxLength: 80 })}: ${candidates}${rows.length > 10 ? ', …' : ''}. Choose the host by its address instead.`,
    );
  }
  return rows[0] ? toHost(db, rows[0], listCompletedCoverage(db)) : null;
}

export function insertHost(
  db: Database,
  host: {
    name: string;
    address?: string | null;
    sshPort?: number;
    inInventory?: boolean;
    management?: string[];
    /** Created from an imported file: no connection target until an address is confirmed. */
    offlineOnly?: boolean;
    /**
     * Where the name came from. By default a name typed as an address is 'address' (any learned
     * name replaces it), an imported file's hostname is 'audit', and any other name is 'admin'.
     */
    nameSource?: NameSource;
  },
): Host {
  const at = now();
  const nameSource: NameSource =
    host.nameSource ?? (net.isIP(host.name) ? 'address' : host.offlineOnly ? 'audit' : 'admin');
  const id = Number(
    db
      .prepare(
        `INSERT INTO hosts (name, name_source, address, ssh_port, in_inventory, management, offline_only, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        host.name,
        nameSource,
        host.address ?? null,
        host.sshPort ?? 22,
        host.inInventory === false ? 0 : 1,
        JSON.stringify(host.management ?? []),
        host.offlineOnly ? 1 : 0,
        at,
        at,
      ).lastInsertRowid,
  );
  if (host.address) {
    db.prepare(
      'INSERT INTO host_addresses (host_id, address, first_seen, last_seen) VALUES (?, ?, ?, ?)',
    ).run(id, host.address, at, at);
  }
  return getHost(db, id)!;
}

const COLUMN: Record<keyof HostUpdate, string> = {
  name: 'name',
  address: 'address',
  sshPort: 'ssh_port',
  credentialId: 'credential_id',
  tags: 'tags',
  notes: 'notes',
  inInventory: 'in_inventory',
};

export function updateHost(db: Database, id: number, patch: HostUpdate): Host | null {
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as [keyof HostUpdate, unknown][]) {
    if (value === undefined) continue;
    sets.push(`${COLUMN[key]} = ?`);
    if (key === 'tags') values.push(JSON.stringify(value));
    else if (key === 'inInventory') values.push(value ? 1 : 0);
    else values.push(value);
  }
  // An address the admin typed is the confirmation an imported ("offline only") host waits for.
  const confirms =
    typeof patch.address === 'string' &&
    (
      db.prepare('SELECT offline_only FROM hosts WHERE id = ?').get(id) as
        { offline_only: number } | undefined
    )?.offline_only === 1;
  if (typeof patch.address === 'string') sets.push('offline_only = 0');
  // A name the admin gives is never replaced by a learned one.
  if (typeof patch.name === 'string') sets.push(`name_source = 'admin'`);
  if (sets.length === 0) return getHost(db, id);
  const changed = db.transaction(() => {
    const n = db
      .prepare(`UPDATE hosts SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`)
      .run(...values, now(), id).changes;
    if (n && confirms)
      appendAuditLog(db, {
        actor: readSettings(db).operatorName,
        action: 'host.confirm-address',
        entityType: 'host',
        entityId: id,
        details: { address: patch.address },
      });
    return n;
  })();
  return changed ? getHost(db, id) : null;
}

export function deleteHost(db: Database, id: number): boolean {
  return db.prepare('DELETE FROM hosts WHERE id = ?').run(id).changes > 0;
}

export function countHosts(db: Database): number {
  return (db.prepare('SELECT count(*) AS n FROM hosts').get() as { n: number }).n;
}

/**
 * What a successful SSH audit tells about its host: it was seen (now), and its own hostname,
 * which replaces a name from a lower-ranked source (never an admin's). The hostname is untrusted
 * input and is kept only when it is a plain host name. Returns whether the name changed.
 */
export function recordAuditSighting(
  db: Database,
  hostId: number,
  seen: { hostname: string | null },
): boolean {
  return db.transaction(() => {
    const at = now();
    db.prepare(
      'UPDATE hosts SET last_seen = ?, first_seen = coalesce(first_seen, ?), updated_at = ? WHERE id = ?',
    ).run(at, at, at, hostId);
    const learned = seen.hostname === null ? null : learnableName(seen.hostname, 'audit');
    if (learned === null) return false;
    const row = db.prepare('SELECT name, name_source FROM hosts WHERE id = ?').get(hostId) as
      { name: string; name_source: NameSource } | undefined;
    if (!row || !mayReplaceName(row.name_source, 'audit')) return false;
    if (nameUsedByOtherHost(db, learned, hostId)) return false;
    db.prepare(`UPDATE hosts SET name = ?, name_source = 'audit' WHERE id = ?`).run(learned, hostId);
    return row.name !== learned;
  })();
}
