import { describe, expect, it } from 'vitest';
import {
  completeAudit,
  INSTALLED_SETS_KEPT,
  listFindings,
  listInstalledPackages,
  startAudit,
  type FindingInput,
  type InstalledPackage,
} from './audits';
import { insertHost } from './hosts';
import { createMemoryWorkspace } from './workspace';

type Db = ReturnType<typeof createMemoryWorkspace>;

const kernel = (version: string): InstalledPackage => ({
  name: 'kernel',
  arch: 'x86_64',
  version,
  sourceName: 'kernel',
  sourceVersion: version,
});

const update: FindingInput = {
  kind: 'package',
  package: 'bsdutils',
  arch: 'amd64',
  installedVersion: '1:2.38.1-5+deb12u1',
  availableVersion: '1:2.38.1-5+deb12u3',
  repository: 'bookworm-security',
  security: true,
  severity: null,
  vendorSeverity: null,
  advisories: [],
  held: false,
  rebootRequired: null,
  sourcePackage: 'util-linux',
  sourceInstalledVersion: '2.38.1-5+deb12u1',
  sourceAvailableVersion: '2.38.1-5+deb12u3',
};

function audit(
  db: Db,
  hostId: number,
  startedAt: string | null,
  installed: InstalledPackage[] | undefined,
  dated?: string,
): number {
  const id = startAudit(db, { hostId, taskId: null });
  if (startedAt !== null) db.prepare('UPDATE audits SET started_at = ? WHERE id = ?').run(startedAt, id);
  completeAudit(db, id, {
    osId: 'rocky',
    osName: 'Rocky Linux',
    osVersion: '9.3',
    kernel: null,
    packageManager: 'dnf',
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 5,
    findings: [update],
    ...(installed ? { installed } : {}),
    ...(dated ? { startedAt: dated, finishedAt: dated } : {}),
  });
  return id;
}

describe('installed sets', () => {
  it('stores the installed set with source names, several versions of one kernel included, and the source columns', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'h', address: '198.18.0.11' });
    const set = [
      kernel('5.14.0-362.8.1.el9_3'),
      kernel('5.14.0-427.13.1.el9_4'),
      { name: 'gpg-pubkey', arch: null, version: 'fd431d51-4ae0493b', sourceName: null, sourceVersion: null },
    ];
    const id = audit(db, host.id, null, set);
    expect(listInstalledPackages(db, id)).toEqual([
      { name: 'gpg-pubkey', arch: null, version: 'fd431d51-4ae0493b', sourceName: null, sourceVersion: null },
      kernel('5.14.0-362.8.1.el9_3'),
      kernel('5.14.0-427.13.1.el9_4'),
    ]);
    expect(listFindings(db, id)[0]).toMatchObject({
      sourcePackage: 'util-linux',
      sourceInstalledVersion: '2.38.1-5+deb12u1',
      sourceAvailableVersion: '2.38.1-5+deb12u3',
    });
  });

  it(`keeps the installed sets of each host's newest ${INSTALLED_SETS_KEPT} audits only, by when they were taken`, () => {
    const db = createMemoryWorkspace();
    const a = insertHost(db, { name: 'a', address: '198.18.0.11' });
    const b = insertHost(db, { name: 'b', address: '198.18.0.12' });
    const other = audit(db, b.id, '2026-01-01T00:00:00.000Z', [kernel('1-1')]);
    const ids = [1, 2, 3, 4].map((day) =>
      audit(db, a.id, `2026-02-0${day}T00:00:00.000Z`, [kernel(`${day}-1`)]),
    );
    // An audit without a set (a Windows-like result, or a failed section) does not push one out.
    audit(db, a.id, '2026-02-05T00:00:00.000Z', undefined);
    const kept = (id: number): number => listInstalledPackages(db, id).length;
    expect(ids.map(kept)).toEqual([0, 1, 1, 1]);
    expect(kept(other)).toBe(1);
    // An offline collection taken before all of them is dated by the host's clock: it is the
    // oldest, so it loses its own set and the newer three keep theirs.
    const late = audit(db, a.id, null, [kernel('0-1')], '2026-01-15T00:00:00.000Z');
    expect(kept(late)).toBe(0);
    expect(ids.map(kept)).toEqual([0, 1, 1, 1]);
    expect(db.prepare('SELECT started_at, finished_at FROM audits WHERE id = ?').get(late)).toEqual({
      started_at: '2026-01-15T00:00:00.000Z',
      finished_at: '2026-01-15T00:00:00.000Z',
    });
    // A newer one pushes the oldest kept set out in the same transaction.
    const newest = audit(db, a.id, '2026-03-01T00:00:00.000Z', [kernel('9-1')]);
    expect([...ids, newest].map(kept)).toEqual([0, 0, 1, 1, 1]);
    expect(kept(other)).toBe(1);
  });

  it('keeps the only installed set of a host, however many packages it has and whatever the other hosts hold', () => {
    const db = createMemoryWorkspace();
    const hosts = ['a', 'b', 'c'].map((name, i) => insertHost(db, { name, address: `198.18.0.${11 + i}` }));
    const big = (n: number) => Array.from({ length: n }, (_, i) => ({ ...kernel(`${i}-1`), name: `p${i}` }));
    const ids = hosts.map((h, i) => audit(db, h.id, null, big(100 + i)));
    expect(ids.map((id) => listInstalledPackages(db, id).length)).toEqual([100, 101, 102]);
  });
});
