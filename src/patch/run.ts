/**
 * Running an approved patch job: each host is one step (pre-checks → install → reboot → verify),
 * `concurrency` hosts at a time. Every transition is committed to SQLite before the next remote
 * action, so a crash leaves each host's last known phase on record.
 *
 * Cancel never kills an install half way: the current command finishes, the rest is skipped.
 */
import { randomBytes } from 'node:crypto';
import type { Host, JobEvent, JobStep, PatchJob, TargetPackage } from '../api/schemas';
import { classifyAuditError } from '../audit';
import {
  collectorFor,
  buildSectionScript,
  splitSections,
  type CollectorResult,
  type RemoteExec,
} from '../collectors';
import {
  appendAuditLog,
  appendJobEvent,
  completeAudit,
  failAudit,
  getHost,
  getJob,
  getStep,
  listAudits,
  listSteps,
  now,
  startAudit,
  updateJob,
  updateStep,
} from '../db';
import { RemoteError } from '../remote/errors';
import { shellQuote } from '../remote/quote';
import type { SshSession } from '../remote/ssh';
import { errorMessage } from '../util/errors';
import { sanitizeText } from '../util/text';
import {
  REBOOT_COMMAND,
  installCommand,
  installEnv,
  packageSpec,
  parseVersionQuery,
  rebootRequiredCommand,
  undoRecipe,
  versionQueryCommand,
  type PatchPackageManager,
} from './commands';
import { changeKeys } from './dry-run';
import {
  approvedDigest,
  dryRunOnSession,
  dryRunProblem,
  planDigest,
  sessionOpener,
  type PatchDeps,
  type SessionOpener,
} from './plan';

export class StepFailure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Splits streamed output into lines, each written to job_events and sent as a `job.log` event. */
class LineLog {
  private buffers: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  readonly all: string[] = [];
  constructor(private readonly write: (stream: JobEvent['stream'], text: string) => void) {}
  push(stream: 'stdout' | 'stderr', chunk: string): void {
    const text = this.buffers[stream] + chunk;
    const parts = text.split(/\r?\n/);
    this.buffers[stream] = parts.pop() ?? '';
    if (this.buffers[stream].length > 8192) {
      parts.push(this.buffers[stream]);
      this.buffers[stream] = '';
    }
    for (const line of parts) this.line(stream, line);
  }
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.buffers[stream]) this.line(stream, this.buffers[stream]);
      this.buffers[stream] = '';
    }
  }
  private line(stream: 'stdout' | 'stderr', raw: string): void {
    const text = sanitizeText(raw, { maxLength: 2000 });
    if (text.trim() === '') return;
    if (this.all.length < 5000) this.all.push(text);
    this.write(stream, text);
  }
}

interface StepContext {
  deps: PatchDeps;
  job: PatchJob;
  step: JobStep;
  host: Host;
  pm: PatchPackageManager;
  signal: AbortSignal;
  open: SessionOpener;
}

function transition(ctx: StepContext, patch: Parameters<typeof updateStep>[2]): void {
  updateStep(ctx.deps.db, ctx.step.id, patch);
  ctx.deps.events.emit('job.step', getStep(ctx.deps.db, ctx.step.id)!);
}

function log(
  ctx: { deps: PatchDeps; job: PatchJob; step?: JobStep | null },
  stream: JobEvent['stream'],
  text: string,
): void {
  const event = appendJobEvent(ctx.deps.db, {
    jobId: ctx.job.id,
    stepId: ctx.step?.id ?? null,
    stream,
    text,
  });
  ctx.deps.events.emit('job.log', event);
}

const NOT_CANCELLABLE: AbortSignal = new AbortController().signal;

