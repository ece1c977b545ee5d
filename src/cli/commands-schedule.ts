import { Option, type Command } from 'commander';
import type { CallArgs } from '../api';
import type { Recurrence, Schedule, ScheduleRun, ScheduleTarget } from '../api';
import type { Task } from '../api';
import type { Core } from '../core';
import { PatchdeckError } from '../util';
import type { GlobalOptions, WithCore } from './context';
import { formatTable, printJson } from './output';

/** "90", "90m", "6h", "2d" → minutes. */
export function parseEvery(text: string): number {
  const m = /^(\d{1,6})\s*([mhd]?)$/i.exec(text.trim());
  if (!m)
    throw new PatchdeckError(
      'bad-request',
      `--every takes minutes, or a number with m, h or d (e.g. 6h), not "${text}".`,
    );
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const minutes = unit === 'h' ? n * 60 : unit === 'd' ? n * 1440 : n;
  if (minutes < 15 || minutes > 31 * 1440)
    throw new PatchdeckError('bad-request', '--every is at least 15 minutes and at most 31 days.');
  return minutes;
}

/**
 * The words a task's outcome ends in, led by how it ended so that failure reads as failure:
 * "failed: No inventory host carries the tag …", "partly failed: Audit: 6 of 8 succeeded, 2 failed".
 */
export function taskOutcome(task: Task | null): string {
  if (!task) return '—';
  const extra = task as Task & { summary?: string | null; outcome?: string | null };
  const ending = (extra.outcome ?? task.status).replace(/-/g, ' ');
  if (task.status === 'running') return 'running';
  const words = extra.summary ?? task.error;
  if (!words) return ending;
  return words.toLowerCase().startsWith(ending) ? words : `${ending}: ${words}`;
}

function describeRun(run: ScheduleRun | null): string {
  if (!run) return 'never';
  const when = (run.startedAt ?? run.dueAt).slice(0, 16).replace('T', ' ');
  const how = run.status === 'late' ? ' (late)' : run.status === 'skipped' ? ' skipped' : '';
  return `${when}${how} ${run.status === 'skipped' ? '' : taskOutcome(run.task)}`.trim();
}

function describeMissed(s: Schedule): string | null {
  if (s.overdueSince)
    return `due ${s.overdueSince.slice(0, 16).replace('T', ' ')} UTC, not run yet: no app or \`patchdeck serve\` was running`;
  if (!s.lastMissed) return null;
  const n = s.lastMissed.missedCount;
  return `${n} run${n === 1 ? '' : 's'} missed up to ${(s.lastMissed.lastMissedAt ?? s.lastMissed.dueAt).slice(0, 16).replace('T', ' ')} UTC`;
}

async function findSchedule(core: Core, ref: string): Promise<Schedule> {
  const all = await core.call('schedules.list', {});
  const byId = /^\d+$/.test(ref) ? all.find((s) => s.id === Number(ref)) : undefined;
  const found = byId ?? all.find((s) => s.name.toLowerCase() === ref.toLowerCase());
  if (!found)
    throw new PatchdeckError(
      'not-found',
      `No schedule is called or numbered "${ref}" (see patchdeck schedule list).`,
    );
  return found;
}

interface AddOptions {
  audit?: boolean;
  tag?: string;
  credential?: number;
  refresh?: boolean;
  discover?: string;
  network?: string;
  exclude?: string;
  ports?: string;
  yes?: boolean;
  add?: boolean;
  daily?: string;
  days?: string;
  tz?: string;
  every?: string;
  ifMissed: 'run-once' | 'skip';
  disabled?: boolean;
}

