import type { Database } from 'better-sqlite3';
import type { ExceptionInput, FindingExceptionRecord } from '../api';
import { appendAuditLog, getHost } from '../db';
import {
  countCoveredFindings,
  getException,
  insertException,
  listExceptions,
  markExceptionRemoved,
  type ExceptionRow,
} from '../db';
import { PatchdeckError, type Clock } from '../util';

/**
 * Exceptions: an admin accepts a risk (the finding stops counting as open or overdue) or defers it
 * (its due date moves to the exception's expiry), for one finding, a CVE, a package or a host ×
 * package, with a reason, an owner and an expiry. Added and removed through here only, so that
 * each change is in the audit log with who did it and why. An expired exception stops applying
 * by itself: the queries compare its expiry with the time they are asked at.
 */

const iso = (clock: Clock): string => new Date(clock.now()).toISOString();

export function exceptionState(row: ExceptionRow, now: string): FindingExceptionRecord['state'] {
  if (row.removedAt !== null) return 'removed';
  return row.expiresAt > now ? 'active' : 'expired';
}

export function toExceptionRecord(db: Database, row: ExceptionRow, now: string): FindingExceptionRecord {
  return { ...row, state: exceptionState(row, now), findings: countCoveredFindings(db, row.id, now) };
}

export function listFindingExceptions(
  db: Database,
  clock: Clock,
  options: { includeInactive?: boolean; hostId?: number } = {},
): FindingExceptionRecord[] {
  const now = iso(clock);
  return listExceptions(db, { now, ...options }).map((row) => toExceptionRecord(db, row, now));
}

export function addFindingException(
  db: Database,
  input: ExceptionInput,
  ctx: { clock: Clock; actor: string },
): FindingExceptionRecord {
  const now = iso(ctx.clock);
  const expiresMs = Date.parse(input.expiresAt);
  if (!Number.isFinite(expiresMs)) throw new PatchdeckError('bad-request', 'The expiry is not a date.');
  const expiresAt = new Date(expiresMs).toISOString();
  if (expiresAt <= now) throw new PatchdeckError('bad-request', 'The expiry must be in the future.');
  let hostId: number | null = input.hostId ?? null;
  let pkg: string | null = input.package ?? null;
  let availableVersion: string | null = null;
  let cve: string | null = input.cve ? input.cve.toUpperCase() : null;
  if (input.findingId !== undefined) {
    const f = db
      .prepare('SELECT host_id, package, available_version FROM findings WHERE id = ?')
      .get(input.findingId) as { host_id: number; package: string; available_version: string } | undefined;
    if (!f) throw new PatchdeckError('not-found', `There is no finding ${input.findingId}.`);
    hostId ??= f.host_id;
    pkg ??= f.package;
    availableVersion = f.available_version;
  }
  switch (input.scope) {
    case 'finding':
      if (input.findingId === undefined)
        throw new PatchdeckError('bad-request', 'An exception for one finding names that finding.');
      cve = null;
      break;
    case 'cve':
      if (!cve) throw new PatchdeckError('bad-request', 'An exception for a CVE names the CVE.');
      hostId = null;
      pkg = null;
      availableVersion = null;
      break;
    case 'package':
      if (!pkg) throw new PatchdeckError('bad-request', 'An exception for a package names the package.');
      hostId = null;
      availableVersion = null;
      cve = null;
      break;
    case 'host-package':
      if (hostId === null || !pkg)
        throw new PatchdeckError(
          'bad-request',
          'An exception for a host × package names the host and the package.',
        );
      availableVersion = null;
      cve = null;
      break;
  }
  if (hostId !== null && !getHost(db, hostId))
    throw new PatchdeckError('not-found', `There is no host ${hostId}.`);
  const id = db.transaction(() => {
    const newId = insertException(db, {
      scope: input.scope,
      decision: input.decision,
      hostId,
      package: pkg,
      availableVersion,
      cve,
      reason: input.reason,
      owner: input.owner,
      expiresAt,
      createdAt: now,
      createdBy: ctx.actor,
    });
    appendAuditLog(db, {
      actor: ctx.actor,
      action: 'exception.added',
      entityType: 'exception',
      entityId: newId,
      details: {
        scope: input.scope,
        decision: input.decision,
        hostId,
        package: pkg,
        availableVersion,
        cve,
        reason: input.reason,
        owner: input.owner,
        expiresAt,
      },
    });
    return newId;
  })();
  return toExceptionRecord(db, getException(db, id)!, now);
}

export function removeFindingException(
  db: Database,
  id: number,
  ctx: { clock: Clock; actor: string; reason?: string },
): boolean {
  const row = getException(db, id);
  if (!row) throw new PatchdeckError('not-found', `There is no exception ${id}.`);
  const now = iso(ctx.clock);
  return db.transaction(() => {
    if (!markExceptionRemoved(db, id, now, ctx.actor)) return false;
    appendAuditLog(db, {
      actor: ctx.actor,
      action: 'exception.removed',
      entityType: 'exception',
      entityId: id,
      details: {
        scope: row.scope,
        decision: row.decision,
        hostId: row.hostId,
        package: row.package,
        cve: row.cve,
        reason: ctx.reason ?? null,
        owner: row.owner,
        expiresAt: row.expiresAt,
      },
    });
    return true;
  })();
}
