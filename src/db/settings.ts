import type { Database } from 'better-sqlite3';
import { DEFAULT_SETTINGS, Settings } from '../api';

/** Reads every setting, falling back to defaults for keys never written or no longer valid. */
export function readSettings(db: Database): Settings {
  const rows = db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const row of rows) {
    if (!(row.key in DEFAULT_SETTINGS)) continue;
    try {
      merged[row.key] = JSON.parse(row.value);
    } catch {
      // A damaged value falls back to its default rather than breaking the whole page.
    }
  }
  const parsed = Settings.safeParse(merged);
  if (parsed.success) return parsed.data;
  const repaired: Record<string, unknown> = { ...merged };
  for (const issue of parsed.error.issues) {
    const key = issue.path[0];
    if (typeof key === 'string') repaired[key] = DEFAULT_SETTINGS[key as keyof Settings];
  }
  return Settings.parse(repaired);
}

/** Validates a partial update against the full schema, then writes it atomically. */
export function writeSettings(db: Database, patch: Partial<Settings>): Settings {
  const next = Settings.parse({ ...readSettings(db), ...patch });
  const upsert = db.prepare(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  );
  db.transaction(() => {
    for (const key of Object.keys(patch) as (keyof Settings)[]) upsert.run(key, JSON.stringify(next[key]));
  })();
  return next;
}
