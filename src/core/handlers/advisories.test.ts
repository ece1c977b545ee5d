/**
 * The advisories.* calls through the real router and task runner, over a real workspace file and
 * the real feed files. The desktop's file dialog is the one thing replaced: a platform whose
 * dialog answers with a path, as Electron's would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallArgs, Method } from '../../api';
import { Core } from '..';
import { createNodePlatform, type Platform } from '../../platform';

const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/advisories');
const KEV = path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const SAMPLES = path.join(FIXTURES, 'osv-samples');

let dir: string;
let core: Core;
let chosen: string | null;
const dialogs: string[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-advisory-handlers-'));
  const node = createNodePlatform({ configDir: dir, useKeychain: false });
  const desktop: Platform = {
    ...node,
    kind: 'electron',
    chooseFileToOpen: async (o) => {
      dialogs.push(o.title ?? '');
      return chosen;
    },
    chooseFileToSave: async (o) => {
      dialogs.push(o.title ?? '');
      return chosen;
    },
  };
  core = new Core({ platform: desktop, carrier: 'electron' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'always' });
  dialogs.length = 0;
});
afterEach(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function call<M extends Method>(
  method: M,
  args: CallArgs<M>,
  carrier: 'electron' | 'browser' = 'electron',
) {
  const result = await core.router.call(method, args, { carrier });
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value as never;
}

describe('advisories handlers', () => {
  it('import with no paths asks the desktop dialog, runs as a task and records how it went', async () => {
    chosen = KEV;
    const { taskId } = await call('advisories.import', {});
    expect(dialogs).toEqual(['Import advisory files or a bundle']);
    const task = await core.requireWorkspace().tasks.wait(taskId);
    expect(task).toMatchObject({ kind: 'advisories.import', status: 'succeeded', outcome: 'succeeded' });
    expect(task!.summary).toMatch(/^1 file imported; 0 advisories, \d+ KEV entries, 0 EPSS scores written/);
    const status = (await call('advisories.status', {})) as { feeds: { feed: string }[] };
    expect(status.feeds.map((f) => f.feed)).toEqual(['kev']);
  });

  it('a cancelled dialog imports nothing and says so', async () => {
    chosen = null;
    const result = await core.router.call('advisories.import', {}, { carrier: 'electron' });
    expect(result).toMatchObject({ ok: false, error: { code: 'cancelled' } });
  });

  it('a refused file makes the task fail partly, naming it; the other files are in', async () => {
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, fs.readFileSync(KEV).subarray(0, 3000));
    const { taskId } = await call('advisories.import', { paths: [SAMPLES, broken] });
    const task = await core.requireWorkspace().tasks.wait(taskId);
    expect(task).toMatchObject({ status: 'failed', outcome: 'partly-failed' });
    expect(task!.summary).toMatch(/^4 files imported, 1 refused or not downloaded; \d+ advisories/);
  });

  it('an empty folder fails the task saying there was nothing to import', async () => {
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    const { taskId } = await call('advisories.import', { paths: [empty] });
    const task = await core.requireWorkspace().tasks.wait(taskId);
    expect(task).toMatchObject({ status: 'failed', error: 'No files found there; nothing imported.' });
  });

  it('uploaded files (browser mode) import the same way', async () => {
    const { taskId } = await call(
      'advisories.import',
      { files: [{ name: 'kev.json', base64: fs.readFileSync(KEV).toString('base64') }] },
      'browser',
    );
    expect(await core.requireWorkspace().tasks.wait(taskId)).toMatchObject({ status: 'succeeded' });
  });

  it('export asks where to save on the desktop, and hands the bytes over in browser mode', async () => {
    const { taskId } = await call('advisories.import', { paths: [KEV] });
    await core.requireWorkspace().tasks.wait(taskId);
    chosen = path.join(dir, 'bundle.zip');
    const saved = (await call('advisories.exportBundle', {})) as {
      path: string;
      bytes: number;
      sha256: string;
    };
    expect(dialogs).toContain('Export the advisory snapshot as a bundle');
    expect(saved.path).toBe(chosen);
    expect(fs.statSync(chosen).size).toBe(saved.bytes);
    const browser = (await call('advisories.exportBundle', {}, 'browser')) as { path: null; base64: string };
    expect(browser.path).toBeNull();
    expect(Buffer.from(browser.base64, 'base64').subarray(0, 2).toString()).toBe('PK');
  });
});
