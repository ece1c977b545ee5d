import type { Command } from 'commander';
import type { ExceptionInput, FindingExceptionRecord } from '../api';
import { PatchdeckError, sanitizeText } from '../util';
import { resolveHosts } from './commands-audit';
import type { GlobalOptions, WithCore } from './context';
import { formatTable, printJson } from './output';

/**
 * `patchdeck exceptions add|list|remove`: accept or defer a finding, a CVE, a package or a host ×
 * package until a date, with a reason and an owner. Each change is written to the audit log.
 */

/** "2027-01-31" (valid through that day, UTC) or a full ISO time with its offset, as ISO UTC. */
export function parseExpiry(text: string): string {
  const t = text.trim();
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  const iso = day ? `${t}T23:59:59Z` : t;
  const ms =
    day || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(iso)
      ? Date.parse(iso)
      : NaN;
  if (!Number.isFinite(ms))
    throw new PatchdeckError(
      'bad-request',
      `--expires takes a date (2027-01-31) or a time with its zone (2027-01-31T18:00:00Z), not "${sanitizeText(text, { maxLength: 60 })}".`,
    );
  return new Date(ms).toISOString();
}

function scopeCell(e: FindingExceptionRecord): string {
  switch (e.scope) {
    case 'finding':
      return `${e.hostName ?? e.hostId} ${e.package} ${e.availableVersion}`;
    case 'cve':
      return e.cve ?? '';
    case 'package':
      return `${e.package} (every host)`;
    case 'host-package':
      return `${e.hostName ?? e.hostId} ${e.package}`;
  }
}

interface AddOptions {
  accept?: boolean;
  defer?: boolean;
  finding?: string;
  cve?: string;
  package?: string;
  host?: string;
  reason?: string;
  owner?: string;
  expires?: string;
}

export function registerExceptionCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  const exceptions = program
    .command('exceptions')
    .description('accepted or deferred findings, CVEs and packages, with a reason, an owner and an expiry');

  exceptions
    .command('list')
    .description('the active exceptions (with --all also expired and removed ones)')
    .option('--all', 'also expired and removed exceptions')
    .option('--host <name>', 'only exceptions of one host')
    .action(async (opts: { all?: boolean; host?: string }) => {
      await withCore(globals(), async (core) => {
        const hostId = opts.host
          ? resolveHosts(core, [opts.host], await core.call('hosts.list', {}))[0]!.id
          : undefined;
        const list = await core.call('exceptions.list', {
          ...(opts.all ? { includeInactive: true } : {}),
          ...(hostId !== undefined ? { hostId } : {}),
        });
        if (globals().json) return printJson(list);
        if (list.length === 0) {
          process.stdout.write(opts.all ? 'No exceptions.\n' : 'No active exceptions.\n');
          return;
        }
        process.stdout.write(
          `${formatTable(
            ['id', 'decision', 'scope', 'covers', 'findings', 'expires', 'state', 'owner', 'reason'],
            list.map((e) => [
              String(e.id),
              e.decision,
              e.scope,
              scopeCell(e),
              String(e.findings),
              e.expiresAt.slice(0, 16).replace('T', ' '),
              e.state,
              e.owner,
              e.reason.length > 60 ? `${e.reason.slice(0, 59)}…` : e.reason,
            ]),
          )}\n`,
        );
      });
    });

  exceptions
    .command('add')
    .description(
      'accept (no longer open or overdue) or defer (due at the expiry) one finding, a CVE, a package, or a package on one host',
    )
    .option('--accept', 'accept the risk until the expiry')
    .option('--defer', 'move the due date to the expiry')
    .option('--finding <id>', 'one finding (its id, as `patchdeck findings --json` shows it)')
    .option('--cve <id>', 'every finding that fixes this CVE')
    .option('--package <name>', 'this package (on every host, or on --host)')
    .option('--host <name>', 'with --package: only on this host')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--owner <name>', 'who answers for it')
    .option('--expires <date>', 'until when: a date (valid through that day, UTC) or an ISO time')
    .action(async (opts: AddOptions) => {
      if (Boolean(opts.accept) === Boolean(opts.defer))
        throw new PatchdeckError('bad-request', 'Say --accept or --defer.');
      const scopes = [opts.finding !== undefined, opts.cve !== undefined, opts.package !== undefined];
      if (scopes.filter(Boolean).length !== 1)
        throw new PatchdeckError(
          'bad-request',
          'Name one of --finding ID, --cve CVE or --package NAME (with --host for one host).',
        );
      if (opts.host !== undefined && opts.package === undefined)
        throw new PatchdeckError('bad-request', '--host goes with --package.');
      if (!opts.reason) throw new PatchdeckError('bad-request', 'Give a --reason.');
      if (!opts.owner) throw new PatchdeckError('bad-request', 'Give an --owner.');
      if (!opts.expires) throw new PatchdeckError('bad-request', 'Give an --expires date.');
      const expiresAt = parseExpiry(opts.expires);
      await withCore(globals(), async (core) => {
        const common = {
          decision: opts.accept ? ('accept' as const) : ('defer' as const),
          reason: opts.reason!,
          owner: opts.owner!,
          expiresAt,
        };
        let input: ExceptionInput;
        if (opts.finding !== undefined) {
          if (!/^\d{1,12}$/.test(opts.finding))
            throw new PatchdeckError('bad-request', '--finding takes a finding id (a number).');
          input = { ...common, scope: 'finding', findingId: Number(opts.finding) };
        } else if (opts.cve !== undefined) {
          input = { ...common, scope: 'cve', cve: opts.cve };
        } else if (opts.host !== undefined) {
          const host = resolveHosts(core, [opts.host], await core.call('hosts.list', {}))[0]!;
          input = { ...common, scope: 'host-package', hostId: host.id, package: opts.package! };
        } else {
          input = { ...common, scope: 'package', package: opts.package! };
        }
        const e = await core.call('exceptions.add', input);
        if (globals().json) return printJson(e);
        process.stdout.write(
          `Exception ${e.id}: ${e.decision === 'accept' ? 'accepted' : 'deferred'} ${scopeCell(e)} until ${e.expiresAt.slice(0, 16).replace('T', ' ')} UTC (${e.findings} current finding${e.findings === 1 ? '' : 's'}); owner ${e.owner}.\n`,
        );
      });
    });

  exceptions
    .command('remove <id>')
    .description('take an exception back: its findings count again at once')
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (id: string, opts: { reason?: string }) => {
      if (!/^\d{1,12}$/.test(id))
        throw new PatchdeckError('bad-request', 'Give the exception id (a number).');
      await withCore(globals(), async (core) => {
        const { removed } = await core.call('exceptions.remove', {
          id: Number(id),
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        if (globals().json) return printJson({ removed });
        process.stdout.write(
          removed ? `Exception ${id} removed.\n` : `Exception ${id} was already removed.\n`,
        );
      });
    });
}