/** Classifies what the install printed when it failed; the sentence names the host's real problem. */
export function classifyInstallFailure(
  pm: PatchPackageManager,
  output: string,
  code: number | null,
  lockWaitSeconds: number,
): StepFailure {
  const holder = /held by process (\d+) \(([^)]*)\)/.exec(output);
  if (
    /Could not get lock|Unable to acquire the dpkg frontend lock|Waiting for cache lock|another app is currently holding the yum lock|System management is locked/i.test(
      output,
    )
  ) {
    return new StepFailure(
      'package-manager-locked',
      `The package manager stayed locked for ${lockWaitSeconds} s${holder ? ` (held by process ${holder[1]} ${sanitizeText(holder[2]!, { maxLength: 40 })})` : ''}; nothing was installed. Try again when it is free.`,
    );
  }
  if (
    /No space left on device|You don't have enough free space|Disk Requirements|needs \d+\S* more space/i.test(
      output,
    )
  ) {
    return new StepFailure('disk-full', 'The host ran out of disk space during the install.');
  }
  const script =
    /(?:installed|new) (\S+) package post-installation script subprocess returned error exit status (\d+)/.exec(
      output,
    ) ?? /error processing package (\S+) \(--configure\)/.exec(output);
  if (script) {
    return new StepFailure(
      'package-script-failed',
      `The package script of ${sanitizeText(script[1]!, { maxLength: 80 })} failed${script[2] ? ` (exit ${script[2]})` : ''}; the package is left half-configured. See the log.`,
    );
  }
  if (/dpkg was interrupted/.test(output))
    return new StepFailure(
      'package-manager-locked',
      "dpkg was interrupted earlier; run 'dpkg --configure -a' on this host first.",
    );
  if (/Held packages were changed/.test(output))
    return new StepFailure(
      'held',
      'A held package would have to change; Patchdeck never changes held packages.',
    );
  const last = output
    .trim()
    .split('\n')
    .filter((l) => /^(E:|Error)/.test(l))
    .slice(-2)
    .join(' ');
  return new StepFailure(
    'install-failed',
    `The ${pm} install exited with ${code ?? 'a signal'}${last ? `: ${sanitizeText(last, { maxLength: 300 })}` : ''}.`,
  );
}

/**
 * The install runs detached from the SSH channel (setsid, output to a log file on the host) and
 * the channel follows the log: if Patchdeck dies, the package manager still finishes instead of
 * being killed by SIGPIPE half way through dpkg.
 */
export function detachedInstallScript(install: string, logFile: string): string {
  const log = shellQuote(logFile);
  return [
    `mkdir -p ${shellQuote(logFile.slice(0, logFile.lastIndexOf('/')))} && : > ${log} && rm -f ${log}.rc || exit 98`,
    `setsid sh -c ${shellQuote(`${install}; echo $? > "$0.rc"`)} ${log} >>${log} 2>&1 </dev/null &`,
    'pd_pid=$!',
    `if tail --version >/dev/null 2>&1; then tail -s 0.2 --pid=$pd_pid -n +1 -f ${log}; else wait $pd_pid; cat ${log}; fi`,
    'wait $pd_pid 2>/dev/null',
    `pd_rc=$(cat ${log}.rc 2>/dev/null); exit \${pd_rc:-255}`,
  ].join('\n');
}

function sessionExec(session: SshSession, signal: AbortSignal): RemoteExec {
  return {
    run: (command, options) => session.run(command, { ...options, signal: options?.signal ?? signal }),
  };
}

/** Re-audits over the open session and records it as an audit of the host (verification). */
async function verifyByAudit(
  ctx: StepContext,
  session: SshSession,
): Promise<{ auditId: number; result: CollectorResult }> {
  const { db } = ctx.deps;
  const previous = listAudits(db, ctx.host.id, 20).find((a) => a.status === 'succeeded') ?? null;
  const auditId = startAudit(db, { hostId: ctx.host.id, taskId: ctx.job.taskId, source: 'patch-verify' });
  const started = Date.now();
  try {
    const result = await collectorFor(ctx.pm).collect(sessionExec(session, ctx.signal), {
      refresh: false,
      timeoutMs: 120_000,
    });
    completeAudit(db, auditId, {
      osId: previous?.osId ?? null,
      osName: previous?.osName ?? null,
      osVersion: previous?.osVersion ?? null,
      kernel: previous?.kernel ?? null,
      packageManager: result.packageManager,
      metadataAgeSeconds: result.metadataAgeSeconds,
      rebootRequired: result.rebootRequired,
      warnings: result.warnings,
      durationMs: Date.now() - started,
      findings: result.updates.map((u) => ({
        kind: u.kind,
        package: u.name,
        arch: u.arch,
        installedVersion: u.installedVersion,
        availableVersion: u.availableVersion,
        repository: u.repository,
        security: u.security,
        severity: u.severity,
        vendorSeverity: u.vendorSeverity,
        advisories: u.advisories,
        held: u.held,
        rebootRequired: u.rebootRequired,
      })),
    });
    return { auditId, result };
  } catch (error) {
    const c = classifyAuditError(error);
    failAudit(db, auditId, {
      kind: c.kind,
      message: c.message,
      stderr: c.stderr,
      durationMs: Date.now() - started,
    });
    throw new StepFailure('verify-failed', `Verification audit failed: ${c.message}`);
  }
}

