import type { Migration } from './types';

/**
 * Issue 10, identity and scans:
 * - `hosts.name_source`: where a host's display name came from, so a better source may replace
 *   it and an admin's own name is never overwritten. Ranked in src/db/host-names.ts.
 * - `scans.coverage`: the addresses a scan was asked to probe (IPv4 runs and other addresses,
 *   JSON). Only a completed scan whose coverage holds a host's address may call that host "not
 *   seen"; a cancelled or failed one never does. Scans from before this migration have none.
 *
 * Existing names: a host named after one of its addresses keeps that as source 'address' (any
 * learned name replaces it). A scan-created host still carrying a name its scans reported gets
 * 'scan' (learned, source not recorded: a later audit or NetBIOS name may replace it); a scan
 * created it when its first sighting is its creation time (a host typed in by hand has none). Every
 * other name may have been typed by an admin, so it is kept as 'admin'.
 */
export const migration007: Migration = {
  version: 7,
  name: 'host name sources and scan coverage',
  up(db) {
    db.exec(`
      ALTER TABLE hosts ADD COLUMN name_source TEXT NOT NULL DEFAULT 'admin'
        CHECK (name_source IN ('admin','audit','target','netbios','mdns','ptr','certificate','scan','address'));
      ALTER TABLE scans ADD COLUMN coverage TEXT;
    `);
    db.exec(`
      UPDATE hosts SET name_source = 'address'
      WHERE name = address OR EXISTS (SELECT 1 FROM host_addresses a WHERE a.host_id = hosts.id AND a.address = hosts.name)
    `);
    db.exec(`
      UPDATE hosts SET name_source = 'scan'
      WHERE name_source = 'admin' AND first_scan_id IS NOT NULL AND first_seen = created_at
        AND EXISTS (SELECT 1 FROM json_each(hosts.names) n WHERE n.value = hosts.name)
    `);
  },
};
