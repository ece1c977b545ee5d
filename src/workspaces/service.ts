import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { RecentWorkspace, WorkspaceSuggestion } from '../api';
import { readWorkspaceMeta } from '../db';
import type { GatewayReader } from './gateway';
import { peekWorkspace } from './peek';
import { readRecent, type RecentEntry } from './recent';

/** The open workspace as the switcher sees it. */
export interface OpenWorkspace {
  path: string;
  db: Database;
}

function recentEntries(file: string | null): RecentEntry[] {
  return file ? readRecent(file).entries : [];
}

/**
 * The recent list, newest first, with each workspace's site name read from the file itself when
 * it is there (read-only, never migrated), else the name last seen; missing files are marked
 * `exists: false` and the open workspace `current: true` (it is listed even when the list has
 * not recorded it, e.g. with no list file).
 */
export function listRecentWorkspaces(file: string | null, open: OpenWorkspace | null): RecentWorkspace[] {
  const entries = recentEntries(file);
  if (open && !entries.some((e) => e.path === open.path))
    entries.unshift({ path: open.path, siteName: '', lastOpenedAt: new Date().toISOString() });
  return entries.map((entry) => {
    if (open && entry.path === open.path)
      return { ...entry, siteName: readWorkspaceMeta(open.db).siteName, exists: true, current: true };
    const exists = fs.existsSync(entry.path);
    const peek = exists ? peekWorkspace(entry.path) : null;
    return { ...entry, siteName: peek?.siteName ?? entry.siteName, exists, current: false };
  });
}

/**
 * Which workspace this network belongs to: of the workspaces that have seen the current gateway's
 * MAC (the open one and the recent list's others, read-only), the one that saw it first. When
 * that is the open workspace, or none has seen it, there is nothing to suggest. It only reads:
 * nothing is opened, switched or written.
 */
export async function suggestWorkspace(options: {
  recentFile: string | null;
  open: OpenWorkspace | null;
  readGateway: GatewayReader;
}): Promise<WorkspaceSuggestion> {
  const gateway = await options.readGateway();
  if (!gateway) return { suggestion: null, gatewayMac: null };
  const { open } = options;
  const here = open
    ? (open.db
        .prepare('SELECT first_seen AS firstSeen FROM workspace_networks WHERE gateway_mac = ?')
        .get(gateway.mac) as { firstSeen: string } | undefined)
    : undefined;
  let best: (NonNullable<WorkspaceSuggestion['suggestion']> & { firstSeen: string }) | null = null;
  for (const entry of recentEntries(options.recentFile)) {
    if (open && entry.path === open.path) continue;
    if (!fs.existsSync(entry.path)) continue;
    const peek = peekWorkspace(entry.path);
    const seen = peek?.networks.find((n) => n.gatewayMac === gateway.mac);
    if (!peek || !seen) continue;
    if (best && best.firstSeen <= seen.firstSeen) continue;
    best = {
      path: entry.path,
      siteName: peek.siteName || entry.siteName,
      gatewayMac: seen.gatewayMac,
      gatewayAddress: seen.gatewayAddress,
      firstSeen: seen.firstSeen,
    };
  }
  if (!best || (here && here.firstSeen <= best.firstSeen))
    return { suggestion: null, gatewayMac: gateway.mac };
  const { firstSeen: _firstSeen, ...suggestion } = best;
  return { suggestion, gatewayMac: gateway.mac };
}
