import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, userDataDir } from '../util';

/** How many workspaces the recent list keeps (the oldest fall off). */
export const RECENT_LIMIT = 20;
/** A recent list bigger than this is not read (it cannot be one Patchdeck wrote). */
export const RECENT_FILE_MAX_BYTES = 256 * 1024;
const PATH_MAX = 4096;

/** One workspace opened on this machine: where it is, its site name when last seen, and when. */
export interface RecentEntry {
  path: string;
  siteName: string;
  lastOpenedAt: string;
}

export interface RecentRead {
  entries: RecentEntry[];
  /** Why the file could not be used (damaged, too big, unreadable); the list then starts empty. */
  warning: string | null;
}

const Entry = z.object({
  path: z.string().min(1).max(PATH_MAX),
  siteName: z.string().max(1000),
  lastOpenedAt: z.string().max(40),
});
const RecentFile = z.object({ version: z.literal(1), workspaces: z.array(z.unknown()).max(1000) });

/** The recent list's file: `recent-workspaces.json` in the user data folder (PATCHDECK_DATA_DIR in tests). */
export function defaultRecentFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDataDir(env), 'recent-workspaces.json');
}

/**
 * Reads the recent list. Never throws: a missing file is an empty list; a damaged, oversized or
 * unreadable one is an empty list with a warning saying so (the next open writes a good one).
 * Entries that do not parse are dropped one by one; the same path twice keeps the newest.
 */
export function readRecent(file: string): RecentRead {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > RECENT_FILE_MAX_BYTES)
      return {
        entries: [],
        warning: `The recent workspaces list ${file} is too big (${size} bytes); starting a new one.`,
      };
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], warning: null };
    return {
      entries: [],
      warning: `The recent workspaces list ${file} could not be read; starting a new one.`,
    };
  }
  let parsed: z.infer<typeof RecentFile>;
  try {
    parsed = RecentFile.parse(JSON.parse(text));
  } catch {
    return { entries: [], warning: `The recent workspaces list ${file} is damaged; starting a new one.` };
  }
  const entries: RecentEntry[] = [];
  const seen = new Set<string>();
  for (const raw of parsed.workspaces) {
    const entry = Entry.safeParse(raw);
    if (!entry.success || !path.isAbsolute(entry.data.path) || seen.has(entry.data.path)) continue;
    seen.add(entry.data.path);
    entries.push(entry.data);
  }
  entries.sort((a, b) => (a.lastOpenedAt < b.lastOpenedAt ? 1 : a.lastOpenedAt > b.lastOpenedAt ? -1 : 0));
  return { entries: entries.slice(0, RECENT_LIMIT), warning: null };
}

/** Writes the list whole: a private temp file beside it, then a rename, so a crash leaves the old or the new list. */
export function writeRecent(file: string, entries: readonly RecentEntry[]): void {
  ensurePrivateDir(path.dirname(file));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const body = `${JSON.stringify({ version: 1, workspaces: entries.slice(0, RECENT_LIMIT) }, null, 2)}\n`;
  try {
    fs.writeFileSync(tmp, body, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** Puts `entry` first (replacing the same path), keeps at most RECENT_LIMIT, and writes the list. */
export function recordRecent(file: string, entry: RecentEntry): RecentRead {
  const current = readRecent(file);
  const entries = [entry, ...current.entries.filter((e) => e.path !== entry.path)].slice(0, RECENT_LIMIT);
  writeRecent(file, entries);
  return { entries, warning: current.warning };
}

/** Changes the site name kept for `workspacePath`, when the list has it. */
export function renameRecent(file: string, workspacePath: string, siteName: string): void {
  const current = readRecent(file);
  if (!current.entries.some((e) => e.path === workspacePath)) return;
  writeRecent(
    file,
    current.entries.map((e) => (e.path === workspacePath ? { ...e, siteName } : e)),
  );
}
