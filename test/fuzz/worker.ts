/**
 * Runs one fuzz target's inputs [from, to) in a worker thread, so that a parser stuck in a
 * synchronous loop can be stopped from outside (test/fuzz/run.ts watches the heartbeat and
 * terminates the worker) and an uncaught exception is pinned on the input that caused it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { inputAt, isFuzzTarget, preview, type WorkerData, type WorkerMessage } from './shared';
import type { FuzzTarget } from './target';

const data = workerData as WorkerData;
const heartbeat = new Int32Array(data.heartbeat);
let current = -1;
let currentInput: unknown;

const post = (message: WorkerMessage): void => parentPort!.postMessage(message);

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return String(error).slice(0, 300);
}

// A throw that escapes every await (a timer, an event handler) or a promise nobody awaits:
// both are crashes of the process the parser runs in, charged to the input being run.
process.on('uncaughtException', (error) => {
  post({
    type: 'crash',
    kind: 'uncaught exception',
    index: current,
    preview: preview(currentInput),
    message: describeError(error),
  });
});
process.on('unhandledRejection', (error) => {
  post({
    type: 'crash',
    kind: 'unhandled rejection',
    index: current,
    preview: preview(currentInput),
    message: describeError(error),
  });
});

async function main(): Promise<void> {
  const module = (await import(pathToFileURL(data.file).href)) as Record<string, unknown>;
  const target = Object.values(module)
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .find((v): v is FuzzTarget => isFuzzTarget(v) && v.name === data.name);
  if (!target) throw new Error(`no fuzz target ${data.name} in ${data.file}`);
  const timeoutMs = target.timeoutMs ?? 2000;
  await target.setup?.();
  let unclean = 0;
  let slowest = { ms: -1, index: -1, preview: '' };
  let lastPost = performance.now();
  for (let index = data.from; index < data.to; index++) {
    const input = inputAt(target.arbitrary, data.seed, index);
    current = index;
    currentInput = input;
    Atomics.store(heartbeat, 0, index);
    Atomics.store(heartbeat, 1, 1);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = target.run(input);
      if (outcome instanceof Promise) {
        await Promise.race([
          outcome,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new HangError()), timeoutMs);
          }),
        ]);
      }
    } catch (error) {
      if (error instanceof HangError) {
        post({
          type: 'crash',
          kind: `hang (> ${timeoutMs} ms)`,
          index,
          preview: preview(input),
          message: 'the input never finished',
        });
      } else if (!target.classified(error)) {
        unclean++;
        post({ type: 'unclean', index, preview: preview(input), message: describeError(error) });
      }
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - started;
    // Let timers and handlers the input scheduled run now, so what they throw is charged to it.
    await new Promise((resolve) => setImmediate(resolve));
    Atomics.store(heartbeat, 1, 0);
    if (ms > slowest.ms) slowest = { ms, index, preview: preview(input) };
    if (ms > timeoutMs)
      post({
        type: 'crash',
        kind: `hang (${Math.round(ms)} ms > ${timeoutMs} ms)`,
        index,
        preview: preview(input),
        message: 'the input ran past its time limit',
      });
    if (performance.now() - lastPost > 500) {
      post({ type: 'progress', done: index + 1, unclean, slowest });
      lastPost = performance.now();
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  current = -1;
  await target.teardown?.();
  post({ type: 'done', done: data.to, unclean, slowest });
}

class HangError extends Error {}

main().catch((error: unknown) => {
  post({ type: 'fatal', message: describeError(error) });
});
