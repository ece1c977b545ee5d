import { readFileSync } from 'node:fs';

/** Errors that mean "this machine is out of sockets/buffers", not "the target said no". */
export const RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'EADDRNOTAVAIL', 'EAGAIN', 'ENOMEM']);

export interface LimiterOptions {
  /** Sockets allowed at the start (default 512). */
  initial?: number;
  /** Floor after back-off (default 16). */
  min?: number;
  /** Ceiling when growing (default: 4096, or less when the open-files limit is lower). */
  max?: number;
}

/** The soft open-files limit of this process on Linux, or null when unknown. */
export function openFilesLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/u)[1];
    const value = soft === undefined ? NaN : Number(soft);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * One concurrency limit shared by every probe of a sweep (TCP connects, banner reads, UDP
 * queries, ping processes). It grows by one slot per probe that completes cleanly (doubling
 * per round, like TCP slow start) and halves when the machine runs out of sockets or
 * buffers, so a sweep finds what this host can take without a tuning knob.
 */
export class AdaptiveLimiter {
  private active = 0;
  private readonly waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private current: number;
  readonly min: number;
  readonly max: number;
  /** Highest number of slots held at once, for reports and tests. */
  peak = 0;
  backoffs = 0;

  constructor(options: LimiterOptions = {}) {
    const fds = openFilesLimit();
    const fdCeiling = fds === null ? 4096 : Math.max(32, Math.floor(fds * 0.8) - 64);
    this.min = Math.max(1, options.min ?? 16);
    this.max = Math.max(this.min, Math.min(options.max ?? 4096, fdCeiling));
    this.current = Math.min(this.max, Math.max(this.min, options.initial ?? 512));
  }

  get limit(): number {
    return Math.floor(this.current);
  }

  get inFlight(): number {
    return this.active;
  }

  /** Waits for a slot; rejects with the signal's reason if aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    if (this.active < this.limit) {
      this.take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Gives a slot back. `outcome` steers the limit: 'ok' grows it, 'resource' (EMFILE,
   * ENOBUFS…) halves it, 'neutral' (e.g. a timeout on a host that answered elsewhere, which
   * may be congestion) leaves it.
   */
  release(outcome: 'ok' | 'resource' | 'neutral' = 'ok'): void {
    this.active--;
    if (outcome === 'ok') this.current = Math.min(this.max, this.current + 1);
    else if (outcome === 'resource') {
      this.current = Math.max(this.min, this.current / 2);
      this.backoffs++;
    }
    this.pump();
  }

  private take(): void {
    this.active++;
    if (this.active > this.peak) this.peak = this.active;
  }

  private pump(): void {
    while (this.active < this.limit && this.waiters.length > 0) {
      const next = this.waiters.shift()!;
      this.take();
      next.resolve();
    }
  }
}