/** `patchdeck schedule list|add|remove|run|enable|disable`: recurring discovery and audits. */
export function registerScheduleCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  const schedule = program
    .command('schedule')
    .description(
      'recurring discovery and audits; they run while the app or `patchdeck serve` is running, and a run missed meanwhile is reported at its next start',
    );

  schedule
    .command('list')
    .description('each schedule with its next run, last run and missed runs')
    .action(async () => {
      await withCore(globals(), async (core) => {
        const all = await core.call('schedules.list', {});
        if (globals().json) return printJson(all);
        if (all.length === 0) {
          process.stdout.write('No schedules yet. Add one: patchdeck schedule add --help\n');
          return;
        }
        process.stdout.write(
          `${formatTable(
            ['id', 'name', 'what', 'when', 'next run (UTC)', 'last run', 'missed'],
            all.map((s) => [
              s.id,
              s.name,
              s.what,
              s.enabled ? s.when : `${s.when} (off)`,
              s.nextRunAt ? s.nextRunAt.slice(0, 16).replace('T', ' ') : '—',
              describeRun(s.lastRun),
              describeMissed(s),
            ]),
          )}\n`,
        );
        if (all.some((s) => s.overdueSince))
          process.stdout.write(
            'Overdue runs are reported, and made up once where the schedule says so, when the app or `patchdeck serve` next starts.\n',
          );
      });
    });

  schedule
    .command('add <name>')
    .description('add a schedule: --audit or --discover <targets>, and --daily HH:MM or --every <interval>')
    .option('--audit', 'audit inventory hosts (all, or those with --tag)')
    .option('--tag <tag>', 'with --audit: only the inventory hosts carrying this tag')
    .option('--credential <id>', 'with --audit: the credential to use', (v) => Number.parseInt(v, 10))
    .option('--refresh', 'with --audit: refresh package metadata first')
    .option('--discover <targets>', 'scan these targets (CIDR, range, list); the range is never guessed')
    .option('--network <name>', 'scan a saved network (see `patchdeck discover --save-as`)')
    .option('--exclude <targets>', 'with --discover: addresses to leave out')
    .option('--ports <ports>', 'with --discover: ports or a preset')
    .option('--yes', 'with --discover: confirm a range above a /22')
    .option('--add', 'with --discover: add the hosts found to the inventory')
    .option('--daily <HH:MM>', 'run at this time of day')
    .option('--days <days>', 'with --daily: only on these weekdays, e.g. mon,wed,fri')
    .option('--tz <zone>', 'with --daily: the time zone (default: this machine’s)')
    .option('--every <interval>', 'run every N minutes, or Nh / Nd (at least 15 minutes)')
    .addOption(
      new Option(
        '--if-missed <what>',
        'a run missed while Patchdeck was not running: run once at the next start, or skip',
      )
        .choices(['run-once', 'skip'])
        .default('run-once'),
    )
    .option('--disabled', 'save it switched off')
    .action(async (name: string, opts: AddOptions) => {
      const kinds = [opts.audit, opts.discover !== undefined || opts.network !== undefined].filter(
        Boolean,
      ).length;
      if (kinds !== 1)
        throw new PatchdeckError(
          'bad-request',
          'Say what to run: --audit, or --discover <targets> / --network <name>.',
        );
      if ((opts.daily === undefined) === (opts.every === undefined))
        throw new PatchdeckError(
          'bad-request',
          'Say when: --daily HH:MM or --every <interval>, one of them.',
        );
      const recurrence: Recurrence =
        opts.daily !== undefined
          ? {
              every: 'day',
              at: opts.daily,
              timeZone: opts.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
              ...(opts.days
                ? { days: opts.days.split(',').map((d) => d.trim().toLowerCase().slice(0, 3)) as never }
                : {}),
            }
          : { every: 'interval', minutes: parseEvery(opts.every!) };
      await withCore(globals(), async (core) => {
        let target: ScheduleTarget;
        if (opts.audit)
          target = { kind: 'audit', tag: opts.tag, credentialId: opts.credential, refresh: opts.refresh };
        else {
          let networkId: number | undefined;
          if (opts.network !== undefined) {
            const networks = await core.call('networks.list', {});
            const found = networks.find(
              (n) => n.name.toLowerCase() === opts.network!.toLowerCase() || String(n.id) === opts.network,
            );
            if (!found)
              throw new PatchdeckError('not-found', `No saved network is called "${opts.network}".`);
            networkId = found.id;
          }
          target = {
            kind: 'discovery',
            ...(networkId !== undefined ? { networkId } : { targets: opts.discover }),
            exclude: opts.exclude,
            ports: opts.ports,
            confirm: opts.yes,
            addToInventory: opts.add,
          };
        }
        const args: CallArgs<'schedules.create'> = {
          name,
          target,
          recurrence,
          ifMissed: opts.ifMissed,
          enabled: !opts.disabled,
        };
        const created = await core.call('schedules.create', args);
        if (globals().json) return printJson(created);
        process.stdout.write(
          `Schedule ${created.id} "${created.name}": ${created.what}, ${created.when}. ${
            created.nextRunAt
              ? `Next run ${created.nextRunAt.slice(0, 16).replace('T', ' ')} UTC`
              : 'Switched off'
          }, while the app or \`patchdeck serve\` is running.\n`,
        );
      });
    });

  schedule
    .command('remove <schedule>')
    .description('remove a schedule (by number or name); its past runs stay in the task list')
    .action(async (ref: string) => {
      await withCore(globals(), async (core) => {
        const found = await findSchedule(core, ref);
        await core.call('schedules.remove', { id: found.id });
        if (globals().json) printJson({ removed: found.id });
        else process.stdout.write(`Removed schedule ${found.id} "${found.name}".\n`);
      });
    });

  for (const [command, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    schedule
      .command(`${command} <schedule>`)
      .description(
        enabled ? 'switch a schedule back on (its next run counts from now)' : 'switch a schedule off',
      )
      .action(async (ref: string) => {
        await withCore(globals(), async (core) => {
          const found = await findSchedule(core, ref);
          const updated = await core.call('schedules.update', { id: found.id, patch: { enabled } });
          if (globals().json) printJson(updated);
          else
            process.stdout.write(`Schedule ${updated.id} "${updated.name}" is ${enabled ? 'on' : 'off'}.\n`);
        });
      });

  schedule
    .command('run <schedule>')
    .description('run a schedule now, in this terminal, and wait for its outcome')
    .action(async (ref: string) => {
      await withCore(globals(), async (core) => {
        const found = await findSchedule(core, ref);
        const run = await core.call('schedules.runNow', { id: found.id });
        const stop = (): void =>
          void (run.taskId && core.call('tasks.cancel', { id: run.taskId }).catch(() => undefined));
        process.once('SIGINT', stop);
        const task = run.taskId ? await core.requireWorkspace().tasks.wait(run.taskId) : null;
        process.off('SIGINT', stop);
        const outcome = (task as (Task & { outcome?: string | null }) | null)?.outcome ?? task?.status;
        if (globals().json) printJson({ ...run, task });
        else process.stdout.write(`${found.name}: ${taskOutcome(task)} (task ${run.taskId ?? '—'}).\n`);
        if (outcome !== 'succeeded') process.exitCode = 1;
      });
    });
}
