import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { sanitizeText } from '../util';
import { chosenHostIds } from './commands-audit';
import type { GlobalOptions, WithCore } from './context';
import { printJson } from './output';

const jobNumber = (v: string): number => {
  if (!/^\d{1,12}$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('Give a job number, e.g. 12.');
  return Number(v);
};

/** The top-level command `name` (e.g. `import`, which audits' offline import also answers), made if missing. */
function topLevel(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** The commands of the Ansible hand-off (export ansible, import ansible-results) (issue 14). */
export function registerHandoffCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  topLevel(program, 'export', 'write workspace data for other tools')
    .command('ansible')
    .description(
      'write an Ansible inventory (hosts, users, groups from tags), the pinned host keys as known_hosts and, with --job, the playbook of an approved patch job; never a secret',
    )
    .requiredOption('--out <dir>', 'a folder that is empty or does not exist')
    .option('--job <n>', 'also write the playbook of this approved patch job', jobNumber)
    .option('--hosts <list>', 'only these hosts (names, addresses or ids, comma-separated)')
    .action(async (opts: { out: string; job?: number; hosts?: string }) => {
      await withCore(globals(), async (core) => {
        const hostIds = await chosenHostIds(core, opts.hosts);
        const result = await core.call('handoff.exportAnsible', {
          out: path.resolve(opts.out),
          ...(opts.job ? { jobId: opts.job } : {}),
          ...(hostIds ? { hostIds } : {}),
        });
        if (globals().json) return printJson(result);
        process.stdout.write(
          `Wrote ${result.files.join(', ')} to ${result.dir} (${result.hosts} host(s); no secrets).\n`,
        );
        for (const s of result.skipped) process.stdout.write(`left out ${s.name}: ${s.reason}\n`);
        if (result.replaces) process.stdout.write(`${result.replaces.message}\n`);
        if (result.playbook)
          process.stdout.write(
            `Job ${opts.job} is now handed to Ansible; Patchdeck will not run it itself. Run it from that folder:\n` +
              `  cd ${result.dir}\n` +
              `  ANSIBLE_STDOUT_CALLBACK=json ansible-playbook ${result.playbook} > results.json\n` +
              `then:  patchdeck import ansible-results ${path.join(result.dir, 'results.json')}\n`,
          );
      });
    });

  topLevel(program, 'import', 'import results into the workspace')
    .command('ansible-results <file>')
    .description(
      "read ansible-playbook's JSON output (ANSIBLE_STDOUT_CALLBACK=json) of a handed-off job into its steps, then re-audit its hosts",
    )
    .option('--job <n>', 'the job (default: the one the play names)', jobNumber)
    .option('--no-reaudit', 'do not re-audit the hosts afterwards')
    .option('--replace', 'replace results already imported into the job (otherwise refused)')
    .action(async (file: string, opts: { job?: number; reaudit: boolean; replace?: boolean }) => {
      await withCore(globals(), async (core) => {
        const result = await core.call('handoff.importAnsibleResults', {
          path: path.resolve(file),
          ...(opts.job ? { jobId: opts.job } : {}),
          reaudit: opts.reaudit,
          ...(opts.replace ? { replace: true } : {}),
        });
        let audit: string | null = null;
        if (result.auditTaskId !== null) {
          const task = await core.requireWorkspace().tasks.wait(result.auditTaskId);
          audit = task ? `re-audit: ${task.status}` : null;
        }
        if (globals().json) return printJson(result);
        for (const s of result.steps)
          process.stdout.write(
            `${sanitizeText(s.host, { maxLength: 80 })}: ${s.status}${s.message ? ` — ${sanitizeText(s.message, { maxLength: 300 })}` : ''}\n`,
          );
        process.stdout.write(
          `Job ${result.jobId}: results ${result.replaced ? `imported, replacing those imported on ${result.replaced.at.slice(0, 16).replace('T', ' ')} UTC` : 'imported'}${audit ? `; ${audit}` : ''}.\n`,
        );
        if (result.steps.some((s) => s.status === 'failed')) process.exitCode = 1;
      });
    });
}
