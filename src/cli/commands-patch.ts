import { adviceContextOf, cliAdvice } from '../api';
import readline from 'node:readline/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { JobStep, PatchJob } from '../api';
import type { Core } from '../core';
import { listedChanges } from '../patch';
import { closeParkedSessions } from '../patch';
import { describeTask } from '../tasks';
import { traceMark } from '../patch';
import { PatchdeckError } from '../util';
import { sanitizeText } from '../util';
import { resolveHosts } from './commands-audit';
import { registerRebootCommands } from './commands-reboot';
import type { GlobalOptions, WithCore } from './context';
import { formatTable, printJson } from './output';

const show = (s: string): string => sanitizeText(s, { maxLength: 300 });

/** Job statuses that make `jobs show` exit 1: some host failed, or the run did not finish. */
const FAILED_JOB: readonly PatchJob['status'][] = ['failed', 'interrupted', 'cancelled'];

function previewText(steps: JobStep[]): string {
  const out: string[] = [];
  for (const s of steps) {
    // The step's message states the fact; what to do about it is the CLI's own advice.
    const advice = s.errorMessage
      ? cliAdvice(s.errorKind, adviceContextOf(s.hostName, s.errorMessage))
      : null;
    out.push(
      `${s.hostName} (${s.packageManager ?? '?'}): ${s.status === 'queued' ? (s.preview && listedChanges(s.preview) > 0 ? 'will change' : 'NO LISTED CHANGE') : s.status}${s.errorMessage ? ` — ${show(s.errorMessage)}` : ''}${advice ? ` ${advice}` : ''}`,
    );
    const p = s.preview;
    if (!p) continue;
    for (const c of p.upgrades) out.push(`  upgrade  ${c.name} ${c.from ?? '?'} → ${c.to}`);
    for (const c of p.newPackages) out.push(`  NEW      ${c.name} ${c.to}`);
    for (const c of p.removals) out.push(`  REMOVE   ${c.name} ${c.from ?? ''}`);
    for (const k of p.skipped) out.push(`  skipped  ${show(k.name)}: ${k.reason}`);
  }
  return out.join('\n');
}

function resultTable(steps: JobStep[]): string {
  return formatTable(
    ['host', 'status', 'phase', 'packages', 'error'],
    steps.map((s) => [
      s.hostName,
      s.status,
      s.phase,
      s.packages.map((p) => `${p.name}=${p.to}`).join(' '),
      s.errorMessage,
    ]),
  );
}

