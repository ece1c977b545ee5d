import path from 'node:path';
import type { Command } from 'commander';
import { sanitizeText } from '../util';
import { chosenHostIds } from './commands-audit';
import type { GlobalOptions, WithCore } from './context';
import { printJson } from './output';

/** How the import's counts read in a sentence. */
const NOUNS: Record<string, [string, string]> = {
  hosts: ['host', 'hosts'],
  audits: ['audit', 'audits'],
  findings: ['finding', 'findings'],
  jobs: ['patch job', 'patch jobs'],
  job_steps: ['job step', 'job steps'],
  job_log: ['job log line', 'job log lines'],
  audit_log: ['audit log entry', 'audit log entries'],
  exceptions: ['exception', 'exceptions'],
};

/** The commands of the portable audit bundle (issue 14). */
export function registerBundleCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  const bundle = program
    .command('bundle')
    .description(
      "carry a site's audits, findings, jobs and audit log to another workspace in one file (never a secret)",
    );

  bundle
    .command('export')
    .description(
      'write the hosts (default: the inventory) with their records and the advisory snapshot into one .pdbundle file',
    )
    .requiredOption('--out <file>', 'the bundle file to write, e.g. site.pdbundle')
    .option('--hosts <list>', 'only these hosts (names, addresses or ids, comma-separated)')
    .action(async (opts: { out: string; hosts?: string }) => {
      await withCore(globals(), async (core) => {
        const hostIds = await chosenHostIds(core, opts.hosts);
        const result = await core.call('bundles.export', {
          path: path.resolve(opts.out),
          ...(hostIds ? { hostIds } : {}),
        });
        if (globals().json) return printJson(result);
        process.stdout.write(
          `Wrote ${result.path} (${result.hosts} host(s), ${result.bytes} bytes, sha256 ${result.sha256}); it holds no secret.\n`,
        );
      });
    });

  bundle
    .command('import <file>')
    .description(
      'merge a .pdbundle into this workspace: hosts by identity, each record once; a damaged or altered bundle is refused whole',
    )
    .action(async (file: string) => {
      await withCore(globals(), async (core) => {
        const result = await core.call('bundles.import', { path: path.resolve(file) });
        if (globals().json) return printJson(result);
        const site = sanitizeText(result.originSite || result.originWorkspace, { maxLength: 200 });
        if (!result.imported) {
          process.stdout.write(
            `Already imported (from ${site}, made ${result.createdAt}): nothing changed.\n`,
          );
          return;
        }
        const added = Object.entries(result.added)
          .map(([entity, n]) => {
            const [one, many] = NOUNS[entity] ?? [entity, entity];
            return `${n} ${n === 1 ? one : many}`;
          })
          .join(', ');
        process.stdout.write(
          `Imported the bundle from ${site} (made ${result.createdAt}): added ${added || 'nothing new'}.\n`,
        );
        for (const m of result.matchedHosts)
          process.stdout.write(
            `matched ${sanitizeText(m.name, { maxLength: 120 })} to host ${m.hostId} (by ${m.by})\n`,
          );
        for (const w of result.warnings)
          process.stdout.write(`note: ${sanitizeText(w, { maxLength: 300 })}\n`);
      });
    });
}
