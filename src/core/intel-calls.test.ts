import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { insertHost } from '../db';
import { packageFinding, recordAudit } from '../db/testing/audits';
import { enrichCurrentFindings } from '../intel/enrich';
import { addAdvisory, addEpss, addSource, dateAudit } from '../intel/testing/snapshot';
import { createNodePlatform } from '../platform';
import { systemClock } from '../util';
import { Core } from './core';

// Issue 13's calls through the core's router, as the window makes them: evidence, priorities,
// the dashboard, exceptions, and a change of SLA days moving every current due date.

let dir: string;
let core: Core;
let findingId: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-intel-calls-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'always' });
  const db = core.requireWorkspace().db;
  const osv = addSource(db, { feed: 'osv', publisher: 'AlmaLinux', fileName: 'ALSA-2024:0002.json' });
  const epss = addSource(db, { feed: 'epss', publisher: 'FIRST' });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2024:0002',
    cves: ['CVE-2024-0002'],
    severity: 'high',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'httpd', nameKind: 'binary', fixed: '2.4.57-5.el9_2.alma.1' },
    ],
  });
  addEpss(db, epss, 'CVE-2024-0002', 0.5, 0.9);
  const host = insertHost(db, { name: 'alma1' }).id;
  const id = recordAudit(db, host, { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' }, 'dnf', [
    packageFinding({
      package: 'httpd',
      arch: 'x86_64',
      installedVersion: '2.4.57-5.el9',
      availableVersion: '2.4.57-5.el9_2.alma.1',
      repository: 'appstream',
    }),
  ]);
  dateAudit(db, id, '2024-01-01T00:00:00.000Z');
  enrichCurrentFindings(db, { clock: systemClock, settings: DEFAULT_SETTINGS });
  findingId = (db.prepare('SELECT id FROM findings').get() as { id: number }).id;
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('issue 13 through the core', () => {
  it('findings.evidence, findings.priorities and dashboard.exposure answer from the snapshot', async () => {
    const ev = await core.call('findings.evidence', { findingId });
    expect(ev).toMatchObject({
      tier: 'high',
      dueAt: '2024-01-31T00:00:00.000Z',
      overdue: true,
      tierReason: 'the distribution rates ALSA-2024:0002 high',
    });
    expect(ev.cves[0]!.evidence[0]).toMatchObject({ sourceFile: 'ALSA-2024:0002.json', nameKind: 'binary' });
    const [first] = await core.call('findings.priorities', { limit: 5 });
    expect(first).toMatchObject({
      package: 'httpd',
      tier: 'high',
      hosts: 1,
      overdue: 1,
      findingIds: [findingId],
    });
    const x = await core.call('dashboard.exposure', {});
    expect([x.open, x.overdue, x.byTier.high]).toEqual([1, 1, 1]);
  });

  it('settings.set of slaDays moves every current due date at once', async () => {
    await core.call('settings.set', { patch: { slaDays: { ...DEFAULT_SETTINGS.slaDays, high: 10 } } });
    expect((await core.call('findings.evidence', { findingId })).dueAt).toBe('2024-01-11T00:00:00.000Z');
    const page = await core.call('findings.query', { offset: 0, limit: 10, sort: 'due' });
    expect(page.rows[0]!.dueAt).toBe('2024-01-11T00:00:00.000Z');
  });

  it('exceptions.add, list and remove; the finding is not overdue while accepted', async () => {
    const e = await core.call('exceptions.add', {
      scope: 'finding',
      decision: 'accept',
      findingId,
      reason: 'behind the reverse proxy',
      owner: 'web team',
      expiresAt: '2099-01-01T00:00:00Z',
    });
    expect(e).toMatchObject({
      scope: 'finding',
      hostName: 'alma1',
      package: 'httpd',
      findings: 1,
      createdBy: 'admin',
    });
    const page = await core.call('findings.query', { offset: 0, limit: 10, sort: 'risk', overdue: true });
    expect(page.total).toBe(0);
    expect((await core.call('exceptions.list', {})).map((r) => r.id)).toEqual([e.id]);
    expect(await core.call('exceptions.remove', { id: e.id })).toEqual({ removed: true });
    expect(
      (await core.call('findings.query', { offset: 0, limit: 10, sort: 'risk', overdue: true })).total,
    ).toBe(1);
  });
});
