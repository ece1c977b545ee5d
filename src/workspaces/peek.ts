import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { inspectWorkspaceFile } from '../db';
import { cleanSiteName } from '../db';

/** What the switcher reads of a workspace that is not open: its site name and the networks it knows. */
export interface WorkspacePeek {
  siteName: string | null;
  networks: { gatewayMac: string; gatewayAddress: string | null; firstSeen: string }[];
}

/** At most this many gateway MACs are read from one other workspace. */
const NETWORKS_MAX = 1000;

function hasTable(db: Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Reads another workspace read-only: never migrates it, never marks its jobs, never writes a row
 * (an older workspace without the tables simply knows no site or network). Null when the file is
 * missing, not a Patchdeck workspace, too new, locked or damaged: the switcher then shows what
 * the recent list remembers of it.
 */
export function peekWorkspace(file: string): WorkspacePeek | null {
  let db: Database | null = null;
  try {
    inspectWorkspaceFile(file);
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 1000 });
    const siteName = hasTable(db, 'workspace_meta')
      ? ((db.prepare('SELECT site_name AS s FROM workspace_meta').get() as { s: string } | undefined)?.s ??
        null)
      : null;
    const networks = hasTable(db, 'workspace_networks')
      ? (db
          .prepare(
            `SELECT gateway_mac AS gatewayMac, gateway_address AS gatewayAddress, first_seen AS firstSeen
             FROM workspace_networks
             ORDER BY last_seen DESC LIMIT ${NETWORKS_MAX}`,
          )
          .all() as WorkspacePeek['networks'])
      : [];
    return { siteName: siteName === null ? null : cleanSiteName(siteName), networks };
  } catch {
    return null;
  } finally {
    db?.close();
  }
}
