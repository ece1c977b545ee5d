/**
 * ansible-playbook's JSON output (the `json` stdout callback, ansible.posix.json) read back: a
 * hostile file, so its size, nesting and counts are bounded before and while it is parsed, every
 * record is checked with zod, and every text that reaches the workspace is sanitised. Each host's
 * results of the `patchdeck:<phase>` tasks become its step's outcome.
 */
import { z } from 'zod';
import type { TargetPackage } from '../api';
import { sanitizeText } from '../util';
import { TASK_PREFIX, type TaskPhase } from './playbook';

export const RESULTS_MAX_BYTES = 64 * 1024 * 1024;
export const RESULTS_MAX_DEPTH = 64;
const TEXT_MAX = 1024 * 1024;

export class ResultsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultsError';
  }
}

const Text = z.string().max(TEXT_MAX);
const HostResult = z.looseObject({
  changed: z.boolean().optional(),
  failed: z.boolean().optional(),
  unreachable: z.boolean().optional(),
  skipped: z.boolean().optional(),
  rc: z.number().nullable().optional(),
  stdout: Text.optional(),
  stderr: Text.optional(),
  msg: z.unknown().optional(),
});
export type HostResult = z.infer<typeof HostResult>;

const Duration = z.looseObject({ start: z.string().max(64).optional(), end: z.string().max(64).optional() });
const Task = z.looseObject({
  hosts: z.record(z.string().max(255), HostResult).refine((r) => Object.keys(r).length <= 10_000),
  task: z.looseObject({ name: z.string().max(2000), duration: Duration.optional() }),
});
const Play = z.looseObject({
  play: z.looseObject({ name: z.string().max(2000), duration: Duration.optional() }),
  tasks: z.array(Task).max(10_000),
});
export const AnsibleResults = z.looseObject({
  plays: z.array(Play).max(100),
  stats: z.record(z.string().max(255), z.looseObject({})).optional(),
});
export type AnsibleResults = z.infer<typeof AnsibleResults>;

/** The deepest nesting of a JSON text, in one pass (strings skipped); -1 when it is not balanced. */
export function jsonDepth(text: string, limit = RESULTS_MAX_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth < 0) return -1;
    }
  }
  return depth === 0 ? deepest : -1;
}

/**
 * Parses the results. `name` names the file in every refusal. Text before the first line that
 * starts with `{` (a warning ansible printed to the same stream) is skipped, at most 64 lines.
 */
export function parseAnsibleResults(bytes: Buffer, name: string): AnsibleResults {
  if (bytes.length > RESULTS_MAX_BYTES)
    throw new ResultsError(`${name} is larger than ${RESULTS_MAX_BYTES / 1024 / 1024} MiB; refused.`);
  let text = bytes.toString('utf8');
  let start = 0;
  for (let line = 0; line < 64 && start < text.length && text[start] !== '{'; line++) {
    const next = text.indexOf('\n', start);
    if (next < 0) break;
    start = next + 1;
  }
  text = text.slice(start);
  if (!text.startsWith('{'))
    throw new ResultsError(
      `${name} is not ansible-playbook's JSON output (run it with ANSIBLE_STDOUT_CALLBACK=json).`,
    );
  const depth = jsonDepth(text);
  if (depth < 0) throw new ResultsError(`${name} is cut short or not JSON; refused.`);
  if (depth > RESULTS_MAX_DEPTH)
    throw new ResultsError(`${name} nests deeper than ${RESULTS_MAX_DEPTH}; refused.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ResultsError(`${name} is cut short or not JSON; refused.`);
  }
  const parsed = AnsibleResults.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ResultsError(
      `${name} is not ansible-playbook's JSON output: ${sanitizeText(`${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(), { maxLength: 200 })}.`,
    );
  }
  return parsed.data;
}

/** The job a play names (`Patchdeck job #12`), or null. */
export function jobIdOfPlay(name: string): number | null {
  const m = /^Patchdeck job #(\d{1,12})$/.exec(name.trim());
  return m ? Number(m[1]) : null;
}

export interface HostOutcome {
  status: 'succeeded' | 'reboot-pending' | 'failed';
  errorKind: string | null;
  message: string | null;
  /** dpkg versions before and after (`name` → version), from the pre-check and verify tasks. */
  before: Record<string, string> | null;
  after: Record<string, string> | null;
  rebooted: boolean;
  /** One line per task the host ran: what the job log gets. */
  log: string[];
  startedAt: string | null;
  finishedAt: string | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9+._@~-]{0,254}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}$/;
const FAIL_KINDS = new Set([
  'disk-full',
  'held',
  'package-manager-locked',
  'dry-run-failed',
  'not-approved',
  'verify-failed',
]);

const linesOf = (text: string | undefined): string[] =>
  (text ?? '')
    .split('\n')
    .slice(0, 20_000)
    .map((l) => l.replace(/\r$/, ''));

function versionsOf(stdout: string | undefined, tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of linesOf(stdout)) {
    if (!line.startsWith(`PATCHDECK-${tag} `)) continue;
    const [name, version, status] = line
      .slice(tag.length + 11)
      .trim()
      .split(/\s+/);
    if (name && version && NAME.test(name) && VERSION.test(version) && status === 'ii') out[name] = version;
  }
  return out;
}

