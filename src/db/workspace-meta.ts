import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { PatchdeckError } from '../util';
import { now } from './time';

/** What names this workspace for good: its uuid (stable across copies and bundles) and its client's site. */
export interface WorkspaceMeta {
  uuid: string;
  /** The client site's name an admin gave it, or '' when none was given yet. */
  siteName: string;
  createdAt: string;
}

/** The longest site name kept (it is shown in the switcher, on reports and in bundles). */
export const SITE_NAME_MAX = 200;

/**
 * A site name as Patchdeck stores and shows it: control characters (including newlines and
 * bidirectional overrides) become spaces, runs of white space collapse to one, and the result is
 * trimmed. Names come from admins and from imported bundles, so they are treated as untrusted.
 */
export function cleanSiteName(raw: string): string {
  return raw
    .slice(0, SITE_NAME_MAX * 4)
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * The workspace's uuid, site name and creation time (migration 014 writes the row). A workspace
 * whose row is missing (a damaged or hand-edited file) gets a new uuid when it is writable; a
 * read-only handle gets an empty uuid rather than an error.
 */
export function readWorkspaceMeta(db: Database): WorkspaceMeta {
  const select = db.prepare(
    'SELECT uuid, site_name AS siteName, created_at AS createdAt FROM workspace_meta',
  );
  let row = select.get() as WorkspaceMeta | undefined;
  if (!row) {
    if (db.readonly) return { uuid: '', siteName: '', createdAt: '' };
    db.prepare(
      'INSERT OR IGNORE INTO workspace_meta (singleton, uuid, site_name, created_at) VALUES (1, ?, ?, ?)',
    ).run(randomUUID(), '', now());
    row = select.get() as WorkspaceMeta;
  }
  return { uuid: row.uuid, siteName: cleanSiteName(row.siteName), createdAt: row.createdAt };
}

/** Names the workspace's client site ('' clears it); returns the name as stored. */
export function setSiteName(db: Database, name: string): string {
  const clean = cleanSiteName(name);
  if (clean.length > SITE_NAME_MAX) {
    throw new PatchdeckError('bad-request', `A site name has at most ${SITE_NAME_MAX} characters.`);
  }
  readWorkspaceMeta(db);
  db.prepare('UPDATE workspace_meta SET site_name = ? WHERE singleton = 1').run(clean);
  return clean;
}
