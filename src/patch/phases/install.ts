/**
 * The install phase: the approved targets still missing, installed detached from the SSH channel
 * where the package manager allows it, its output streamed into the job log. The snapshot (the
 * installed versions the verification compares) rides in the install's own channel when it can.
 */
import { randomBytes } from 'node:crypto';
import type { JobLogLine, TargetPackage } from '../../api';
import { buildSectionScript, splitSections } from '../../collectors';
import { shellQuote, type SshSession } from '../../remote';
import { sanitizeText } from '../../util';
import { installCommand, installEnv, type PatchPackageManager } from '../commands';
import { StepFailure, type Phase } from '../driver';
import { traceMark, traced } from '../trace';
import {
  CANCELLED_BEFORE_INSTALL,
  interruptedInstall,
  log,
  previewedNames,
  recordedVersions,
  sessionOf,
  type ScriptSection,
  type SectionOutput,
  type StepContext,
  type StepState,
} from './context';
import { rebootDecision, snapshotSections } from './snapshot';

/** Splits streamed output into lines, each written to job_log and sent as a `job.log` event. */
class LineLog {
  private buffers: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  private stopped: Record<'stdout' | 'stderr', boolean> = { stdout: false, stderr: false };
  readonly all: string[] = [];
  /** `stopAt`: a line starting with it ends the log of that stream (what follows is for Patchdeck, not the admin). */
  constructor(
    private readonly write: (stream: JobLogLine['stream'], text: string) => void,
    private readonly stopAt?: string,
    private readonly onStop?: () => void,
  ) {}
  push(stream: 'stdout' | 'stderr', chunk: string): void {
    if (this.stopped[stream]) return;
    const text = this.buffers[stream] + chunk;
    const parts = text.split(/\r?\n/);
    this.buffers[stream] = parts.pop() ?? '';
    if (this.buffers[stream].length > 8192) {
      parts.push(this.buffers[stream]);
      this.buffers[stream] = '';
    }
    for (const line of parts) this.line(stream, line);
    if (this.stopped[stream]) this.buffers[stream] = '';
  }
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.buffers[stream]) this.line(stream, this.buffers[stream]);
      this.buffers[stream] = '';
    }
  }
  private line(stream: 'stdout' | 'stderr', raw: string): void {
    if (this.stopped[stream]) return;
    if (this.stopAt && raw.replace(/\r$/, '').startsWith(this.stopAt)) {
      this.stopped[stream] = true;
      this.buffers[stream] = '';
      if (stream === 'stdout') this.onStop?.();
      return;
    }
    const text = sanitizeText(raw, { maxLength: 2000 });
    if (text.trim() === '') return;
    if (this.all.length < 5000) this.all.push(text);
    this.write(stream, text);
  }
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
 * being killed by SIGPIPE half way through dpkg. `tail --pid` notices the end within 50 ms.
 *
 * `after`: read-only sections (the snapshot) that run in the same channel once
 * the install has exited 0, behind a `@@PATCHDECK:<nonce>:installed:<rc>` line on both streams.
 * The script's exit status is always the install's.
 */
export function detachedInstallScript(
  install: string,
  logFile: string,
  after?: { nonce: string; sections: readonly ScriptSection[] },
): string {
  const log = shellQuote(logFile);
  const lines = [
    `mkdir -p ${shellQuote(logFile.slice(0, logFile.lastIndexOf('/')))} && : > ${log} && rm -f ${log}.rc || exit 98`,
    `setsid sh -c ${shellQuote(`${install}; echo $? > "$0.rc"`)} ${log} >>${log} 2>&1 </dev/null &`,
    'pd_pid=$!',
    `if tail --version >/dev/null 2>&1; then tail -s 0.05 --pid=$pd_pid -n +1 -f ${log}; else wait $pd_pid; cat ${log}; fi`,
    'wait $pd_pid 2>/dev/null',
    `pd_rc=$(cat ${log}.rc 2>/dev/null); pd_rc=\${pd_rc:-255}`,
  ];
  if (after && after.sections.length) {
    const marker = installedMarker(after.nonce);
    lines.push(
      `printf '\\n%s%s\\n' '${marker}' "$pd_rc"; printf '\\n%s%s\\n' '${marker}' "$pd_rc" >&2`,
      // A subshell: the sections set their own pd_rc.
      `if [ "$pd_rc" = 0 ]; then (`,
      buildSectionScript(after.sections, after.nonce),
      ')',
      'fi',
    );
  }
  lines.push('exit $pd_rc');
  return lines.join('\n');
}

