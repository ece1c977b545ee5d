/**
 * Event-loop benchmark on the lab: how long the process that serves the window stalls while a
 * 50-host audit runs, with the core in that process (as before the utilityProcess) versus the
 * core in a forked child speaking the carrier protocol (src/carrier), as the desktop app runs it.
 * The figure is perf_hooks.monitorEventLoopDelay's max and p99 in the serving process, which
 * also does the serving process's share: every contract event is serialised, as for a window.
 * Usage: npm run bench -- event-loop [--hosts=50] [--rounds=3]   (root: it brings the lab up)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { bundleNodeCore, CoreClient, forkNodeCore } from '../src/carrier';
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import type { Task } from '../src/api/schemas';
import { labUp } from '../test/lab';
import { assertLabRoute, enrolLab } from '../test/integration/support';
import { auditOrThrow, intOption, median, ratio, withCore } from './support';

const GOAL_MAX_MS = 20;

interface Delay {
  maxMs: number;
  p99Ms: number;
  audited: number;
}

type Caller = Pick<Core, 'call' | 'events'> | CoreClient;

/** Runs one audit of every host through `core`, measuring this process's event-loop delay. */
async function measure(core: Caller): Promise<Delay> {
  // What a window's process does with each event: serialise it to send it on.
  let bytes = 0;
  const ended = new Map<number, Task>();
  let taskId = 0;
  let done: (task: Task) => void = () => undefined;
  const off = core.events.subscribe((event, payload) => {
    bytes += JSON.stringify({ event, payload }).length;
    const task = payload as Task;
    if (event !== 'task.changed' || ['queued', 'running'].includes(task.status)) return;
    ended.set(task.id, task);
    if (task.id === taskId) done(task);
  });
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    const started = await core.call('audits.start', {});
    taskId = started.taskId;
    const task = await new Promise<Task>((resolve) => {
      done = resolve;
      const already = ended.get(taskId);
      if (already) resolve(already);
    });
    if (task.status !== 'succeeded')
      throw new Error(`the audit ended ${task.status}: ${task.error ?? task.summary}`);
    if (bytes === 0) throw new Error('no event reached the serving process');
    return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, audited: started.hosts };
  } finally {
    histogram.disable();
    off();
  }
}

export async function main(args: string[]): Promise<void> {
  const size = intOption(args, 'hosts', 50);
  const rounds = intOption(args, 'rounds', 3);
  const lab = await labUp({ hosts: size, profile: 'clean' });
  assertLabRoute(lab);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-loop-'));
  const configDir = path.join(dir, 'config');
  const ws = path.join(dir, 'ws.sqlite');
  const platform = createNodePlatform({ configDir, useKeychain: false });
  const entry = await bundleNodeCore();
  const results = { inProcess: [] as Delay[], forked: [] as Delay[] };
  try {
    // The workspace: the lab enrolled and its keys pinned, and one warm-up audit.
    await withCore(ws, configDir, async (setup) => {
      await enrolLab(setup, lab);
      await auditOrThrow(setup, {}, 'the warm-up audit');
    });

    for (let round = 0; round < rounds; round++) {
      assertLabRoute(lab);
      const inProcess = new Core({ platform, carrier: 'electron', runScheduledJobs: false });
      await inProcess.openWorkspace(ws);
      try {
        results.inProcess.push(await measure(inProcess));
      } finally {
        await inProcess.closeWorkspace();
      }

      assertLabRoute(lab);
      const forked = forkNodeCore({ entry });
      const client = new CoreClient({
        channel: forked.channel,
        platform,
        carrier: 'electron',
        runScheduledJobs: false,
      });
      await client.start({ path: ws, create: 'never' });
      try {
        results.forked.push(await measure(client));
      } finally {
        await client.stop(10_000);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const m = (mode: 'inProcess' | 'forked', field: 'maxMs' | 'p99Ms') =>
    median(results[mode].map((r) => r[field]));
  const show = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(
    `\nEvent-loop delay of the process serving the window during an audit of ${size} lab hosts, ${rounds} rounds, medians`,
  );
  console.log(
    `  core in the same process   max ${show(m('inProcess', 'maxMs'))}  p99 ${show(m('inProcess', 'p99Ms'))}`,
  );
  console.log(
    `  core in a forked process   max ${show(m('forked', 'maxMs'))}  p99 ${show(m('forked', 'p99Ms'))}`,
  );
  console.log(
    `  ratio max ${ratio(m('inProcess', 'maxMs'), m('forked', 'maxMs'))}×  p99 ${ratio(m('inProcess', 'p99Ms'), m('forked', 'p99Ms'))}×   (goal: forked max ≤ ${GOAL_MAX_MS} ms: ${m('forked', 'maxMs') <= GOAL_MAX_MS ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  every round, max in ms: same process ${results.inProcess.map((r) => r.maxMs.toFixed(1)).join(', ')}; forked ${results.forked.map((r) => r.maxMs.toFixed(1)).join(', ')}`,
  );
}
