import type { Command } from 'commander';
import type { Audit, Finding, Host } from '../api';
import type { Core } from '../core';
import { FINDINGS_CSV_COLUMNS, findingCsvRow } from '../audit';
import { csvLine } from '../util';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';
import { resolveHosts } from './commands-audit';
import type { GlobalOptions, WithCore } from './context';
import { formatTable, printJson } from './output';

/** The OS the audit saw, in the words of the window's export ("Debian GNU/Linux 12"). */
function osLabel(audit: Audit | undefined): string | null {
  if (!audit?.osName) return null;
  if (!audit.osVersion || audit.osName.includes(audit.osVersion)) return audit.osName;
  return `${audit.osName} ${audit.osVersion}`;
}

/** The most findings one call returns (the contract's page limit). */
const PAGE = 1000;

/**
 * Every current finding (from each host's newest successful audit) in the core's "security
 * first" order: security fixes, then by severity, then the rest. Page by page, so each page is
 * handed on before the next is asked for.
 */
async function* currentFindings(
  core: Core,
  filter: { securityOnly: boolean; hostId?: number },
): AsyncGenerator<Finding[]> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await core.call('findings.query', {
      offset,
      limit: PAGE,
      sort: 'security',
      direction: 'asc',
      ...(filter.securityOnly ? { securityOnly: true } : {}),
      ...(filter.hostId !== undefined ? { hostId: filter.hostId } : {}),
    });
    if (page.rows.length) yield page.rows;
    if (page.rows.length < PAGE || offset + page.rows.length >= page.total) return;
  }
}

function advisoriesCell(advisories: string[]): string {
  if (advisories.length <= 3) return advisories.join(' ');
  return `${advisories.slice(0, 3).join(' ')} +${advisories.length - 3}`;
}

export function registerFindingsCommand(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  program
    .command('findings [hosts...]')
    .description(
      'every pending update from the latest audits, security first (all inventory hosts when none are named)',
    )
    .option('--security-only', 'only security updates')
    .option('--csv', 'print CSV for a spreadsheet (every cell quoted, formula-safe)')
    .action(async (names: string[], opts: { securityOnly?: boolean; csv?: boolean }) => {
      if (opts.csv && globals().json)
        throw new PatchdeckError('bad-request', 'Choose one of --json and --csv.');
      await withCore(globals(), async (core) => {
        const targets = resolveHosts(core, names, await core.call('hosts.list', {}));
        const byId = new Map<number, Host>(targets.map((h) => [h.id, h]));
        const filter = {
          securityOnly: Boolean(opts.securityOnly),
          // One named host: let SQL narrow it; several: one pass over everything, kept in order.
          hostId: targets.length === 1 ? targets[0]!.id : undefined,
        };
        const latest = new Map((await core.call('audits.latest', {})).map((a) => [a.hostId, a]));
        // Hosts whose updates are missing or not from their latest audit: said, never hidden.
        const notes: string[] = [];
        for (const host of targets) {
          const audit = latest.get(host.id);
          if (host.offlineOnly && !audit)
            notes.push(`${host.name}: offline only, no collection imported yet`);
          else if (!audit) notes.push(`${host.name}: not audited yet (patchdeck audit ${host.name})`);
          else if (audit.status !== 'succeeded')
            notes.push(
              `${host.name}: its latest audit ${audit.status}${audit.errorMessage ? ` (${audit.errorMessage.replace(/\.$/, '')})` : ''}; updates listed for it, if any, are from its last successful audit`,
            );
        }
        const printNotes = (): void => {
          for (const note of notes) process.stderr.write(`${sanitizeText(note, { maxLength: 400 })}\n`);
        };

        if (opts.csv) {
          // Streamed: a spreadsheet export of a big site never sits in memory whole.
          process.stdout.write(csvLine(FINDINGS_CSV_COLUMNS));
          for await (const page of currentFindings(core, filter))
            for (const f of page) {
              const host = byId.get(f.hostId);
              if (host)
                process.stdout.write(
                  findingCsvRow({ ...f, hostAddress: host.address, os: osLabel(latest.get(f.hostId)) }),
                );
            }
          printNotes();
          return;
        }

        const rows: Finding[] = [];
        for await (const page of currentFindings(core, filter))
          for (const f of page) if (byId.has(f.hostId)) rows.push(f);
        if (globals().json) {
          printJson(rows);
          printNotes();
          return;
        }
        const security = rows.filter((f) => f.security).length;
        const hosts = new Set(rows.map((f) => f.hostId)).size;
        if (rows.length === 0) {
          process.stdout.write(
            opts.securityOnly ? 'No pending security updates.\n' : 'No pending updates.\n',
          );
        } else {
          // A Windows PC's rows are KBs with their titles and categories, not packages and versions.
          const kbs = rows.filter((f) => f.kind === 'kb').length;
          const words =
            kbs === 0
              ? ['package', 'available', 'repository']
              : kbs === rows.length
                ? ['KB', 'title', 'categories']
                : ['package / KB', 'available / title', 'repository / categories'];
          process.stdout.write(
            `${formatTable(
              [
                'host',
                words[0]!,
                'arch',
                'installed',
                words[1]!,
                'security',
                'severity',
                'advisories',
                words[2]!,
              ],
              rows.map((f) => [
                f.hostName,
                f.package,
                f.arch,
                f.installedVersion,
                f.availableVersion,
                f.security ? 'yes' : 'no',
                f.severity,
                advisoriesCell(f.advisories),
                f.repository,
              ]),
            )}\n`,
          );
          process.stdout.write(
            `${rows.length} pending update${rows.length === 1 ? '' : 's'} on ${hosts} host${hosts === 1 ? '' : 's'}, ${security} security.\n`,
          );
        }
        printNotes();
      });
    });
}