function messageOf(result: HostResult): string {
  const fail = linesOf(result.stdout).find((l) => l.startsWith('PATCHDECK-FAIL '));
  if (fail) return fail.slice(fail.indexOf(':') + 1).trim();
  const msg =
    typeof result.msg === 'string' ? result.msg : result.msg === undefined ? '' : JSON.stringify(result.msg);
  const tail = linesOf(`${result.stdout ?? ''}\n${result.stderr ?? ''}`)
    .filter((l) => l.trim())
    .slice(-3)
    .join(' ');
  return [msg.slice(0, 2000), tail].filter(Boolean).join(': ');
}

function kindOf(phase: TaskPhase, result: HostResult): string {
  const fail = linesOf(result.stdout).find((l) => l.startsWith('PATCHDECK-FAIL '));
  const kind = fail ? fail.slice('PATCHDECK-FAIL '.length, fail.indexOf(':')).trim() : '';
  if (FAIL_KINDS.has(kind)) return kind;
  switch (phase) {
    case 'precheck':
    case 'precheck-again':
      return 'precheck-failed';
    case 'install':
      return 'install-failed';
    case 'pre-reboot':
    case 'reboot':
      return 'reboot-failed';
    case 'pre-reboot-wait':
    case 'reboot-wait':
      return 'reboot-timeout';
    case 'verify':
      return 'verify-failed';
  }
}

/** The phase of a task named `patchdeck:<phase> …`, or null for a task that is not ours. */
export function phaseOf(taskName: string): TaskPhase | null {
  if (!taskName.startsWith(TASK_PREFIX)) return null;
  const word = taskName.slice(TASK_PREFIX.length).split(' ')[0] as TaskPhase;
  const phases: TaskPhase[] = [
    'precheck',
    'pre-reboot',
    'pre-reboot-wait',
    'precheck-again',
    'install',
    'reboot',
    'reboot-wait',
    'verify',
  ];
  return phases.includes(word) ? word : null;
}

/**
 * One host's outcome from its task results, judged again here (a results file is not trusted to
 * judge itself): succeeded only when the verify task ran and every target's dpkg version after it
 * equals its approved `to`.
 */
export function hostOutcome(
  play: AnsibleResults['plays'][number],
  inventoryName: string,
  targets: readonly TargetPackage[],
  classifyInstall: (output: string, code: number | null) => { kind: string; message: string },
): HostOutcome {
  const outcome: HostOutcome = {
    status: 'failed',
    errorKind: null,
    message: null,
    before: null,
    after: null,
    rebooted: false,
    log: [],
    startedAt: null,
    finishedAt: null,
  };
  let verified = false;
  let rebootRequired = false;
  for (const task of play.tasks) {
    const phase = phaseOf(task.task.name);
    const result = task.hosts[inventoryName];
    if (!phase || !result) continue;
    outcome.startedAt ??= task.task.duration?.start ?? null;
    outcome.finishedAt = task.task.duration?.end ?? outcome.finishedAt;
    if (result.skipped) continue;
    if (result.unreachable) {
      outcome.errorKind = phase.includes('wait') ? 'reboot-timeout' : 'unreachable';
      outcome.message = sanitizeText(`Ansible could not reach the host (${phase}): ${messageOf(result)}`, {
        maxLength: 500,
      });
      outcome.log.push(`ansible ${phase}: unreachable`);
      return outcome;
    }
    if (phase === 'precheck' || phase === 'precheck-again')
      outcome.before = versionsOf(result.stdout, 'BEFORE');
    if (phase === 'reboot-wait' || phase === 'pre-reboot-wait') outcome.rebooted ||= !result.failed;
    if (result.failed) {
      if (phase === 'install' && !linesOf(result.stdout).some((l) => l.startsWith('PATCHDECK-FAIL '))) {
        const c = classifyInstall(`${result.stdout ?? ''}\n${result.stderr ?? ''}`, result.rc ?? null);
        outcome.errorKind = c.kind;
        outcome.message = c.message;
      } else {
        outcome.errorKind = kindOf(phase, result);
        outcome.message = sanitizeText(messageOf(result), { maxLength: 500 });
      }
      outcome.log.push(`ansible ${phase}: failed: ${outcome.message}`);
      return outcome;
    }
    outcome.log.push(`ansible ${phase}: ${result.changed ? 'changed' : 'ok'}`);
    if (phase === 'verify') {
      outcome.after = versionsOf(result.stdout, 'AFTER');
      rebootRequired = linesOf(result.stdout).includes('PATCHDECK-REBOOT required');
      verified = linesOf(result.stdout).includes('PATCHDECK-VERIFIED ok');
    }
  }
  if (!verified || outcome.after === null) {
    outcome.errorKind = 'not-run';
    outcome.message = outcome.log.length
      ? 'The Ansible run stopped before this host was verified.'
      : 'The Ansible results do not mention this host: it was not run.';
    return outcome;
  }
  const pending = targets.filter((t) => outcome.after![t.name] !== t.to);
  if (pending.length) {
    outcome.errorKind = 'verify-failed';
    outcome.message = sanitizeText(
      `Still pending after the install: ${pending.map((p) => `${p.name} (wanted ${p.to}, found ${outcome.after![p.name] ?? 'not installed'})`).join(', ')}.`,
      { maxLength: 500 },
    );
    return outcome;
  }
  outcome.status = rebootRequired ? 'reboot-pending' : 'succeeded';
  return outcome;
}
