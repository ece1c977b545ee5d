/**
 * Time as a dependency. Code that waits, times out or compares with "now" takes a Clock, so the
 * rules (maintenance windows, missed runs, reboot deadlines) are tested with a clock the test moves
 * instead of by sleeping. `systemClock` is the real one; `ManualClock` only moves when told.
 */
export interface ClockTimer {
  /** Lets the process exit while this timer waits (a no-op on the manual clock). */
  unref?(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
  setInterval(fn: () => void, ms: number): ClockTimer;
  clearInterval(timer: ClockTimer): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout),
};

/** Waits `ms` on `clock`, or less when `signal` aborts; the abort listener goes away with the timer. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An AbortSignal that aborts after `ms` on `clock` (AbortSignal.timeout, but on the given clock).
 * The timer is unref'd: a pending timeout never keeps the process alive.
 */
export function timeoutSignal(clock: Clock, ms: number): AbortSignal {
  if (clock === systemClock) return AbortSignal.timeout(ms);
  const controller = new AbortController();
  clock
    .setTimeout(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms)
    .unref?.();
  return controller.signal;
}

interface ManualTimer extends ClockTimer {
  id: number;
  at: number;
  every: number | null;
  fn: () => void;
}

/** A clock for tests: time stands still until `advance` or `set` moves it, firing what fell due in order. */
export class ManualClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start: number | string = 0) {
    this.t = typeof start === 'string' ? Date.parse(start) : start;
    if (!Number.isFinite(this.t)) throw new Error(`not a time: ${String(start)}`);
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): ClockTimer {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete((timer as ManualTimer).id);
  }

  clearInterval(timer: ClockTimer): void {
    this.clearTimeout(timer);
  }

  /** Timers still waiting (tests check that nothing is left behind). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, earliest first. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error('a clock only moves forward');
    this.set(this.t + ms);
  }

  /** Moves time to `to` (ms or ISO text), as advance. */
  set(to: number | string): void {
    const target = typeof to === 'string' ? Date.parse(to) : to;
    if (!(target >= this.t)) throw new Error('a clock only moves forward');
    for (;;) {
      let due: ManualTimer | null = null;
      for (const timer of this.timers.values())
        if (timer.at <= target && (!due || timer.at < due.at || (timer.at === due.at && timer.id < due.id)))
          due = timer;
      if (!due) break;
      this.t = due.at;
      if (due.every === null) this.timers.delete(due.id);
      else due.at += due.every;
      due.fn();
    }
    this.t = target;
  }

  private add(fn: () => void, ms: number, every: number | null): ManualTimer {
    const timer: ManualTimer = {
      id: this.nextId++,
      at: this.t + Math.max(0, ms),
      every,
      fn,
      unref: () => undefined,
    };
    this.timers.set(timer.id, timer);
    return timer;
  }
}
