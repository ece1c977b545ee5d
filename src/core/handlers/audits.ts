import fs from 'node:fs';
import { auditHosts, findingsCsv } from '../../audit';
import { getCredentialSummary } from '../../credentials';
import {
  diffWithPrevious,
  findingFacets,
  getHost,
  latestAudits,
  listAudits,
  listHosts,
  queryFindingGroups,
  queryFindings,
  readSettings,
} from '../../db';
import type { FindingRecord } from '../../db/audits';
import type { Host } from '../../api/schemas';
import type { CallContext } from '../../api/router';
import { PatchdeckError } from '../../util/errors';
import type { Core } from '../core';

const withoutHostName = (f: FindingRecord) => f;

export function auditHandlers(core: Core) {
  const ws = () => core.requireWorkspace();
  return {
    'audits.start': ({
      hostIds,
      credentialId,
      refresh,
    }: {
      hostIds?: number[];
      credentialId?: number;
      refresh?: boolean;
    }) => {
      const { db, tasks } = ws();
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
          const outcomes = await auditHosts(
            { db, secrets: core.options.platform.secrets, actor: settings.operatorName },
            hosts,
            {
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
                core.events.emit('entity.changed', { entity: 'audits', ids: [outcome.hostId] });
                // A refused key is now awaiting review: the host's key state changed. A successful
                // audit changed its last seen (and maybe its name and "new" badge).
                if (
                  outcome.status === 'succeeded' ||
                  outcome.errorKind === 'host-key-unknown' ||
                  outcome.errorKind === 'host-key-changed'
                )
                  core.events.emit('entity.changed', { entity: 'hosts', ids: [outcome.hostId] });
              },
            },
          );
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
    },
    'audits.forHost': ({ hostId, limit }: { hostId: number; limit?: number }) =>
      listAudits(ws().db, hostId, limit),
    'audits.latest': () => latestAudits(ws().db),
    'audits.diff': ({ auditId }: { auditId: number }) => {
      const diff = diffWithPrevious(ws().db, auditId);
      return {
        ...diff,
        added: diff.added.map(withoutHostName),
        resolved: diff.resolved.map(withoutHostName),
        unchanged: diff.unchanged.map(withoutHostName),
      };
    },
    'findings.query': (query: Parameters<typeof queryFindings>[1]) => queryFindings(ws().db, query),
    'findings.groups': (query: Parameters<typeof queryFindingGroups>[1]) =>
      queryFindingGroups(ws().db, query),
    'findings.facets': () => findingFacets(ws().db),
    'findings.exportCsv': async (
      query: Parameters<typeof findingsCsv>[1],
      ctx: CallContext,
    ): Promise<{
      rows: number;
      matched: number;
      csv: string | null;
      path: string | null;
      cancelled: boolean;
    }> => {
      const { db } = ws();
      const platform = core.options.platform;
      if (ctx.carrier !== 'electron' || platform.kind !== 'electron') {
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
    },
  };
}