function installedMarker(nonce: string): string {
  if (!/^[0-9a-f]{8,32}$/.test(nonce)) throw new Error('bad nonce');
  return `@@PATCHDECK:${nonce}:installed:`;
}

export const DETACHED: readonly PatchPackageManager[] = ['apt', 'dnf', 'yum', 'zypper'];

interface InstallOutcome {
  /** The snapshot sections that ran behind a successful detached install, if any. */
  after: Map<string, SectionOutput> | null;
}

/**
 * Runs the install (detached where the package manager allows) and streams its output into the
 * job log. `after` sections run in the same channel only once the install exited 0.
 */
async function install(
  ctx: StepContext,
  session: SshSession,
  todo: TargetPackage[],
  after: readonly ScriptSection[] = [],
): Promise<InstallOutcome> {
  const command = installCommand(ctx.pm, todo, { lockWaitSeconds: ctx.job.options.lockWaitSeconds });
  log(ctx, 'info', `$ ${command}`);
  const logFile = `/var/tmp/patchdeck/job-${ctx.job.id}-step-${ctx.step.id}.log`;
  const detached = DETACHED.includes(ctx.pm);
  const nonce = randomBytes(8).toString('hex');
  const follow = detached && after.length > 0;
  const marker = follow ? installedMarker(nonce) : undefined;
  let first = true;
  const lines = new LineLog(
    (stream, text) => {
      if (first) traceMark(ctx.host.name, 'install.first-line');
      first = false;
      log(ctx, stream, text);
    },
    marker,
    () => traceMark(ctx.host.name, 'install.exited'),
  );
  traceMark(ctx.host.name, 'install.begin');
  const result = await session.run(
    detached
      ? detachedInstallScript(command, logFile, follow ? { nonce, sections: after } : undefined)
      : command,
    {
      sudo: true,
      env: installEnv(ctx.pm),
      timeoutMs:
        ctx.job.options.hostTimeoutSeconds * 1000 +
        ctx.job.options.lockWaitSeconds * 1000 +
        (follow ? 180_000 : 0),
      // Cancel must not interrupt a package manager half way: this command always runs to its end.
      signal: NOT_CANCELLABLE,
      onStdout: (c) => lines.push('stdout', c),
      onStderr: (c) => lines.push('stderr', c),
    },
  );
  lines.flush();
  const cut = (text: string): string =>
    marker && text.includes(marker) ? text.slice(0, text.indexOf(marker)) : text;
  if (result.code !== 0) {
    throw classifyInstallFailure(
      ctx.pm,
      `${cut(result.stdout)}\n${cut(result.stderr)}`,
      result.code,
      ctx.job.options.lockWaitSeconds,
    );
  }
  return { after: follow ? splitSections(result.stdout, result.stderr, nonce) : null };
}

export const installPhase: Phase<StepState> = {
  // Nothing to install: the step stays in its pre-check on record (an interrupted install's
  // snapshot, or straight on to the reboot policy).
  enter: (state) =>
    state.checked && state.checked.todo.length > 0 ? { phase: 'install', before: state.before } : null,
  cancelled: () => CANCELLED_BEFORE_INSTALL,
  async run(state) {
    const { step } = state;
    const todo = state.checked?.todo ?? [];
    const { before } = state;
    if (todo.length > 0) {
      const session = sessionOf(state);
      const names = [
        ...new Set([...Object.keys(before), ...todo.map((t) => t.name), ...previewedNames(step)]),
      ];
      // The snapshot rides in the install's own channel when it is detached (one round-trip less).
      const followUp = DETACHED.includes(state.pm) ? snapshotSections(state, names, before) : [];
      const installed = await traced(state.host.name, 'run.install', () =>
        install(state, session, todo, followUp),
      );
      state.installOutput = installed.after;
      state.snapshotOf = { names, before };
      return 'installed';
    }
    if (interruptedInstall(step)) {
      // An earlier run of this job entered its install and was cut off (Patchdeck killed, the host
      // dropped off); the install, detached on the host, finished without it. The versions from
      // before that install are on record: take the after-snapshot now, so the step keeps its
      // before/after versions and undo recipe, and the reboot policy sees a reboot it asks for.
      const recorded = recordedVersions(step.before);
      const names = [
        ...new Set([...Object.keys(recorded), ...step.packages.map((t) => t.name), ...previewedNames(step)]),
      ];
      log(state, 'info', 'the interrupted install had finished on the host; recording what it changed');
      state.snapshotOf = { names, before: recorded };
      return 'installed';
    }
    log(state, 'info', 'every target is already at its approved version; nothing to install');
    return rebootDecision(state);
  },
};