/** Targets the verification audit still lists as pending (not at the approved version). */
export function stillPending(
  targets: readonly TargetPackage[],
  updates: readonly { name: string; installedVersion: string | null }[],
): TargetPackage[] {
  return targets.filter((t) => updates.some((u) => u.name === t.name && u.installedVersion !== t.to));
}

async function precheck(
  ctx: StepContext,
  session: SshSession,
  targets: TargetPackage[],
): Promise<{ todo: TargetPackage[]; before: Record<string, string> }> {
  const nonce = randomBytes(8).toString('hex');
  const approved = ctx.step.preview;
  const names = [
    ...new Set([
      ...targets.map((t) => t.name),
      ...(approved
        ? [...approved.newPackages, ...approved.removals, ...approved.upgrades].map((c) => c.name)
        : []),
    ]),
  ];
  const query = versionQueryCommand(ctx.pm, names);
  const sections = [
    { name: 'disk', command: "df -Pk / /var /tmp 2>/dev/null | awk 'NR>1 {print $4}'" },
    { name: 'reboot', command: rebootRequiredCommand(ctx.pm) },
    ...(query ? [{ name: 'before', command: query }] : []),
  ];
  const raw = await session.run(buildSectionScript(sections, nonce), {
    timeoutMs: 60_000,
    signal: ctx.signal,
  });
  const out = splitSections(raw.stdout, raw.stderr, nonce);
  const freeKb = (out.get('disk')?.stdout ?? '')
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isFinite(n));
  const minFreeMb = freeKb.length ? Math.floor(Math.min(...freeKb) / 1024) : null;
  if (minFreeMb !== null && minFreeMb < ctx.job.options.minFreeMb) {
    throw new StepFailure(
      'disk-full',
      `Only ${minFreeMb} MB free on ${ctx.host.name} (the job needs at least ${ctx.job.options.minFreeMb} MB); nothing was installed.`,
    );
  }
  log(
    ctx,
    'info',
    `pre-check: ${minFreeMb ?? '?'} MB free; reboot pending before install: ${(out.get('reboot')?.stdout ?? '?').trim()}`,
  );
  const before = parseVersionQuery(out.get('before')?.stdout ?? '');
  // The dry run again, right before installing: it must stay inside what was approved.
  const todo = targets.filter((t) => before[t.name] !== t.to);
  if (todo.length === 0) return { todo, before };
  const dry = await dryRunOnSession(session, ctx.pm, todo, ctx.signal);
  const problem = dryRunProblem(ctx.pm, dry);
  if (problem)
    throw new StepFailure(
      /lock/i.test(problem) ? 'package-manager-locked' : 'dry-run-failed',
      `The dry run before installing failed: ${problem}`,
    );
  if (approved && approved.command) {
    const allowed = changeKeys(approved);
    const extra = [...changeKeys(dry.changes)].filter((k) => !allowed.has(k));
    if (extra.length) {
      throw new StepFailure(
        'not-approved',
        `Installing now would change what was not approved (${extra.slice(0, 10).join(', ')}); nothing was installed. Plan and approve again.`,
      );
    }
  }
  return { todo, before };
}

async function install(ctx: StepContext, session: SshSession, todo: TargetPackage[]): Promise<void> {
  const command = installCommand(ctx.pm, todo, { lockWaitSeconds: ctx.job.options.lockWaitSeconds });
  log(ctx, 'info', `$ ${command}`);
  const lines = new LineLog((stream, text) => log(ctx, stream, text));
  const logFile = `/var/tmp/patchdeck/job-${ctx.job.id}-step-${ctx.step.id}.log`;
  const detached = ctx.pm === 'apt' || ctx.pm === 'dnf' || ctx.pm === 'yum' || ctx.pm === 'zypper';
  const result = await session.run(detached ? detachedInstallScript(command, logFile) : command, {
    sudo: true,
    env: installEnv(ctx.pm),
    timeoutMs: ctx.job.options.hostTimeoutSeconds * 1000 + ctx.job.options.lockWaitSeconds * 1000,
    // Cancel must not interrupt a package manager half way: this command always runs to its end.
    signal: NOT_CANCELLABLE,
    onStdout: (c) => lines.push('stdout', c),
    onStderr: (c) => lines.push('stderr', c),
  });
  lines.flush();
  if (result.code !== 0) {
    throw classifyInstallFailure(
      ctx.pm,
      `${result.stdout}\n${result.stderr}`,
      result.code,
      ctx.job.options.lockWaitSeconds,
    );
  }
}

