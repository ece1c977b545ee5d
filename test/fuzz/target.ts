import type fc from 'fast-check';

/**
 * One fuzz target. `npm run fuzz` (test/fuzz/run.ts) loads every module under
 * test/fuzz/targets/ and runs each exported target; CI runs a smaller fixed-seed slice.
 *
 * `run` feeds one generated input to the code under test. It may throw only errors that
 * `classified` accepts (the code's own, documented errors, e.g. PatchdeckError, CollectorError,
 * RemoteError, a zod refusal turned into bad-request); any other throw is a bug ("unclean
 * error"). A crash is a process-level failure: an uncaught exception, an unhandled rejection,
 * a hang beyond `timeoutMs`.
 */
export interface FuzzTarget<T = unknown> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  run(input: T): unknown | Promise<unknown>;
  classified(error: unknown): boolean;
  /** Per-input time limit; default 2000 ms. */
  timeoutMs?: number;
  /** Optional set-up/tear-down around a run of many inputs (servers, workspaces). */
  setup?(): Promise<void> | void;
  teardown?(): Promise<void> | void;
}
