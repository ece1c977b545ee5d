import type { Migration } from './types';

/**
 * What each scan saw of each host: lets the UI show a scan's results, "new since last scan"
 * and "not seen this scan", and keeps the evidence behind an OS guess.
 */
export const migration002: Migration = {
  version: 2,
  name: 'scan results per host',
  up(db) {
    db.exec(`
      CREATE TABLE scan_hosts (
        scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        open_ports TEXT NOT NULL DEFAULT '[]',
        was_new INTEGER NOT NULL DEFAULT 0,
        result TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (scan_id, host_id)
      ) STRICT;
      CREATE INDEX scan_hosts_host ON scan_hosts(host_id);
      ALTER TABLE hosts ADD COLUMN names TEXT NOT NULL DEFAULT '[]';
    `);
  },
};