async function snapshotAfter(
  ctx: StepContext,
  session: SshSession,
  names: string[],
  before: Record<string, string>,
) {
  const nonce = randomBytes(8).toString('hex');
  const query = versionQueryCommand(ctx.pm, names);
  const availability =
    ctx.pm === 'apt'
      ? Object.entries(before)
          .map(
            ([n, v]) =>
              `apt-cache show ${shellQuote(packageSpec('apt', n, v))} >/dev/null 2>&1 && echo ${shellQuote(`${n}=${v}`)}`,
          )
          .join('; ') || 'true'
      : 'true';
  const history =
    ctx.pm === 'dnf' || ctx.pm === 'yum'
      ? `${ctx.pm} -q history list 2>/dev/null | awk '$1 ~ /^[0-9]+$/ {print $1; exit}'`
      : 'true';
  const sections = [
    ...(query ? [{ name: 'after', command: query }] : []),
    { name: 'reboot', command: rebootRequiredCommand(ctx.pm) },
    { name: 'avail', command: availability },
    { name: 'history', command: history },
  ];
  const raw = await session.run(buildSectionScript(sections, nonce), {
    sudo: ctx.pm === 'dnf' || ctx.pm === 'yum',
    timeoutMs: 60_000,
  });
  const out = splitSections(raw.stdout, raw.stderr, nonce);
  const after = parseVersionQuery(out.get('after')?.stdout ?? '');
  const available = new Set(
    (out.get('avail')?.stdout ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const historyId = (out.get('history')?.stdout ?? '').trim().match(/^\d+$/)?.[0] ?? null;
  return {
    after,
    rebootRequired: (out.get('reboot')?.stdout ?? '').trim() === 'required',
    available,
    historyId,
  };
}

/** Issues the reboot and waits for the host to come back (a marker in /run tells a real restart apart). */
async function rebootAndWait(ctx: StepContext, session: SshSession): Promise<SshSession> {
  const marker = `/run/patchdeck-boot-${randomBytes(6).toString('hex')}`;
  await session.run(`: > ${shellQuote(marker)}`, { sudo: true, timeoutMs: 30_000 });
  log(ctx, 'info', 'rebooting the host');
  const issued = await session.run(REBOOT_COMMAND, { sudo: true, timeoutMs: 30_000 });
  if (issued.code !== 0)
    throw new StepFailure(
      'reboot-failed',
      `The host could not be rebooted: ${sanitizeText(issued.stderr.trim(), { maxLength: 200 }) || `exit ${issued.code}`}.`,
    );
  session.close();
  const deadline = Date.now() + ctx.job.options.rebootTimeoutSeconds * 1000;
  await sleep(1500, ctx.signal);
  while (Date.now() < deadline) {
    if (ctx.signal.aborted)
      throw new StepFailure(
        'cancelled',
        'Cancelled while waiting for the host to come back from its reboot; not verified.',
      );
    let next: SshSession | null = null;
    try {
      next = await ctx.open(ctx.host, AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]));
      const probe = await next.run(`test -e ${shellQuote(marker)} && echo same || echo rebooted`, {
        timeoutMs: 10_000,
      });
      if (probe.stdout.trim() === 'rebooted') {
        log(ctx, 'info', 'the host is back after its reboot');
        return next;
      }
      next.close();
    } catch (error) {
      next?.close();
      if (error instanceof RemoteError && (error.kind === 'host-key-changed' || error.kind === 'auth-failed'))
        throw new StepFailure(error.kind, error.message);
    }
    await sleep(1000, ctx.signal);
  }
  throw new StepFailure(
    'reboot-timeout',
    `The host did not come back within ${ctx.job.options.rebootTimeoutSeconds} s of its reboot.`,
  );
}

