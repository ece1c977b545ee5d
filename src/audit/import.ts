/**
 * Offline collection: a collected file (the output of the script `patchdeck collect-script`
 * prints) becomes an audit with source 'import', of the host it names or the one given, dated
 * by the host's clock at collection time. The file is untrusted: it never steers a connection.
 */
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { CallResult, ParsedArgs } from '../api';
import type { EventBus } from '../api';
import type { Host } from '../api';
import {
  CollectedOutputError,
  CollectorError,
  decodeCollectedBytes,
  parseCollectedOutput,
  type CollectedOutput,
} from '../collectors';
import {
  appendAuditLog,
  completeAudit,
  findHost,
  getAudit,
  getHost,
  insertHost,
  listAudits,
  readSettings,
  startAudit,
} from '../db';
import { PatchdeckError } from '../util';
import { isValidHostName, sanitizeText } from '../util';
import { toFindings, toWindowsFacts } from './run';
import { enrichAfterAudit } from '../intel';

/** What an import needs of the workspace: its database, and the bus that says what changed. */
export interface ImportDeps {
  db: Database;
  events: EventBus;
}

/** A bad file is the caller's problem (bad-request); the message says what is wrong with it. */
async function readCollection(
  args: ParsedArgs<'audits.import'>,
): Promise<{ collected: CollectedOutput; sha256: string }> {
  try {
    const bytes = args.base64 !== undefined ? Buffer.from(args.base64, 'base64') : null;
    const text = bytes ? decodeCollectedBytes(bytes) : args.text!;
    const sha256 = createHash('sha256')
      .update(bytes ?? Buffer.from(text, 'utf8'))
      .digest('hex');
    return { collected: await parseCollectedOutput(text), sha256 };
  } catch (error) {
    if (error instanceof CollectedOutputError)
      throw new PatchdeckError('bad-request', `Cannot import this collection: ${error.message}`);
    if (error instanceof CollectorError)
      throw new PatchdeckError(
        'bad-request',
        `The collection shows the audit failed on the host: ${error.message}`,
      );
    throw error;
  }
}

/**
 * Imports one collection in one transaction (a failure leaves nothing behind). A host named only
 * by the file is created "offline only", with no address; a collection already imported, or a
 * hostname that is not a host name, is refused.
 */
export async function importCollection(
  deps: ImportDeps,
  args: ParsedArgs<'audits.import'>,
): Promise<CallResult<'audits.import'>> {
  const { db, events } = deps;
  const { collected, sha256 } = await readCollection(args);
  let host: Host | null = null;
  if (args.hostId !== undefined) {
    host = getHost(db, args.hostId);
    if (!host) throw new PatchdeckError('not-found', `Host ${args.hostId} does not exist.`);
  } else if (args.host !== undefined) {
    host = findHost(db, args.host);
    if (!host)
      throw new PatchdeckError(
        'not-found',
        `No host named ${sanitizeText(args.host, { maxLength: 80 })} in this workspace.`,
      );
  } else {
    host = findHost(db, collected.hostname);
    if (!host && !isValidHostName(collected.hostname)) {
      throw new PatchdeckError(
        'bad-request',
        `The collection's hostname “${collected.hostname}” is not a valid host name; import it with a host given.`,
      );
    }
  }
  const previous = host ? listAudits(db, host.id, 500) : [];
  const duplicate = previous.find(
    (a) => a.source === 'import' && a.startedAt === collected.collectedAt && a.status === 'succeeded',
  );
  if (host && duplicate) {
    throw new PatchdeckError(
      'conflict',
      `This collection (${collected.collectedAt}) was already imported for ${host.name} as audit ${duplicate.id}.`,
    );
  }
  const warnings = [...collected.result.warnings];
  if (host && host.name !== collected.hostname && !host.addresses.includes(collected.hostname)) {
    warnings.unshift(`collected on a host calling itself ${collected.hostname}, imported for ${host.name}`);
  }
  if (previous.some((a) => a.status === 'succeeded' && a.startedAt > collected.collectedAt)) {
    warnings.unshift(`${host!.name} has a newer audit than this collection (${collected.collectedAt})`);
  }
  const actor = readSettings(db).operatorName;
  const durationMs = Math.max(0, Date.parse(collected.finishedAt) - Date.parse(collected.collectedAt));
  const created = host === null;
  // One transaction: a failure anywhere leaves no host, audit, finding or log entry behind.
  const { hostId, auditId } = db.transaction(() => {
    // A host named by the file itself gets no connection target: the name came from a file
    // anyone could have written, so it must not steer the next audit (and its password)
    // through DNS. It stays "offline only" until an admin confirms an address.
    const target = host ?? insertHost(db, { name: collected.hostname, address: null, offlineOnly: true });
    const id = startAudit(db, {
      hostId: target.id,
      taskId: null,
      source: 'import',
      refreshed: collected.refreshed,
    });
    completeAudit(db, id, {
      osId: collected.os.id,
      osName: collected.os.name,
      osVersion: collected.os.versionId,
      kernel: collected.os.kernel,
      packageManager: collected.result.packageManager,
      metadataAgeSeconds: collected.result.metadataAgeSeconds,
      rebootRequired: collected.result.rebootRequired,
      warnings,
      durationMs,
      findings: toFindings(collected.result),
      windows: toWindowsFacts(collected.result),
      ...(collected.result.installed ? { installed: collected.result.installed } : {}),
      // The audit is dated by the host's clock at collection time, not by when the file arrived.
      startedAt: collected.collectedAt,
      finishedAt: collected.finishedAt,
    });
    appendAuditLog(db, {
      actor,
      action: 'audit.import',
      entityType: 'audit',
      entityId: id,
      details: {
        hostId: target.id,
        hostName: target.name,
        hostCreated: created,
        collectedHostname: collected.hostname,
        collectedAt: collected.collectedAt,
        packageManager: collected.result.packageManager,
        updates: collected.result.updates.length,
        sha256,
      },
    });
    return { hostId: target.id, auditId: id };
  })();
  enrichAfterAudit(db, auditId); // judged once dated by the host's clock: first sightings follow that date
  if (created) events.emit('entity.changed', { entity: 'hosts', ids: [hostId] });
  events.emit('entity.changed', { entity: 'audits', ids: [hostId] });
  const hostName = getHost(db, hostId)!.name;
  return {
    audit: getAudit(db, auditId)!,
    hostId,
    hostName,
    hostCreated: created,
    collectedHostname: collected.hostname,
    collectedAt: collected.collectedAt,
  };
}
