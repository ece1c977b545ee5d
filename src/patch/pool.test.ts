import { describe, expect, it } from 'vitest';
import { runPool } from './pool';

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('the per-host worker pool', () => {
  it('runs at most `concurrency` items at a time, in order, each worker taking the next', async () => {
    const gates = [1, 2, 3].map(() => deferred());
    const started: number[] = [];
    const pool = runPool([0, 1, 2], 2, async (i) => {
      started.push(i);
      await gates[i]!.promise;
    });
    await turn();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await turn();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    await expect(pool).resolves.toBeUndefined();
  });

  it('after an item throws, takes no other and rejects only once the items in hand finished', async () => {
    const first = deferred();
    const started: number[] = [];
    let settled = false;
    const pool = runPool([0, 1, 2, 3], 2, async (i) => {
      started.push(i);
      if (i === 0) await first.promise;
      if (i === 1) throw new Error('the workspace is gone');
    });
    const outcome = pool.then(
      () => 'resolved',
      (error: unknown) => (error as Error).message,
    );
    void outcome.then(() => (settled = true));
    await turn();
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(false); // item 0 is still in hand
    first.resolve();
    expect(await outcome).toBe('the workspace is gone');
    expect(started).toEqual([0, 1]);
  });
});