/** Every package the approved dry run said would change (new dependencies and removals included). */
function previewedNames(step: JobStep): string[] {
  const p = step.preview;
  return p ? [...p.upgrades, ...p.newPackages, ...p.removals].map((c) => c.name) : [];
}

async function runStep(ctx: StepContext): Promise<JobStep['status']> {
  const { step } = ctx;
  let phase = 'precheck';
  let session: SshSession | null = null;
  transition(ctx, {
    status: 'running',
    phase,
    startedAt: now(),
    finishedAt: null,
    errorKind: null,
    errorMessage: null,
  });
  log(
    ctx,
    'info',
    `${ctx.host.name}: ${step.packages.map((p) => `${p.name} ${p.from ?? '∅'} → ${p.to}`).join(', ')}`,
  );
  try {
    session = await ctx.open(ctx.host, ctx.signal);
    const { todo, before } = await precheck(ctx, session, step.packages);
    if (ctx.signal.aborted) throw new StepFailure('cancelled', 'Cancelled before anything was installed.');
    let rebootRequired = false;
    let after: Record<string, string> = { ...before };
    if (todo.length > 0) {
      phase = 'install';
      transition(ctx, { phase, before });
      await install(ctx, session, todo);
      const snap = await snapshotAfter(
        ctx,
        session,
        [...new Set([...Object.keys(before), ...todo.map((t) => t.name), ...previewedNames(step)])],
        before,
      );
      after = snap.after;
      rebootRequired = snap.rebootRequired;
      const changedBefore = Object.fromEntries(
        Object.keys({ ...before, ...after }).map((n) => [n, before[n] ?? null]),
      );
      const changedAfter = Object.fromEntries(
        Object.keys({ ...before, ...after }).map((n) => [n, after[n] ?? null]),
      );
      const recipe = undoRecipe({
        pm: ctx.pm,
        before: changedBefore,
        after: changedAfter,
        available: ctx.pm === 'apt' ? snap.available : undefined,
        historyId: snap.historyId,
      });
      transition(ctx, { before: changedBefore, after: changedAfter, undoRecipe: recipe });
    } else {
      log(ctx, 'info', 'every target is already at its approved version; nothing to install');
    }
    if (ctx.signal.aborted)
      throw new StepFailure(
        'cancelled',
        'Cancelled after the install finished; reboot and verification skipped.',
      );
    const policy = ctx.job.rebootPolicy;
    if (policy === 'always' || (policy === 'if-required' && rebootRequired)) {
      phase = 'reboot';
      transition(ctx, { phase });
      session = await rebootAndWait(ctx, session);
    } else if (rebootRequired) {
      log(
        ctx,
        'info',
        'the host needs a reboot to finish the update; reboot policy is "never", so it was not rebooted',
      );
    }
    phase = 'verify';
    transition(ctx, { phase });
    const { auditId, result } = await verifyByAudit(ctx, session);
    const pending = stillPending(step.packages, result.updates);
    transition(ctx, { verifyAuditId: auditId });
    if (pending.length)
      throw new StepFailure(
        'verify-failed',
        `Still pending after the install: ${pending.map((p) => `${p.name} (wanted ${p.to})`).join(', ')}.`,
      );
    log(
      ctx,
      'info',
      `verified by re-audit: ${step.packages.length} update(s) installed${result.rebootRequired ? '; reboot still required' : ''}`,
    );
    transition(ctx, { status: 'succeeded', phase: 'done', finishedAt: now() });
    return 'succeeded';
  } catch (error) {
    const cancelled = ctx.signal.aborted && (!(error instanceof StepFailure) || error.kind === 'cancelled');
    const failure =
      error instanceof StepFailure
        ? error
        : error instanceof RemoteError && error.kind === 'unreachable' && phase !== 'precheck'
          ? new StepFailure(
              'unreachable',
              `${ctx.host.name} dropped off during ${phase}; the install may be partly done — resume re-audits it and finishes what is missing.`,
            )
          : (() => {
              const c = classifyAuditError(error);
              return new StepFailure(c.kind, c.message || errorMessage(error));
            })();
    log(ctx, cancelled ? 'info' : 'error', `${ctx.host.name}: ${failure.message}`);
    transition(ctx, {
      status: cancelled ? 'cancelled' : 'failed',
      errorKind: cancelled ? 'cancelled' : failure.kind,
      errorMessage: failure.message,
      finishedAt: now(),
    });
    return cancelled ? 'cancelled' : 'failed';
  } finally {
    session?.close();
  }
}

