import type { Command } from 'commander';
import { TIERS, type Audit, type Finding, type Host, type Tier } from '../api';
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

/**
 * An EPSS score with three decimals, truncated like the window shows it: 0.99999 is "0.999", never
 * a certainty of "1.000" (the epsilon keeps 0.2 from flooring to 0.199).
 */
export function epssCell(score: number): string {
  return (Math.floor(score * 1000 + 1e-9) / 1000).toFixed(3);
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
  filter: { securityOnly: boolean; hostId?: number; sort: FindingSort } & IntelFilter,
): AsyncGenerator<Finding[]> {
  const { securityOnly, hostId, sort, ...intel } = filter;
  for (let offset = 0; ; offset += PAGE) {
    const page = await core.call('findings.query', {
      offset,
      limit: PAGE,
      sort,
      direction: 'asc',
      ...(securityOnly ? { securityOnly: true } : {}),
      ...(hostId !== undefined ? { hostId } : {}),
      ...intel,
    });
    if (page.rows.length) yield page.rows;
    if (page.rows.length < PAGE || offset + page.rows.length >= page.total) return;
  }
}

type FindingSort = 'security' | 'risk' | 'due';

/** Issue 13's filters: known-exploited, overdue, tier, EPSS at least. */
interface IntelFilter {
  kevOnly?: boolean;
  overdue?: boolean;
  tier?: Tier;
  epssAtLeast?: number;
}

interface FindingsOptions {
  securityOnly?: boolean;
  csv?: boolean;
  overdue?: boolean;
  kev?: boolean;
  tier?: string;
  epss?: string;
  sort?: string;
}

/** The flags as the query's filter, or a sentence naming the flag that is wrong. */
export function intelFilterOf(opts: FindingsOptions): IntelFilter & { sort: FindingSort } {
  const filter: IntelFilter & { sort: FindingSort } = { sort: 'security' };
  if (opts.kev) filter.kevOnly = true;
  if (opts.overdue) filter.overdue = true;
  if (opts.tier !== undefined) {
    const tier = opts.tier.trim().toLowerCase();
    if (!(TIERS as readonly string[]).includes(tier))
      throw new PatchdeckError(
        'bad-request',
        `--tier is one of ${TIERS.join(', ')}, not "${sanitizeText(opts.tier, { maxLength: 40 })}".`,
      );
    filter.tier = tier as Tier;
  }
  if (opts.epss !== undefined) {
    const n = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(opts.epss.trim()) ? Number(opts.epss) : NaN;
    if (!(n >= 0 && n <= 1))
      throw new PatchdeckError(
        'bad-request',
        `--epss is a score from 0 to 1 (e.g. 0.1), not "${sanitizeText(opts.epss, { maxLength: 40 })}".`,
      );
    filter.epssAtLeast = n;
  }
  if (opts.sort !== undefined) {
    if (!['security', 'risk', 'due'].includes(opts.sort))
      throw new PatchdeckError(
        'bad-request',
        `--sort is security, risk or due, not "${sanitizeText(opts.sort, { maxLength: 40 })}".`,
      );
    filter.sort = opts.sort as FindingSort;
  } else if (filter.kevOnly || filter.overdue || filter.tier || filter.epssAtLeast !== undefined)
    filter.sort = 'risk';
  return filter;
}

/** A due date as its day, and whether it passed ("2024-03-16", "2024-01-16 overdue"). */
function dueCell(f: Finding): string | null {
  if (!f.dueAt) return null;
  const day = (f.exception?.decision === 'defer' ? f.exception.expiresAt : f.dueAt).slice(0, 10);
  if (f.exception) return `${day} ${f.exception.decision === 'accept' ? 'accepted' : 'deferred'}`;
  return f.overdue ? `${day} overdue` : day;
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
    .option('--overdue', 'only updates past their due date (accepted or deferred ones left out)')
    .option('--kev', "only updates that fix a CVE in CISA's Known Exploited Vulnerabilities catalogue")
    .option('--tier <tier>', `only updates of one risk tier: ${TIERS.join(', ')}`)
    .option('--epss <score>', 'only updates whose highest EPSS score is at least this (0 to 1)')
    .option(
      '--sort <order>',
      'security (default), risk (tier, EPSS, age, hosts; the default with a filter above) or due',
    )
    .action(async (names: string[], opts: FindingsOptions) => {
      if (opts.csv && globals().json)
        throw new PatchdeckError('bad-request', 'Choose one of --json and --csv.');
      const intel = intelFilterOf(opts);
      await withCore(globals(), async (core) => {
        const targets = resolveHosts(core, names, await core.call('hosts.list', {}));
        const byId = new Map<number, Host>(targets.map((h) => [h.id, h]));
        const filter = {
          ...intel,
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
        // A filter whose feed was never imported matches nothing: said, with the command that fixes it.
        if (intel.kevOnly || intel.epssAtLeast !== undefined) {
          const { counts } = await core.call('advisories.status', {});
          if (intel.kevOnly && counts.kev === 0)
            notes.push(
              "--kev: no KEV catalogue is imported, so no update is known-exploited yet; import CISA's catalogue with `patchdeck advisories import FILE` or `patchdeck advisories update --feed kev` (see `patchdeck advisories status`)",
            );
          if (intel.epssAtLeast !== undefined && counts.epss === 0)
            notes.push(
              '--epss: no EPSS scores are imported, so no update has a score yet; import them with `patchdeck advisories import FILE` or `patchdeck advisories update --feed epss` (see `patchdeck advisories status`)',
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
          const narrowed = intel.kevOnly || intel.overdue || intel.tier || intel.epssAtLeast !== undefined;
          process.stdout.write(
            narrowed
              ? 'No pending updates match these filters.\n'
              : opts.securityOnly
                ? 'No pending security updates.\n'
                : 'No pending updates.\n',
          );
        } else {
          // A Windows PC's rows are KBs with their titles and categories, not packages and versions.
          const kbs = rows.filter((f) => f.kind === 'kb').length;
          // Judged against an advisory snapshot: the tier, CVEs, KEV, EPSS and due date too.
          const judged = rows.some((f) => f.tier !== null || f.cves.length > 0);
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
                ...(judged ? ['tier', 'CVEs', 'KEV', 'EPSS', 'due'] : []),
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
                ...(judged
                  ? [
                      f.tier,
                      advisoriesCell(f.cves),
                      f.kev ? 'yes' : null,
                      f.epss === null ? null : epssCell(f.epss),
                      dueCell(f),
                    ]
                  : []),
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
