/**
 * The step driver: one host's step of a patch job is a walk through phases. Each turn of the loop
 * checks for cancel, commits the transition into the next phase (SQLite, before any remote action
 * of that phase), runs the phase, and asks the flow's table where its outcome leads. The driver
 * knows no phase by name: a flow (phases/index.ts for Linux) registers its phases and its table,
 * so a platform with other phases (Windows: schedule a task, poll its receipt, survive a reboot)
 * is a new flow, not a change here.
 *
 * Cancel never interrupts a phase: the running command finishes, and the next phase is refused
 * with that phase's own reason. The cancel is checked before the transition is committed, so a
 * cancelled step keeps the last phase it really reached on record.
 */
import type { JobStep, StepPhase } from '../api';
import type { StepUpdate } from '../db';

export class StepFailure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

/** How a step ends well; a failure or a cancel ends it through the flow's `fail`. */
export type StepEnd = Extract<JobStep['status'], 'succeeded' | 'reboot-pending'>;

/** Where an outcome leads: another phase, or the end of the step. */
export type Next = StepPhase | { end: StepEnd };

export interface Phase<S> {
  /**
   * What entering this phase commits; by default `{ phase: <its name> }`. null: nothing, the
   * phase runs under the one already on record (a snapshot is part of the install on record).
   */
  enter?(state: S): StepUpdate | null;
  /** Why the step stops when a cancel came before this phase; null: this phase runs even then. */
  cancelled(state: S): string | null;
  /** The phase's work; the outcome names the edge of the table to follow. */
  run(state: S): Promise<string>;
}

/** What a failed (or cancelled) step commits; the driver adds the finish time. */
export interface FailurePatch extends StepUpdate {
  status: Extract<JobStep['status'], 'failed' | 'cancelled'>;
}

export interface StepFlow<S> {
  phases: Partial<Record<StepPhase, Phase<S>>>;
  /** The transition table: phase → outcome → next phase or end. */
  next: Partial<Record<StepPhase, Readonly<Record<string, Next>>>>;
  /** The phase a step starts in (a step queued again after its install starts at its reboot). */
  first(state: S): StepPhase;
  /** Said once the step is on record as running, before its first phase runs. */
  started?(state: S): void;
  /** Turns what stopped the step into what is committed, `phase` being the last one on record. */
  fail(state: S, error: unknown, phase: StepPhase | null): Promise<FailurePatch>;
  /** Runs once the step has ended, whichever way (closes connections). */
  finish?(state: S): void;
}

export interface StepIo {
  /** Commits one transition of the step (and tells the UI). */
  commit(patch: StepUpdate): void;
  signal: AbortSignal;
  /** The time written on the step (ISO text). */
  now(): string;
}

/** More turns than any flow takes: a table that loops forever fails the step instead of the process. */
const MAX_TURNS = 100;

function phaseOf<S>(flow: StepFlow<S>, name: StepPhase): Phase<S> {
  const phase = flow.phases[name];
  if (!phase) throw new Error(`the step flow has no phase ${name}`);
  return phase;
}

/** Walks one step through its flow; returns the status it ended with (already committed). */
export async function driveStep<S>(flow: StepFlow<S>, state: S, io: StepIo): Promise<JobStep['status']> {
  let recorded: StepPhase | null = null;
  let started = false;
  try {
    let name = flow.first(state);
    for (let turn = 0; ; turn++) {
      if (turn >= MAX_TURNS) throw new Error(`the step flow did not end within ${MAX_TURNS} phases`);
      const phase = phaseOf(flow, name);
      const why = phase.cancelled(state);
      if (why !== null && io.signal.aborted) throw new StepFailure('cancelled', why);
      const patch = phase.enter ? phase.enter(state) : { phase: name };
      if (patch?.phase) recorded = patch.phase as StepPhase;
      if (!started) {
        io.commit({
          status: 'running',
          startedAt: io.now(),
          finishedAt: null,
          errorKind: null,
          errorMessage: null,
          ...patch,
        });
        started = true;
        flow.started?.(state);
      } else if (patch) io.commit(patch);
      const outcome = await phase.run(state);
      const next = flow.next[name]?.[outcome];
      if (next === undefined) throw new Error(`the step flow has no way out of ${name} on "${outcome}"`);
      if (typeof next === 'object') {
        io.commit({ status: next.end, phase: 'done', finishedAt: io.now() });
        return next.end;
      }
      name = next;
    }
  } catch (error) {
    const failure = await flow.fail(state, error, recorded);
    io.commit({ ...failure, finishedAt: io.now() });
    return failure.status;
  } finally {
    flow.finish?.(state);
  }
}