/** Runs every queued step of an approved (or resumed) job. Returns the job's final state. */
export async function runJob(
  deps: PatchDeps,
  jobId: number,
  options: { signal: AbortSignal; taskId: number | null; onProgress?: (done: number, total: number) => void },
): Promise<PatchJob> {
  const { db } = deps;
  const job = getJob(db, jobId);
  if (!job) throw new Error(`job ${jobId} vanished`);
  const emitJob = (): PatchJob => {
    const current = getJob(db, jobId)!;
    deps.events.emit('job.changed', current);
    deps.events.emit('entity.changed', { entity: 'jobs', ids: [jobId] });
    return current;
  };
  const recorded = approvedDigest(db, jobId);
  const steps = listSteps(db, jobId).filter((s) => s.status === 'queued');
  const resumed = job.status === 'interrupted' || job.status === 'failed' || job.status === 'cancelled';
  // The plan must be the one approved: no host, package or previewed change may have been added since.
  if (!resumed && recorded !== planDigest(db, jobId)) {
    updateJob(db, jobId, {
      status: 'failed',
      message: 'Refused: the plan differs from what was approved. Plan and approve again.',
      finishedAt: now(),
    });
    log({ deps, job }, 'error', 'Refused: the plan differs from what was approved; nothing was run.');
    return emitJob();
  }
  updateJob(db, jobId, {
    status: 'running',
    taskId: options.taskId,
    startedAt: job.startedAt ?? now(),
    finishedAt: null,
    message: null,
  });
  appendAuditLog(db, {
    actor: deps.actor,
    action: resumed ? 'job.resume' : 'job.start',
    entityType: 'patch_job',
    entityId: jobId,
    details: { hosts: steps.length },
  });
  log(
    { deps, job },
    'info',
    `${resumed ? 'Resuming' : 'Starting'} ${job.name}: ${steps.length} host(s), reboot ${job.rebootPolicy}, on failure ${job.onFailure}`,
  );
  const running = emitJob();
  const open = sessionOpener(deps, job.options);
  let next = 0;
  let done = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (next < steps.length) {
      const step = steps[next++]!;
      const host = getHost(db, step.hostId)!;
      const skip = (status: JobStep['status'], kind: string, message: string): void => {
        updateStep(db, step.id, { status, errorKind: kind, errorMessage: message, finishedAt: now() });
        deps.events.emit('job.step', getStep(db, step.id)!);
      };
      if (options.signal.aborted) skip('cancelled', 'cancelled', 'Cancelled before this host started.');
      else if (stop) skip('skipped', 'stopped', 'Skipped: another host failed and the job stops on failure.');
      else if (running.windowEnd && Date.now() >= Date.parse(running.windowEnd))
        skip(
          'skipped',
          'window-closed',
          `Skipped: the maintenance window ended at ${running.windowEnd} before this host started.`,
        );
      else {
        const status = await runStep({
          deps,
          job: running,
          step,
          host,
          pm: step.packageManager as PatchPackageManager,
          signal: options.signal,
          open,
        });
        if (status === 'failed' && job.onFailure === 'stop') stop = true;
      }
      options.onProgress?.(++done, steps.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, steps.length)) }, worker));
  const final = listSteps(db, jobId);
  const failed = final.filter((s) => s.status === 'failed' || s.status === 'interrupted').length;
  const status: PatchJob['status'] = options.signal.aborted
    ? 'cancelled'
    : failed > 0
      ? 'failed'
      : 'succeeded';
  const message =
    status === 'cancelled'
      ? 'Cancelled by the operator; running commands were allowed to finish.'
      : failed > 0
        ? `${failed} host(s) failed; see each host's error and log.`
        : null;
  updateJob(db, jobId, { status, message, finishedAt: now() });
  log(
    { deps, job },
    status === 'succeeded' ? 'info' : 'error',
    `Job ${status}${message ? `: ${message}` : ''}`,
  );
  return emitJob();
}
