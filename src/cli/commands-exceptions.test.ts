import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, FindingExceptionRecord } from '../api';
import { DEFAULT_SETTINGS } from '../api';
import { Core } from '../core';
import { insertHost, listAuditLog, openWorkspace } from '../db';
import { packageFinding, recordAudit, type AuditedSystem } from '../db/testing/audits';
import { enrichCurrentFindings } from '../intel/enrich';
import { addAdvisory, addEpss, addKev, addSource, dateAudit } from '../intel/testing/snapshot';
import { createNodePlatform } from '../platform';
import { systemClock } from '../util';
import { runCli } from './testing/run-cli';

// `patchdeck findings --overdue/--kev/--tier/--epss` and `patchdeck exceptions add|list|remove`
// as real processes over a real workspace file judged against real ALSA/KEV/EPSS values. The
// audits are dated in 2024, so every due date has passed by the time the test runs.

const ALMA_9: AuditedSystem = { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' };
let dir: string;
let file: string;

const upd = (name: string, from: string, to: string, security = false) =>
  packageFinding({
    package: name,
    arch: 'x86_64',
    installedVersion: from,
    availableVersion: to,
    repository: 'baseos',
    security,
  });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-exceptions-'));
  file = path.join(dir, 'ws.sqlite');
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  const db = core.requireWorkspace().db;
  const osv = addSource(db, { feed: 'osv', publisher: 'AlmaLinux' });
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA' });
  const epss = addSource(db, { feed: 'epss', publisher: 'FIRST' });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2023:6077',
    cves: ['CVE-2023-39325', 'CVE-2023-44487'],
    severity: 'medium',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'toolbox', nameKind: 'binary', fixed: '0.0.99.3-10.el9_2' },
    ],
  });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2024:0005',
    cves: ['CVE-2024-0005'],
    severity: 'high',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'openssh', nameKind: 'binary', fixed: '8.7p1-38.el9_4.1' },
    ],
  });
  addKev(db, kev, 'CVE-2023-44487', { dateAdded: '2023-10-10', dueDate: '2023-10-31' });
  addEpss(db, epss, 'CVE-2023-44487', 0.99999, 0.99997);
  addEpss(db, epss, 'CVE-2024-0005', 0.2, 0.9);
  const web = insertHost(db, { name: 'web1' }).id;
  const id = recordAudit(db, web, ALMA_9, 'dnf', [
    upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2'),
    upd('openssh', '8.7p1-38.el9', '8.7p1-38.el9_4.1', true),
    upd('bugfix', '1-1', '2-1'),
  ]);
  dateAudit(db, id, '2024-01-01T00:00:00.000Z');
  enrichCurrentFindings(db, { clock: systemClock, settings: DEFAULT_SETTINGS });
  await core.closeWorkspace();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const patchdeck = (...args: string[]) =>
  runCli(args, { workspace: file, configDir: path.join(dir, 'config') });
const json = <T>(text: string): T => JSON.parse(text) as T;

describe('patchdeck findings, by risk', () => {
  it(
    '--kev, --tier, --epss and --overdue narrow the list; risk order by default then',
    { timeout: 120_000 },
    async () => {
      const kev = await patchdeck('--json', 'findings', '--kev');
      expect(kev.code).toBe(0);
      expect(json<Finding[]>(kev.stdout).map((f) => [f.package, f.tier, f.kev, f.epss])).toEqual([
        ['toolbox', 'kev', true, 0.99999],
      ]);
      const high = await patchdeck('--json', 'findings', '--tier', 'high');
      expect(json<Finding[]>(high.stdout).map((f) => f.package)).toEqual(['openssh']);
      const epss = await patchdeck('--json', 'findings', '--epss', '0.1');
      expect(json<Finding[]>(epss.stdout).map((f) => f.package)).toEqual(['toolbox', 'openssh']);
      const overdue = await patchdeck('findings', '--overdue');
      expect(overdue.code).toBe(0);
      expect(overdue.stdout).toMatch(
        /toolbox .*kev .*CVE-2023-39325 CVE-2023-44487 .*yes .*0\.999 .*2023-10-31 overdue/,
      );
      expect(overdue.stdout).toMatch(/openssh .*high .*CVE-2024-0005 .*0\.200 .*2024-01-31 overdue/);
      expect(overdue.stdout).not.toContain('bugfix');
      expect(overdue.stdout).toContain('2 pending updates on 1 host, 1 security.');
    },
  );

  it('refuses a tier or a score that is none, by the flag', { timeout: 60_000 }, async () => {
    const tier = await patchdeck('findings', '--tier', 'urgent');
    expect(tier.code).toBe(2);
    expect(tier.stderr).toContain('--tier is one of kev, critical, high, medium, low, not "urgent".');
    const epss = await patchdeck('findings', '--epss', '7');
    expect(epss.code).toBe(2);
    expect(epss.stderr).toContain('--epss is a score from 0 to 1');
  });
});

