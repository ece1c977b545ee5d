/** What test/fuzz/run.ts and its worker share: the message protocol and input generation. */
import fc from 'fast-check';
import type { FuzzTarget } from './target';

export interface WorkerData {
  file: string;
  name: string;
  seed: number;
  from: number;
  to: number;
  /** Int32Array[2]: the index being run, and 1 while it runs. */
  heartbeat: SharedArrayBuffer;
}

export interface Slowest {
  ms: number;
  index: number;
  preview: string;
}

export type WorkerMessage =
  | { type: 'crash'; kind: string; index: number; preview: string; message: string }
  | { type: 'unclean'; index: number; preview: string; message: string }
  | { type: 'progress' | 'done'; done: number; unclean: number; slowest: Slowest }
  | { type: 'fatal'; message: string };

export function isFuzzTarget(value: unknown): value is FuzzTarget {
  const t = value as Partial<FuzzTarget> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.name === 'string' &&
    typeof t.run === 'function' &&
    typeof t.classified === 'function' &&
    typeof (t.arbitrary as { generate?: unknown } | undefined)?.generate === 'function'
  );
}

/** Inputs come in batches: fast-check varies size and bias along a batch as it does in fc.assert. */
const BATCH = 500;
let cache: { arbitrary: fc.Arbitrary<unknown>; seed: number; batch: number; values: unknown[] } | null = null;

/**
 * Input number `index` of a run with `seed`: the same on every machine and in every worker, so
 * a crash is reproduced with `--seed S --only NAME` and a worker restarted after a hang resumes
 * exactly where it stopped.
 */
export function inputAt(arbitrary: fc.Arbitrary<unknown>, seed: number, index: number): unknown {
  const batch = Math.floor(index / BATCH);
  if (!cache || cache.arbitrary !== arbitrary || cache.seed !== seed || cache.batch !== batch) {
    const batchSeed = (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(batch + 1, 0x85ebca6b)) | 0;
    cache = { arbitrary, seed, batch, values: fc.sample(arbitrary, { seed: batchSeed, numRuns: BATCH }) };
  }
  return cache.values[index % BATCH];
}

/** A short printable rendering of an input for the table: escapes, sizes, the first characters. */
export function preview(input: unknown, max = 60): string {
  const text = render(input);
  const printable = [...text]
    .map((c) => {
      const code = c.codePointAt(0)!;
      if (code < 0x20 || (code >= 0x7f && code < 0xa0) || (code >= 0xd800 && code <= 0xdfff))
        return `\\x${code.toString(16).padStart(2, '0')}`;
      return c;
    })
    .join('');
  return printable.length > max ? `${printable.slice(0, max - 1)}…` : printable;
}

function render(input: unknown): string {
  if (typeof input === 'string') return `${JSON.stringify(input.slice(0, 200))} (${input.length} chars)`;
  if (input instanceof Uint8Array)
    return `${Buffer.from(input.subarray(0, 32)).toString('hex')} (${input.length} bytes)`;
  try {
    return JSON.stringify(input, (_key, value: unknown) => {
      if (typeof value === 'bigint') return `${value}n`;
      if (value instanceof Uint8Array) return `<${value.length} bytes>`;
      const buffer = value as { type?: unknown; data?: unknown } | null;
      if (buffer?.type === 'Buffer' && Array.isArray(buffer.data)) return `<${buffer.data.length} bytes>`;
      if (typeof value === 'string' && value.length > 80) return `${value.slice(0, 80)}…(${value.length})`;
      return value;
    });
  } catch {
    return String(input);
  }
}
