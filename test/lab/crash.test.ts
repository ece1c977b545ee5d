// `down` after an `up` that died half-way (the CLI killed with SIGKILL while starting hosts)
// removes everything: hosts started by the dead run are found through their recorded PIDs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { labDown, labLeftovers, labPids } from './index';
import { LAB_DIR } from './paths';
import { sleep } from './sh';
import { describeAsRoot } from './testkit';

describeAsRoot('lab clean-up after a failed up', () => {
  it('down after a killed up leaves nothing', async () => {
    await labDown();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(LAB_DIR, 'cli.ts'), 'up', '--hosts', '24', '--profile', 'clean'],
      {
        stdio: 'ignore',
      },
    );
    const end = Date.now() + 120_000;
    while (labPids().length < 4 && Date.now() < end) await sleep(20);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const started = labPids();
    expect(started.length).toBeGreaterThanOrEqual(4);
    expect((await labLeftovers()).netns.length).toBeGreaterThan(0);

    await labDown();
    expect(await labLeftovers()).toEqual({ netns: [], links: [], mounts: [], processes: [] });
    for (const pid of started) {
      let state = 'gone';
      try {
        state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)\s+/, '')[0] ?? 'gone';
      } catch {
        /* gone */
      }
      expect(['gone', 'Z', 'X']).toContain(state);
    }
  });
});