describe('patchdeck exceptions', () => {
  it(
    'add, list, remove: accepted findings leave --overdue, and come back when removed; the audit log keeps both',
    { timeout: 120_000 },
    async () => {
      // toolbox's update fixes CVE-2023-39325 and the known-exploited CVE-2023-44487: accepting
      // the first alone leaves it open and overdue.
      const other = await patchdeck(
        'exceptions',
        'add',
        '--accept',
        '--cve',
        'CVE-2023-39325',
        '--reason',
        'not reachable',
        '--owner',
        'ops team',
        '--expires',
        '2099-01-31',
      );
      expect(other.stdout).toMatch(
        /^Exception (\d+): accepted CVE-2023-39325 until 2099-01-31 23:59 UTC \(0 current findings\)/,
      );
      const otherId = /^Exception (\d+)/.exec(other.stdout)![1]!;
      const still = await patchdeck('--json', 'findings', '--kev', '--overdue');
      expect(json<Finding[]>(still.stdout).map((f) => f.package)).toEqual(['toolbox']);
      const add = await patchdeck(
        'exceptions',
        'add',
        '--accept',
        '--cve',
        'CVE-2023-44487',
        '--reason',
        'behind a proxy that rejects HTTP/2',
        '--owner',
        'ops team',
        '--expires',
        '2099-01-31',
      );
      expect(add.code).toBe(0);
      expect(add.stdout).toMatch(
        /^Exception (\d+): accepted CVE-2023-44487 until 2099-01-31 23:59 UTC \(1 current finding\); owner ops team\.\n$/,
      );
      const id = /^Exception (\d+)/.exec(add.stdout)![1]!;
      const list = await patchdeck('--json', 'exceptions', 'list');
      expect(
        json<FindingExceptionRecord[]>(list.stdout).map((e) => [e.id, e.scope, e.state, e.findings]),
      ).toEqual([
        [Number(id), 'cve', 'active', 1],
        [Number(otherId), 'cve', 'active', 1],
      ]);
      const table = await patchdeck('exceptions', 'list');
      expect(table.stdout).toMatch(
        /accept .*cve .*CVE-2023-44487 .*2099-01-31 23:59 .*active .*ops team .*behind a proxy/,
      );
      const overdue = await patchdeck('--json', 'findings', '--overdue');
      expect(json<Finding[]>(overdue.stdout).map((f) => f.package)).toEqual(['openssh']);
      const all = await patchdeck('findings', '--kev');
      expect(all.stdout).toContain('2023-10-31 accepted');

      const removed = await patchdeck('exceptions', 'remove', id, '--reason', 'proxy replaced');
      expect(removed.stdout).toBe(`Exception ${id} removed.\n`);
      expect((await patchdeck('exceptions', 'remove', id)).stdout).toBe(
        `Exception ${id} was already removed.\n`,
      );
      const back = await patchdeck('--json', 'findings', '--overdue');
      expect(json<Finding[]>(back.stdout).map((f) => f.package)).toEqual(['toolbox', 'openssh']);
      expect((await patchdeck('exceptions', 'remove', otherId)).code).toBe(0);
      expect((await patchdeck('exceptions', 'list')).stdout).toBe('No active exceptions.\n');
      expect((await patchdeck('exceptions', 'list', '--all')).stdout).toMatch(/removed/);

      const db = openWorkspace(file);
      try {
        const log = listAuditLog(db, { entityType: 'exception' });
        expect(log.map((l) => [l.action, l.details.reason])).toEqual([
          ['exception.removed', null],
          ['exception.removed', 'proxy replaced'],
          ['exception.added', 'behind a proxy that rejects HTTP/2'],
          ['exception.added', 'not reachable'],
        ]);
      } finally {
        db.close();
      }
    },
  );

  it('a package on one host, and the refusals', { timeout: 120_000 }, async () => {
    const add = await patchdeck(
      '--json',
      'exceptions',
      'add',
      '--defer',
      '--package',
      'openssh',
      '--host',
      'web1',
      '--reason',
      'maintenance window in January',
      '--owner',
      'dba',
      '--expires',
      '2099-01-15T18:00:00+01:00',
    );
    expect(add.code).toBe(0);
    expect(json<FindingExceptionRecord>(add.stdout)).toMatchObject({
      scope: 'host-package',
      decision: 'defer',
      hostName: 'web1',
      package: 'openssh',
      expiresAt: '2099-01-15T17:00:00.000Z',
      findings: 1,
    });
    const overdue = await patchdeck('--json', 'findings', '--overdue');
    expect(json<Finding[]>(overdue.stdout).map((f) => f.package)).toEqual(['toolbox']);
    const neither = await patchdeck(
      'exceptions',
      'add',
      '--cve',
      'CVE-2023-44487',
      '--reason',
      'x',
      '--owner',
      'y',
      '--expires',
      '2099-01-01',
    );
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('Say --accept or --defer.');
    const past = await patchdeck(
      'exceptions',
      'add',
      '--accept',
      '--package',
      'bugfix',
      '--reason',
      'old news',
      '--owner',
      'y',
      '--expires',
      '2020-01-01',
    );
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('The expiry must be in the future.');
    const badDate = await patchdeck(
      'exceptions',
      'add',
      '--accept',
      '--package',
      'x',
      '--reason',
      'abc',
      '--owner',
      'y',
      '--expires',
      'soon',
    );
    expect(badDate.stderr).toContain('--expires takes a date (2027-01-31)');
  });
});
