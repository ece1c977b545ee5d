/**
 * What the API and carrier fuzz targets run against: the real core on a temporary workspace
 * (real SQLite, real secrets box with its key file in the same folder), served by the real
 * browser carrier on 127.0.0.1 as `patchdeck serve` does. The workspace holds loopback hosts
 * only, plus what the fuzz inputs add, and two imported collections so that audits, findings
 * and diffs have rows.
 */
import './loopback-guard';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Core } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import { startBrowserCarrier, type BrowserCarrier } from '../../src/server';

export interface FuzzApp {
  dir: string;
  core: Core;
  carrier: BrowserCarrier;
  workspacePath: string;
  /** Reopens the fuzz workspace if an input left none open (nothing should, but be robust). */
  ensureWorkspace(): Promise<void>;
  close(): Promise<void>;
}

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/offline');

export async function startFuzzApp(label: string): Promise<FuzzApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pd-fuzz-${label}-`));
  const staticDir = path.join(dir, 'static');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Patchdeck</title>');
  fs.writeFileSync(path.join(staticDir, 'app.js'), 'export {};\n');
  const core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'browser',
  });
  const workspacePath = path.join(dir, 'fuzz.sqlite');
  await core.openWorkspace(workspacePath, { create: 'if-missing' });
  for (let i = 1; i <= 6; i++) {
    await core.call('hosts.add', { name: `loop${i}`, address: `127.0.0.${10 + i}`, sshPort: 2200 + i });
  }
  for (const file of ['debian-12-self.root.txt', 'synthetic-windows11.windows.txt']) {
    await core.call('audits.import', { text: fs.readFileSync(path.join(FIXTURES, file), 'utf8') });
  }
  await core.call('networks.save', { name: 'loopback', targets: '127.0.0.0/28' });
  const carrier = await startBrowserCarrier({ core, staticDir });
  return {
    dir,
    core,
    carrier,
    workspacePath,
    async ensureWorkspace() {
      if (!core.workspace) await core.openWorkspace(workspacePath, { create: 'never' });
    },
    async close() {
      await carrier.close();
      await core.closeWorkspace();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function offlineFixtureTexts(): string[] {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => fs.readFileSync(path.join(FIXTURES, f), 'utf8'));
}
