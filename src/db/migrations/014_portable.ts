import { randomUUID } from 'node:crypto';
import type { Migration } from './types';

/**
 * Issue 14: reports, the portable audit bundle, workspaces as clients and the Ansible hand-off.
 *
 * - `workspace_meta`: one row naming this workspace for good (a random `uuid`, so that a bundle
 *   from it is recognised wherever it is imported) and the client's site name the switcher shows.
 * - `workspace_networks`: the gateway MACs seen while this workspace was open, so that joining
 *   that network again suggests this client's workspace (it only suggests).
 * - `bundle_imports`: each portable bundle merged in, by its sha256 (a second import of the same
 *   file changes nothing), with the workspace it came from and what it added.
 * - `bundle_records`: which local row each record of another workspace became (by that
 *   workspace's uuid, the entity and its id there), so that a newer bundle from the same site
 *   adds only what is new and never duplicates a host, audit, job or log entry.
 * - `patch_jobs.handed_off_to`/`handed_off_at`: an approved job exported as an Ansible playbook;
 *   Patchdeck no longer starts it itself, and its steps come from the run's imported results.
 */
export const migration014: Migration = {
  version: 14,
  name: 'portable',
  up(db) {
    db.exec(`
      CREATE TABLE workspace_meta (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        uuid TEXT NOT NULL,
        site_name TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE workspace_networks (
        gateway_mac TEXT PRIMARY KEY,
        gateway_address TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
      ) STRICT;

      CREATE TABLE bundle_imports (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        origin_workspace TEXT NOT NULL,
        origin_site TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        imported_by TEXT NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}'
      ) STRICT;

      CREATE TABLE bundle_records (
        origin_workspace TEXT NOT NULL,
        entity TEXT NOT NULL,
        origin_id TEXT NOT NULL,
        local_id INTEGER NOT NULL,
        PRIMARY KEY (origin_workspace, entity, origin_id)
      ) STRICT, WITHOUT ROWID;

      ALTER TABLE patch_jobs ADD COLUMN handed_off_to TEXT;
      ALTER TABLE patch_jobs ADD COLUMN handed_off_at TEXT;
    `);
    db.prepare(`INSERT INTO workspace_meta (singleton, uuid, created_at) VALUES (1, ?, ?)`).run(
      randomUUID(),
      new Date().toISOString(),
    );
  },
};
