import type { Database } from 'better-sqlite3';
import type { ReportRequest } from '../api';
import { PatchdeckError, type Clock } from '../util';

/**
 * What both reports are built from: the period (whole UTC days, `to` included) and the hosts,
 * resolved once so that every figure of a report uses the same bounds.
 */
export interface ReportRange {
  /** YYYY-MM-DD, first day. */
  from: string;
  /** YYYY-MM-DD, last day (included). */
  to: string;
  /** ISO instant of `from` 00:00:00.000Z: rows at or after it are in the period. */
  fromIso: string;
  /** ISO instant of the day after `to`, 00:00:00.000Z: rows before it are in the period. */
  untilIso: string;
  /** The hosts asked for, or null for every host in the inventory. */
  hostIds: number[] | null;
  /**
   * The hosts the report covers, ascending: `hostIds` when given (a host chosen by id whatever its
   * inventory flag), else the inventory (hosts.in_inventory = 1), as the Reports and Hosts pages
   * count them; hosts only discovered on the network are left out.
   */
  hostScope: number[];
}

/** The report's hosts as the JSON array its SQL reads with json_each(@hosts). */
export const hostsParam = (range: Pick<ReportRange, 'hostScope'>): string => JSON.stringify(range.hostScope);

/** Who made the report, when, from what: printed in every report's footer and kept in its JSON. */
export interface ReportMeta {
  generatedAt: string;
  generatedBy: string;
  siteName: string;
  workspacePath: string;
  patchdeckVersion: string;
}

const DAY_MS = 86_400_000;
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The request's period and hosts as a range: default `to` today, `from` 30 days before it; a
 * period that ends before it starts, or longer than ten years, is refused with a sentence.
 */
export function resolveRange(
  db: Database,
  request: Pick<ReportRequest, 'from' | 'to' | 'hostIds'>,
  clock: Clock,
): ReportRange {
  const to = request.to ?? day(clock.now());
  const toMs = Date.parse(`${to}T00:00:00.000Z`);
  if (!Number.isFinite(toMs))
    throw new PatchdeckError('bad-request', `The report's end date ${to} is not a date.`);
  const from = request.from ?? day(toMs - 30 * DAY_MS);
  const fromMs = Date.parse(`${from}T00:00:00.000Z`);
  if (!Number.isFinite(fromMs))
    throw new PatchdeckError('bad-request', `The report's start date ${from} is not a date.`);
  if (fromMs > toMs)
    throw new PatchdeckError('bad-request', `The report's period starts (${from}) after it ends (${to}).`);
  if (toMs - fromMs > 3660 * DAY_MS)
    throw new PatchdeckError('bad-request', 'A report covers at most ten years.');
  let hostIds: number[] | null = null;
  if (request.hostIds) {
    hostIds = [...new Set(request.hostIds)].sort((a, b) => a - b);
    const known = new Set(
      (db.prepare('SELECT id FROM hosts').all() as { id: number }[]).map((row) => row.id),
    );
    const missing = hostIds.filter((id) => !known.has(id));
    if (missing.length)
      throw new PatchdeckError(
        'not-found',
        `No host with id ${missing.slice(0, 5).join(', ')} in this workspace.`,
      );
  }
  const hostScope =
    hostIds ??
    (db.prepare('SELECT id FROM hosts WHERE in_inventory = 1 ORDER BY id').all() as { id: number }[]).map(
      (row) => row.id,
    );
  return {
    from,
    to,
    fromIso: new Date(fromMs).toISOString(),
    untilIso: new Date(toMs + DAY_MS).toISOString(),
    hostIds,
    hostScope,
  };
}
