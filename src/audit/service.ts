/**
 * The audit capability's doors for the core: audit hosts as a task, test a credential by
 * logging in, and export the findings as CSV (saved through the platform's dialog on the desktop).
 */
import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { CallResult, ParsedArgs } from '../api';
import type { EventBus } from '../api';
import type { CallContext } from '../api';
import type { Host } from '../api';
import { getCredentialSummary } from '../credentials';
import { getHost, listHosts, readSettings } from '../db';
import type { Platform, SecretBox } from '../platform';
import { RemoteError } from '../remote';
import type { TaskRunner } from '../tasks';
import { PatchdeckError } from '../util';
import { findingsCsv } from './findings-csv';
import { auditHosts, connectHost } from './run';

/** What audits need of the workspace and the platform. */
export interface AuditServiceDeps {
  db: Database;
  tasks: TaskRunner;
  events: EventBus;
  secrets: SecretBox;
}

/**
 * Audits the given hosts (or every inventory host) as one task, with one credential for all or
 * each host's own; answers at once with the task. Each finished host says audits (and, when its
 * key or name changed, hosts) changed; the task concludes with its parts.
 */
export function startAudits(
  deps: AuditServiceDeps,
  { hostIds, credentialId, refresh }: ParsedArgs<'audits.start'>,
): CallResult<'audits.start'> {
  const { db, tasks, events, secrets } = deps;
  const settings = readSettings(db);
  let hosts: Host[];
  if (hostIds && hostIds.length) {
    hosts = hostIds.map((id) => {
      const host = getHost(db, id);
      if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
      return host;
    });
  } else hosts = listHosts(db, { inventoryOnly: true });
  if (hosts.length === 0) throw new PatchdeckError('bad-request', 'There are no hosts to audit.');
  const credential = credentialId ? getCredentialSummary(db, credentialId) : null;
  if (credentialId && !credential)
    throw new PatchdeckError('not-found', `Credential ${credentialId} does not exist.`);
  const title = hosts.length === 1 ? `Audit ${hosts[0]!.name}` : `Audit ${hosts.length} hosts`;
  const { task } = tasks.start(
    { kind: 'audit', title, params: { hostIds: hosts.map((h) => h.id), refresh } },
    async (ctx) => {
      ctx.progress(0, hosts.length, null);
      const outcomes = await auditHosts({ db, secrets, actor: settings.operatorName }, hosts, {
        credential,
        refresh: refresh ?? settings.refreshMetadataBeforeAudit,
        timeoutMs: settings.hostTimeoutSeconds * 1000,
        signal: ctx.signal,
        taskId: ctx.taskId,
        concurrency: settings.auditConcurrency,
        onHostDone: (outcome, done) => {
          ctx.progress(
            done,
            hosts.length,
            outcome.status === 'succeeded'
              ? `${outcome.hostName}: ${outcome.updates} updates`
              : outcome.status === 'skipped'
                ? `${outcome.hostName}: skipped (offline only)`
                : `${outcome.hostName}: ${outcome.errorKind}`,
          );
          events.emit('entity.changed', { entity: 'audits', ids: [outcome.hostId] });
          // A refused key is now awaiting review: the host's key state changed. A successful
          // audit changed its last seen (and maybe its name and "new" badge).
          if (
            outcome.status === 'succeeded' ||
            outcome.errorKind === 'host-key-unknown' ||
            outcome.errorKind === 'host-key-changed'
          )
            events.emit('entity.changed', { entity: 'hosts', ids: [outcome.hostId] });
        },
      });
      const failed = outcomes.filter((o) => o.status === 'failed').length;
      const skipped = outcomes.filter((o) => o.status === 'skipped');
      // Hosts not reached before a cancel count in the total only ("cancelled after 3 of 8").
      ctx.conclude({
        parts: {
          noun: 'host',
          total: hosts.length,
          succeeded: outcomes.filter((o) => o.status === 'succeeded').length,
          failed,
          skipped: skipped.length,
        },
      });
      return {
        audited: outcomes.length - skipped.length,
        failed,
        skipped: skipped.length,
        skippedReasons: skipped.map((o) => o.error),
      };
    },
  );
  return { taskId: task.id, hosts: hosts.length };
}

/** Logs in to the host with the credential and tries sudo; a refused login is an answer, not an error. */
export async function testCredential(
  deps: { db: Database; secrets: SecretBox },
  { id, hostId }: ParsedArgs<'credentials.test'>,
): Promise<CallResult<'credentials.test'>> {
  const { db, secrets } = deps;
  const credential = getCredentialSummary(db, id);
  const host = getHost(db, hostId);
  if (!credential || !host) throw new PatchdeckError('not-found', 'That credential or host does not exist.');
  const settings = readSettings(db);
  try {
    const session = await connectHost({ db: db, secrets, actor: settings.operatorName }, host, {
      credential,
      timeoutMs: 20_000,
    });
    try {
      if (credential.kind === 'windows') {
        // No sudo on Windows: a WinRM session of an administrator is elevated. Ask who we are.
        const who = await session.run('whoami', { timeoutMs: 15_000 });
        if (who.code !== 0)
          return {
            ok: false,
            sudo: null,
            message: `Logged in to ${host.name} over WinRM as ${credential.username}, but the PC did not run a command (exit code ${who.code ?? 'unknown'}).`,
          };
        return {
          ok: true,
          sudo: null,
          message: `Logged in to ${host.name} over WinRM as ${credential.username}; it runs commands.`,
        };
      }
      let sudo: boolean | null = null;
      try {
        await session.run('true', { sudo: true, timeoutMs: 15_000 });
        sudo = true;
      } catch (error) {
        if (error instanceof RemoteError && error.kind.startsWith('sudo')) sudo = false;
        else throw error;
      }
      return {
        ok: true,
        sudo,
        message: sudo
          ? `Logged in to ${host.name} as ${credential.username}; sudo works.`
          : `Logged in to ${host.name} as ${credential.username}, but sudo does not work for this user.`,
      };
    } finally {
      void session.close();
    }
  } catch (error) {
    if (error instanceof RemoteError) return { ok: false, sudo: null, message: error.message };
    throw error;
  }
}

/**
 * The findings matching the query as CSV. In the desktop app (an Electron call on the Electron
 * platform) the core asks where to save and writes the file; elsewhere it returns the text.
 */
export async function exportFindingsCsv(
  deps: { db: Database; platform: Platform },
  query: ParsedArgs<'findings.exportCsv'>,
  carrier: CallContext['carrier'],
): Promise<CallResult<'findings.exportCsv'>> {
  const { db, platform } = deps;
  if (carrier !== 'electron' || platform.kind !== 'electron') {
    const { text, rows, matched } = findingsCsv(db, query);
    return { rows, matched, csv: text, path: null, cancelled: false };
  }
  const file = await platform.chooseFileToSave({
    title: 'Export updates as CSV',
    defaultPath: `patchdeck-updates-${new Date().toISOString().slice(0, 10)}.csv`,
    filters: [{ name: 'CSV', extensions: ['csv'] }],
  });
  if (!file) return { rows: 0, matched: 0, csv: null, path: null, cancelled: true };
  const { text, rows, matched } = findingsCsv(db, query);
  try {
    fs.writeFileSync(file, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new PatchdeckError(
      'unavailable',
      `Could not save the CSV to ${file} (${code}); nothing was exported.`,
    );
  }
  return { rows, matched, csv: null, path: file, cancelled: false };
}
