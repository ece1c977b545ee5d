/**
 * The after-install snapshot: versions of every package the install touched, the reboot flag,
 * the old versions still offered and dnf's history id, recorded with the undo recipe. It runs
 * under the install on record, and it runs even after a cancel: what the install changed is
 * always written down.
 */
import { randomBytes } from 'node:crypto';
import { buildSectionScript, splitSections } from '../../collectors';
import { shellQuote, type SshSession } from '../../remote';
import {
  packageSpec,
  parseVersionQuery,
  rebootRequiredCommand,
  undoRecipe,
  versionQueryCommand,
} from '../commands';
import type { Phase } from '../driver';
import { traced } from '../trace';
import {
  log,
  sessionOf,
  transition,
  type ScriptSection,
  type SectionOutput,
  type StepContext,
  type StepState,
} from './context';

/** Read-only sections for the after-install snapshot: versions, reboot flag, old versions still offered, dnf history id. */
export function snapshotSections(
  ctx: StepContext,
  names: string[],
  before: Record<string, string>,
): ScriptSection[] {
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
  return [
    ...(query ? [{ name: 'after', command: query }] : []),
    { name: 'reboot', command: rebootRequiredCommand(ctx.pm) },
    { name: 'avail', command: availability },
    { name: 'history', command: history },
  ];
}

interface Snapshot {
  after: Record<string, string>;
  rebootRequired: boolean;
  rebootKnown: boolean;
  available: Set<string>;
  historyId: string | null;
}

function parseSnapshot(out: Map<string, SectionOutput>): Snapshot {
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
    rebootKnown: ['required', 'no'].includes((out.get('reboot')?.stdout ?? '').trim()),
    available,
    historyId,
  };
}

async function snapshotAfter(
  ctx: StepContext,
  session: SshSession,
  names: string[],
  before: Record<string, string>,
): Promise<Snapshot> {
  const nonce = randomBytes(8).toString('hex');
  const sections = snapshotSections(ctx, names, before);
  const raw = await session.run(buildSectionScript(sections, nonce), {
    sudo: ctx.pm === 'dnf' || ctx.pm === 'yum',
    timeoutMs: 60_000,
  });
  return parseSnapshot(splitSections(raw.stdout, raw.stderr, nonce));
}

/** Records before/after versions of every package the install touched, and the undo recipe. */
function recordChange(ctx: StepContext, before: Record<string, string>, snap: Snapshot): void {
  const names = Object.keys({ ...before, ...snap.after });
  const changedBefore = Object.fromEntries(names.map((n) => [n, before[n] ?? null]));
  const changedAfter = Object.fromEntries(names.map((n) => [n, snap.after[n] ?? null]));
  const recipe = undoRecipe({
    pm: ctx.pm,
    before: changedBefore,
    after: changedAfter,
    available: ctx.pm === 'apt' ? snap.available : undefined,
    historyId: snap.historyId,
  });
  transition(ctx, { before: changedBefore, after: changedAfter, undoRecipe: recipe });
}

/** After the install (or with nothing to install): the job's reboot policy decides whether the host reboots. */
export function rebootDecision(state: StepState): 'reboot' | 'verify' {
  const policy = state.job.rebootPolicy;
  if (policy === 'always' || (policy === 'if-required' && state.rebootRequired)) return 'reboot';
  if (state.rebootRequired)
    log(
      state,
      'info',
      'the host needs a reboot to finish the update; reboot policy is "never", so it was not rebooted',
    );
  return 'verify';
}

export const snapshotPhase: Phase<StepState> = {
  enter: () => null,
  cancelled: () => null,
  async run(state) {
    const session = sessionOf(state);
    const { names, before } = state.snapshotOf ?? { names: [], before: state.before };
    const out = state.installOutput;
    // Sections that did not come back complete are asked for again over the session.
    const snap =
      out && out.get('history')?.code != null
        ? parseSnapshot(out)
        : await traced(state.host.name, 'run.snapshot', () => snapshotAfter(state, session, names, before));
    state.afterInstall = { after: snap.after, rebootKnown: snap.rebootKnown };
    state.rebootRequired = snap.rebootRequired;
    recordChange(state, before, snap);
    state.installed = true;
    return rebootDecision(state);
  },
};
