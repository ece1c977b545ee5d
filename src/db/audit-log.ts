import type { Database } from 'better-sqlite3';
import { now } from './time';

export interface AuditLogEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entityType: string | null;
  entityId: string | null;
  details: Record<string, unknown>;
}

/** Appends one entry. The table's triggers make it impossible to edit or delete entries later. */
export function appendAuditLog(
  db: Database,
  entry: { actor: string; action: string; entityType?: string; entityId?: string | number; details?: object },
): number {
  const result = db
    .prepare(
      'INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .run(
      now(),
      entry.actor,
      entry.action,
      entry.entityType ?? null,
      entry.entityId === undefined ? null : String(entry.entityId),
      JSON.stringify(entry.details ?? {}),
    );
  return Number(result.lastInsertRowid);
}

export function listAuditLog(
  db: Database,
  options: { limit?: number; entityType?: string } = {},
): AuditLogEntry[] {
  const rows = db
    .prepare(
      `SELECT * FROM audit_log WHERE (@entityType IS NULL OR entity_type = @entityType) ORDER BY id DESC LIMIT @limit`,
    )
    .all({ entityType: options.entityType ?? null, limit: options.limit ?? 200 }) as Record<
    string,
    unknown
  >[];
  return rows.map((row) => ({
    id: row.id as number,
    at: row.at as string,
    actor: row.actor as string,
    action: row.action as string,
    entityType: row.entity_type as string | null,
    entityId: row.entity_id as string | null,
    details: JSON.parse(row.details as string) as Record<string, unknown>,
  }));
}
