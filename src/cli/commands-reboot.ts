import type { Command } from 'commander';
import type { PatchJob } from '../api/schemas';
import type { Core } from '../core';
import { PatchdeckError } from '../util/errors';
import { resolveHosts } from './commands-audit';
import type { GlobalOptions } from './main';
import { printJson } from './output';

type WithCore = <T>(options: GlobalOptions, work: (core: Core) => Promise<T>) => Promise<T>;

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
    .action(async (names: string[], opts: { at?: string }) => {
      await withCore(globals(), async (core) => {
        const at = opts.at === undefined ? undefined : parseAt(opts.at);
        const targets = resolveHosts(core, names, await core.call('hosts.list', {}));
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
    .action(async (id: string, names: string[]) => {
      await withCore(globals(), async (core) => {
        const jobId = Number(id);
        const hostIds = names.length
          ? resolveHosts(core, names, await core.call('hosts.list', {})).map((h) => h.id)
          : undefined;
        const job = await core.call('jobs.reboot', { id: jobId, hostIds });
        const json = Boolean(globals().json);
        if (job.status === 'running') await run.follow(core, job.id, json);
        await run.report(core, job.id, json);
      });
    });
}
