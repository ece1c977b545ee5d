import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingsCsv } from '../audit';
import { completeAudit, insertHost, startAudit, type FindingInput } from '../db';
import { createNodePlatform } from '../platform';
import type { Platform } from '../platform/types';
import { Core } from './core';

// The Updates page's Export CSV through the real router and a real workspace file. In the app the
// core asks the Platform where to save; Electron's dialog is the one part that cannot exist here,
// so the platform answers the dialog with a chosen path (or with a cancel).
let dir: string;
let core: Core;
let answer: string | null = null;
const asked: unknown[] = [];

const finding = (pkg: string, security = false): FindingInput => ({
  kind: 'package',
  package: pkg,
  arch: 'amd64',
  installedVersion: '1.0',
  availableVersion: '1.1',
  repository: 'bookworm-security',
  security,
  severity: security ? 'important' : null,
  vendorSeverity: null,
  advisories: security ? ['DSA-1-1'] : [],
  held: false,
  rebootRequired: null,
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-findings-export-'));
  const node = createNodePlatform({ configDir: dir, useKeychain: false });
  const platform: Platform = {
    ...node,
    secrets: node.secrets,
    kind: 'electron',
    async chooseFileToSave(options) {
      asked.push(options);
      return answer;
    },
  };
  core = new Core({ platform, carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  const db = core.requireWorkspace().db;
  const host = insertHost(db, { name: 'srv01', address: '198.18.0.9' });
  completeAudit(db, startAudit(db, { hostId: host.id, taskId: null }), {
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 1,
    rebootRequired: false,
    warnings: [],
    durationMs: 1,
    findings: [finding('openssl', true), finding('@evil'), finding('zlib1g')],
  });
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

const exportVia = (carrier: 'electron' | 'browser', args: Record<string, unknown> = {}) =>
  core.router.call('findings.exportCsv', args, { carrier });

describe('findings.exportCsv', () => {
  it('in the app, writes the filtered rows to the file the save dialog chose', async () => {
    const file = path.join(dir, 'chosen.csv');
    answer = file;
    const result = await exportVia('electron', { securityOnly: true });
    expect(result).toEqual({
      ok: true,
      value: { rows: 1, matched: 1, csv: null, path: file, cancelled: false },
    });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ filters: [{ name: 'CSV', extensions: ['csv'] }] });
    const lines = fs.readFileSync(file, 'utf8').split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^"srv01","198\.18\.0\.9","Debian GNU\/Linux 12","openssl",/);
  });

  it('in the app, a closed dialog saves nothing and says so', async () => {
    answer = null;
    const before = fs.readdirSync(dir).sort();
    expect(await exportVia('electron')).toEqual({
      ok: true,
      value: { rows: 0, matched: 0, csv: null, path: null, cancelled: true },
    });
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('in the app, a file that cannot be written is a clear failure', async () => {
    answer = path.join(dir, 'no-such-folder', 'x.csv');
    expect(await exportVia('electron')).toEqual({
      ok: false,
      error: {
        code: 'unavailable',
        message: `Could not save the CSV to ${answer} (ENOENT); nothing was exported.`,
      },
    });
  });

  it('elsewhere, returns the CSV for the page to download, formula-safe', async () => {
    const calls = asked.length;
    const result = await exportVia('browser', { sort: 'package' });
    expect(asked).toHaveLength(calls);
    expect(result.ok).toBe(true);
    const { csv, rows, path: saved } = (result as { value: { csv: string; rows: number; path: null } }).value;
    expect([rows, saved]).toEqual([3, null]);
    expect(csv.split('\r\n')[1]).toMatch(/^"srv01","198\.18\.0\.9","Debian GNU\/Linux 12","'@evil",/);
  });

  it('stops at its limit and reports how many rows matched', () => {
    const out = findingsCsv(core.requireWorkspace().db, { sort: 'package' }, 2);
    expect([out.rows, out.matched]).toEqual([2, 3]);
    expect(out.text.split('\r\n')).toHaveLength(4);
  });
});
