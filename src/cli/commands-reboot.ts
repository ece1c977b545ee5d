import readline from 'node:readline/promises';
import type { Command } from 'commander';
import type { PatchJob } from '../api';
import type { Core } from '../core';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';
import { resolveHosts } from './commands-audit';
import type { GlobalOptions, WithCore } from './context';
import { printJson } from './output';

export interface JobFollowers {
  /** Waits for the job's run to settle, streaming its log. */
  follow(core: Core, jobId: number, json: boolean): Promise<PatchJob>;
  /** Prints the job's outcome per host and sets the exit code. */
  report(core: Core, jobId: number, json: boolean): Promise<void>;
}

/** `--at`: a time in the future, as ISO 8601 (a bare date-time is local time). */
function parseAt(text: string): string {
  const t = Date.parse(text);
  if (!Number.isFinite(t))
    throw new PatchdeckError('bad-request', `--at ${text.slice(0, 60)}: not a time (try 2026-12-24T22:00).`);
  if (t <= Date.now())
    throw new PatchdeckError('bad-request', `--at ${text.slice(0, 60)} is not in the future.`);
  return new Date(t).toISOString();
}

/** "web01, web02 and 3 more": host names are untrusted (learned from scans and audits), so bounded. */
function hostList(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => sanitizeText(n, { maxLength: 64 }));
  return names.length > shown.length
    ? `${shown.join(', ')} and ${names.length - shown.length} more`
    : shown.join(', ');
}

/**
 * A reboot is confirmed like a patch: on a terminal the CLI asks; without one it refuses unless
 * `--yes` says so beforehand. `again` is the command to run with --yes. Nothing is asked of the core
 * before the answer, so a refusal changes nothing.
 */
async function confirmReboot(
  names: readonly string[],
  when: string | undefined,
  yes: boolean,
  again: string,
): Promise<void> {
  if (yes) return;
  const what = `${names.length} host${names.length === 1 ? '' : 's'} (${hostList(names)})`;
  if (!(process.stdin.isTTY && process.stdout.isTTY))
    throw new PatchdeckError(
      'bad-request',
      `Not rebooted: there is no terminal to confirm rebooting ${what} on. To reboot them, run the same \`${again}\` command again with --yes. Nothing was changed.`,
    );
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`Reboot ${what} ${when ? `at ${when}` : 'now'}? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim()))
    throw new PatchdeckError(
      'cancelled',
      `Not rebooted: ${what} were left as they are. Nothing was changed.`,
    );
}

/**
 * Reboots: `hosts reboot HOST… [--at TIME]` outside a patch job, and `jobs reboot ID [HOST…]` for
 * a job's hosts whose updates wait for a reboot. Each reboot is followed by a re-audit.
 */
export function registerRebootCommands(
  hosts: Command,
  jobs: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
  run: JobFollowers,
): void {
  hosts
    .command('reboot <hosts...>')
    .description(
      'reboot hosts (now, or --at a time), then re-audit them; for a pending reboot outside a patch job',
    )
    .option(
      '--at <time>',
      'when, e.g. 2026-12-24T22:00 (local time) — runs while the app or `patchdeck serve` runs',
    )
    .option('--yes', 'reboot without asking (required without a terminal)')
    .action(async (names: string[], opts: { at?: string; yes?: boolean }) => {
      await withCore(globals(), async (core) => {
        const at = opts.at === undefined ? undefined : parseAt(opts.at);
        const targets = resolveHosts(core, names, await core.call('hosts.list', {}));
        await confirmReboot(
          targets.map((h) => h.name),
          at,
          Boolean(opts.yes),
          'patchdeck hosts reboot',
        );
        const job = await core.call('hosts.reboot', { hostIds: targets.map((h) => h.id), at });
        const json = Boolean(globals().json);
        if (job.status === 'scheduled') {
          if (json) printJson(job);
          else
            process.stdout.write(
              `Job ${job.id} (${job.name}) is scheduled for ${job.scheduledAt}. It runs while the Patchdeck app or \`patchdeck serve\` is running; if neither runs then, it is reported as missed, not run late.\n`,
            );
          return;
        }
        await run.follow(core, job.id, json);
        await run.report(core, job.id, json);
      });
    });

  jobs
    .command('reboot <id> [hosts...]')
    .description(
      'reboot the hosts of a job whose updates wait for a reboot (or whose reboot failed), then re-audit them',
    )
    .option('--yes', 'reboot without asking (required without a terminal)')
    .action(async (id: string, names: string[], opts: { yes?: boolean }) => {
      await withCore(globals(), async (core) => {
        const jobId = Number(id);
        const hostIds = names.length
          ? resolveHosts(core, names, await core.call('hosts.list', {})).map((h) => h.id)
          : undefined;
        // The hosts this would reboot: the job's steps that wait for a reboot (or whose reboot
        // failed), narrowed to the named hosts. None: the core's refusal says why, nothing is asked.
        const { job: current, steps } = await core.call('jobs.get', { id: jobId });
        const waiting = steps.filter(
          (s) =>
            (s.status === 'reboot-pending' || (s.status === 'failed' && s.phase === 'reboot')) &&
            (!hostIds || hostIds.includes(s.hostId)),
        );
        const ended = ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(current.status);
        if (ended && waiting.length > 0 && (!hostIds || waiting.length === hostIds.length))
          await confirmReboot(
            waiting.map((s) => s.hostName),
            undefined,
            Boolean(opts.yes),
            'patchdeck jobs reboot',
          );
        const job = await core.call('jobs.reboot', { id: jobId, hostIds });
        const json = Boolean(globals().json);
        if (job.status === 'running') await run.follow(core, job.id, json);
        await run.report(core, job.id, json);
      });
    });
}