/** Waits for a job's run to settle, streaming its log lines to stderr (not in --json mode). */
async function follow(core: Core, jobId: number, json: boolean): Promise<PatchJob> {
  const unsubscribe = core.events.subscribe((event, payload) => {
    if (json) return;
    if (event === 'job.log') {
      const e = payload as { jobId: number; stream: string; text: string };
      if (e.jobId === jobId) process.stderr.write(`${e.stream === 'error' ? '! ' : '  '}${e.text}\n`);
    }
  });
  let cancelled = false;
  const stop = (): void => {
    if (cancelled) return;
    cancelled = true;
    process.stderr.write('Cancelling: each host finishes its current command, the rest is skipped…\n');
    void core.call('jobs.cancel', { id: jobId }).catch(() => undefined);
  };
  process.on('SIGINT', stop);
  try {
    for (;;) {
      const { job } = await core.call('jobs.get', { id: jobId, logLimit: 1 });
      if (job.taskId) await core.requireWorkspace().tasks.wait(job.taskId);
      const again = (await core.call('jobs.get', { id: jobId, logLimit: 1 })).job;
      if (again.status !== 'running') return again;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    process.off('SIGINT', stop);
    unsubscribe();
  }
}

async function report(core: Core, jobId: number, json: boolean): Promise<void> {
  const detail = await core.call('jobs.get', { id: jobId, logLimit: json ? 20_000 : 1 });
  if (json) printJson(detail);
  else {
    process.stdout.write(
      `Job ${jobId} ${detail.job.status}${detail.job.message ? `: ${detail.job.message}` : ''}\n${resultTable(detail.steps)}\n`,
    );
    for (const s of detail.steps.filter((x) => x.undoRecipe))
      process.stdout.write(
        `\nUndo for ${s.hostName} (never run by Patchdeck):\n  ${s.undoRecipe!.split('\n').join('\n  ')}\n`,
      );
  }
  // The closing line is the run's own summary, the words the window and notifications use.
  const task = detail.job.taskId ? await core.requireWorkspace().tasks.wait(detail.job.taskId) : null;
  if (task && !json) process.stdout.write(`\n${describeTask(task)}.\n`);
  if (detail.job.status !== 'succeeded' || (task && task.status !== 'succeeded')) process.exitCode = 1;
}

export function registerPatchCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  program
    .command('patch [hosts...]')
    .description(
      'plan, preview (dry run), approve and run updates on hosts (all inventory hosts when none are named)',
    )
    .option('--security-only', 'only security updates')
    .option('--packages <list>', 'only these packages (comma-separated)')
    .addOption(new Option('--reboot <policy>', 'reboot policy').choices(['never', 'if-required', 'always']))
    .addOption(
      new Option('--on-failure <mode>', 'when a host fails')
        .choices(['continue', 'stop'])
        .default('continue'),
    )
    .option('--concurrency <n>', 'hosts at a time', (v) => Number.parseInt(v, 10), 16)
    .option('--lock-wait <seconds>', 'how long to wait for a locked package manager', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--min-free-mb <mb>', 'free disk space a host needs', (v) => Number.parseInt(v, 10))
    .option(
      '--restart-delay <seconds>',
      "Windows PCs: how long Windows' restart notice gives the signed-in user (0–7200, default 300)",
      (v) => {
        // The notice an employee gets: "5m" or "1.5" must not quietly become 5 or 1 seconds.
        if (!/^\d{1,4}$/.test(v) || Number(v) > 7200)
          throw new InvalidArgumentError('Give whole seconds from 0 to 7200, e.g. 300 for five minutes.');
        return Number(v);
      },
    )
    .option('--at <time>', 'start at this ISO time (the app or `patchdeck serve` must be running then)')
    .option('--window <start/end>', 'maintenance window, ISO times START/END: hosts start only inside it')
    .option('--yes', 'approve the dry-run preview without asking')
    .action(
      async (
        names: string[],
        opts: {
          securityOnly?: boolean;
          packages?: string;
          reboot?: 'never' | 'if-required' | 'always';
          onFailure: 'continue' | 'stop';
          concurrency: number;
          lockWait?: number;
          minFreeMb?: number;
          restartDelay?: number;
          at?: string;
          window?: string;
          yes?: boolean;
        },
      ) => {
        const json = Boolean(globals().json);
        // Without a terminal the preview is still planned and shown; only the approval needs --yes.
        const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
        if (opts.securityOnly && opts.packages)
          throw new PatchdeckError('bad-request', 'Use either --security-only or --packages, not both.');
        const packages = opts.packages
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        let window: { start: string; end: string } | undefined;
        if (opts.window) {
          const [start, end] = opts.window.split('/');
          if (!start || !end)
            throw new PatchdeckError('bad-request', '--window takes START/END (ISO times).');
          window = { start, end };
        }
        const planApproveRun = async (core: Core): Promise<void> => {
          let targets = resolveHosts(core, names, await core.call('hosts.list', {}));
          if (names.length === 0) {
            // "Every host" means every host there is something known to patch on, as the window's
            // wizard offers only audited hosts: a host whose newest audit failed or that was never
            // audited is left out and named, instead of failing the job's dry run. Named on the
            // command line, it is planned (and its dry run says why it cannot be patched).
            const latest = new Map((await core.call('audits.latest', {})).map((a) => [a.hostId, a]));
            const left = targets.filter((h) => latest.get(h.id)?.status !== 'succeeded');
            targets = targets.filter((h) => latest.get(h.id)?.status === 'succeeded');
            if (!json)
              for (const h of left) {
                const audit = latest.get(h.id);
                process.stderr.write(
                  `Left out ${sanitizeText(h.name, { maxLength: 80 })}: ${
                    audit ? `its latest audit ${audit.status}` : 'never audited'
                  }; audit it, or name it to patch it anyway.\n`,
                );
              }
            if (targets.length === 0)
              throw new PatchdeckError(
                'conflict',
                'No host has a successful audit to patch from: run `patchdeck audit` first.',
              );
          }
          const { jobId, taskId } = await core.call('jobs.plan', {
            hostIds: targets.map((h) => h.id),
            selection: packages
              ? { mode: 'packages', packages }
              : { mode: opts.securityOnly ? 'security' : 'all' },
            rebootPolicy: opts.reboot,
            onFailure: opts.onFailure,
            concurrency: opts.concurrency,
            options: {
              ...(opts.lockWait !== undefined ? { lockWaitSeconds: opts.lockWait } : {}),
              ...(opts.minFreeMb !== undefined ? { minFreeMb: opts.minFreeMb } : {}),
              ...(opts.restartDelay !== undefined ? { windowsRestartDelaySeconds: opts.restartDelay } : {}),
            },
          });
          await core.requireWorkspace().tasks.wait(taskId);
          traceMark('cli', 'planned');
          const planned = await core.call('jobs.get', { id: jobId, logLimit: 1 });
          if (!json) process.stderr.write(`Job ${jobId} dry run:\n${previewText(planned.steps)}\n`);
          // A draft nobody approves is deleted, not cancelled: it changed nothing and leaves no job
          // behind. With --json the preview is the output of a command that stops here.
          const discard = async (): Promise<void> => {
            if (json) printJson(planned);
            await core.call('jobs.discard', { id: jobId, planTaskId: taskId });
          };
          const queued = planned.steps.filter((s) => s.status === 'queued');
          const failed = planned.steps.filter((s) => s.status === 'failed');
          if (queued.length === 0) {
            await discard();
            if (failed.length) {
              throw new PatchdeckError(
                'conflict',
                `Nothing to patch: the dry run failed on ${failed.length} of ${planned.steps.length} host(s) (see above). Nothing was changed.`,
              );
            }
            if (!json) process.stdout.write('Nothing to patch.\n');
            return;
          }
          const unlisted = queued.filter((s) => !s.preview || listedChanges(s.preview) === 0);
          if (unlisted.length) {
            await discard();
            throw new PatchdeckError(
              'conflict',
              `Not approved: the dry run on ${unlisted.map((s) => s.hostName).join(', ')} lists no change, and Patchdeck approves only a preview that says what will change. Nothing was changed.`,
            );
          }
          if (!opts.yes && !interactive) {
            await discard();
            throw new PatchdeckError(
              'bad-request',
              'Not approved: there is no terminal to confirm the dry run above on. To approve it, run the same command again with --yes. Nothing was changed.',
            );
          }
          if (!opts.yes) {
            const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
            const answer = await rl.question(
              `Apply job ${jobId} on ${planned.steps.filter((s) => s.status === 'queued').length} host(s)? [y/N] `,
            );
            rl.close();
            if (!/^y(es)?$/i.test(answer.trim())) {
              await discard();
              throw new PatchdeckError('cancelled', `Job ${jobId} was not approved; nothing was changed.`);
            }
          }
          await core.call('jobs.approve', { id: jobId });
          const started = await core.call('jobs.start', { id: jobId, at: opts.at, window });
          if (started.status === 'scheduled') {
            if (json) printJson(started);
            else
              process.stdout.write(
                `Job ${jobId} is scheduled (${started.windowStart ? `window ${started.windowStart} – ${started.windowEnd}` : started.scheduledAt}); the app or \`patchdeck serve\` starts it.\n`,
              );
            return;
          }
          traceMark('cli', 'started');
          await follow(core, jobId, json);
          traceMark('cli', 'finished');
          await report(core, jobId, json);
        };
        traceMark('cli', 'action');
        await withCore(globals(), async (core) => {
          traceMark('cli', 'workspace-open');
          const db = core.requireWorkspace().db;
          try {
            await planApproveRun(core);
          } finally {
            // Connections the plan kept for the run (and did not hand over) end with the command.
            closeParkedSessions(db);
          }
        });
        traceMark('cli', 'closed');
      },
    );

  const jobs = program.command('jobs').description('patch jobs: list, show, resume');
  jobs
    .command('list')
    .description('list patch jobs')
    .action(async () => {
      await withCore(globals(), async (core) => {
        const rows = await core.call('jobs.list', {});
        if (globals().json) printJson(rows);
        else
          process.stdout.write(
            `${formatTable(
              ['id', 'name', 'status', 'hosts', 'approved by', 'created', 'message'],
              rows.map((j) => [
                j.id,
                j.name,
                j.status,
                Object.entries(j.counts)
                  .map(([k, v]) => `${v} ${k}`)
                  .join(', '),
                j.approvedBy,
                j.createdAt,
                j.message,
              ]),
            )}\n`,
          );
      });
    });
  jobs
    .command('show <id>')
    .description("a job's steps, log and undo recipes")
    .option('--log', 'print the whole log')
    .action(async (id: string, opts: { log?: boolean }) => {
      await withCore(globals(), async (core) => {
        const detail = await core.call('jobs.get', { id: Number(id) });
        // A job that did not end well is a non-zero exit, as it was for the command that ran it.
        if (FAILED_JOB.includes(detail.job.status)) process.exitCode = 1;
        if (globals().json) return printJson(detail);
        process.stdout.write(
          `Job ${detail.job.id}: ${detail.job.name} — ${detail.job.status}${detail.job.message ? ` (${detail.job.message})` : ''}\n${resultTable(detail.steps)}\n`,
        );
        for (const s of detail.steps) {
          if (s.before && s.after) {
            const changes = Object.keys(s.after).filter((k) => s.before![k] !== s.after![k]);
            if (changes.length)
              process.stdout.write(
                `\n${s.hostName} changed: ${changes.map((k) => `${k} ${s.before![k] ?? '∅'} → ${s.after![k] ?? '∅'}`).join(', ')}\n`,
              );
          }
          if (s.undoRecipe)
            process.stdout.write(
              `Undo for ${s.hostName} (never run by Patchdeck):\n  ${s.undoRecipe.split('\n').join('\n  ')}\n`,
            );
        }
        const events = opts.log
          ? detail.log
          : detail.log.filter((e) => e.stream === 'error' || e.stream === 'info').slice(-40);
        if (events.length)
          process.stdout.write(
            `\nLog${opts.log ? '' : ' (info and errors; --log for all)'}:\n${events.map((e) => `${e.at} ${e.stream.padEnd(6)} ${e.text}`).join('\n')}\n`,
          );
      });
    });
  for (const [name, method, text] of [
    [
      'resume',
      'jobs.resume',
      're-audit the unfinished hosts of an interrupted job and finish what is missing',
    ],
    ['rerun-failed', 'jobs.rerunFailed', 're-audit the failed hosts of a job and retry what is missing'],
  ] as const) {
    jobs
      .command(`${name} <id>`)
      .description(text)
      .action(async (id: string) => {
        await withCore(globals(), async (core) => {
          const job = await core.call(method, { id: Number(id) });
          if (job.status === 'running') await follow(core, job.id, Boolean(globals().json));
          await report(core, job.id, Boolean(globals().json));
        });
      });
  }
  jobs
    .command('cancel <id>')
    .description(
      'cancel a job that has not started (a running job is cancelled with Ctrl+C in its own process)',
    )
    .action(async (id: string) => {
      await withCore(globals(), async (core) => {
        const job = await core.call('jobs.cancel', { id: Number(id) });
        if (globals().json) printJson(job);
        else process.stdout.write(`Job ${job.id} ${job.status}.\n`);
      });
    });
  const hosts = program.commands.find((c) => c.name() === 'hosts');
  if (!hosts) throw new Error('register the hosts commands before the patch commands');
  registerRebootCommands(hosts, jobs, globals, withCore, { follow, report });
}
