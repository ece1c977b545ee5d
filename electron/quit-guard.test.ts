import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import { activeTaskCount, confirmQuit, type QuitQuestion } from './quit-guard';

let dir: string;
let core: Core;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-quit-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
});
afterEach(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A real task in the workspace's runner that runs until released. */
function running(kind: string, title: string): () => void {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  core.requireWorkspace().tasks.start({ kind, title }, () => done);
  return release;
}

it('quits without asking when nothing runs', async () => {
  expect(activeTaskCount(core)).toBe(0);
  const asked: QuitQuestion[] = [];
  expect(await confirmQuit(core, async (q) => (asked.push(q), false))).toBe(true);
  expect(asked).toEqual([]);
});

it('asks while a patch job runs, says the installs carry on, and follows the answer', async () => {
  const release = running('patch', 'Patch 3 hosts: security updates');
  try {
    expect(activeTaskCount(core)).toBe(1);
    const asked: QuitQuestion[] = [];
    expect(await confirmQuit(core, async (q) => (asked.push(q), false))).toBe(false);
    expect(await confirmQuit(core, async () => true)).toBe(true);
    expect(asked[0]!.message).toBe('A task is still running. Quit anyway?');
    expect(asked[0]!.detail).toContain('• Patch 3 hosts: security updates');
    expect(asked[0]!.detail).toMatch(/keep running on their hosts.*interrupted.*Resume/s);
  } finally {
    release();
  }
});

it('names scans and audits differently, and lists at most five', async () => {
  const releases = Array.from({ length: 7 }, (_, i) => running('audit', `Audit host ${i}`));
  try {
    let question: QuitQuestion | null = null;
    await confirmQuit(core, async (q) => ((question = q), false));
    expect(question!.message).toBe('7 tasks are still running. Quit anyway?');
    expect(question!.detail).toContain('• and 2 more');
    expect(question!.detail).toMatch(/Scans and audits stop where they are/);
  } finally {
    releases.forEach((r) => r());
  }
});

it('quits when no workspace is open', async () => {
  await core.closeWorkspace();
  expect(await confirmQuit(core, async () => false)).toBe(true);
  await core.openWorkspace(path.join(dir, 'ws.sqlite'));
});
