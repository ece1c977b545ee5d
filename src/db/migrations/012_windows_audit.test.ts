import { describe, expect, it } from 'vitest';
import {
  completeAudit,
  listAuditHotfixes,
  listFindings,
  getAudit,
  startAudit,
  windowsUpdatesOf,
} from '../audits';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

const finding = (over: Record<string, unknown> = {}) => ({
  kind: 'kb',
  package: 'KB5050021',
  arch: null,
  installedVersion: null,
  availableVersion: '2025-01 Cumulative Update (KB5050021)',
  repository: 'Security Updates',
  security: true,
  severity: 'critical',
  vendorSeverity: 'Critical',
  advisories: ['KB5050021'],
  held: false,
  rebootRequired: true,
  ...over,
});
const DETAILS = {
  updateId: '6b2a3c4d-1e0f-4a5b-9c8d-7e6f5a4b3c2d',
  revision: 1,
  sizeBytes: 812345678,
  releasedAt: '2025-01-07T00:00:00Z',
  rebootBehavior: 'can-request' as const,
  categories: ['Security Updates'],
  updateType: 'software' as const,
};
const FACTS = {
  caption: 'Microsoft Windows 11 Pro',
  productName: 'Windows 10 Pro',
  displayVersion: '23H2',
  version: '10.0.22631',
  build: '22631',
  ubr: 4751,
  arch: '64-bit',
  computerName: 'PC-RECEPTION',
  policy: { server: 'http://wsus:8530', useWUServer: true, noAutoUpdate: false, auOptions: 4 },
  searchedBy: 'session' as const,
  rebootReasons: ['CBS RebootPending'],
};
const base = {
  osId: 'windows',
  osName: 'Windows 11 Pro',
  osVersion: '10.0.22631',
  kernel: '10.0.22631.4751',
  packageManager: 'windows-update',
  metadataAgeSeconds: null,
  rebootRequired: false,
  warnings: [],
  durationMs: 1,
};

describe('migration 012 (Windows audit details)', () => {
  it('adds finding details, audit facts and hotfixes to a workspace at 011, keeping its rows', () => {
    const db = createMemoryWorkspace(11);
    db.prepare(
      `INSERT INTO hosts (id, name, address, names, created_at, updated_at) VALUES (1, 'pc1', '198.18.0.9', '[]', 't', 't')`,
    ).run();
    db.prepare(`INSERT INTO audits (id, host_id, status, started_at) VALUES (1, 1, 'succeeded', 't')`).run();
    db.prepare(
      `INSERT INTO findings (audit_id, host_id, package, available_version) VALUES (1, 1, 'openssl', '3.0.1')`,
    ).run();
    migrate(db, 12);
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(12);
    expect(db.prepare('SELECT package, details FROM findings').all()).toEqual([
      { package: 'openssl', details: null },
    ]);
    expect(db.prepare('SELECT windows FROM audits').all()).toEqual([{ windows: null }]);
    expect(() => db.prepare(`UPDATE findings SET details = 'not json'`).run()).toThrow(/CHECK/);
    db.prepare(`INSERT INTO audit_hotfixes (audit_id, hotfix_id) VALUES (1, 'KB1')`).run();
    db.prepare('DELETE FROM audits WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) n FROM audit_hotfixes').get()).toEqual({ n: 0 });
  });

  it('stores a Windows audit and gives the patch flow its KBs with UpdateID and revision', () => {
    const db = createMemoryWorkspace();
    db.prepare(
      `INSERT INTO hosts (id, name, address, names, created_at, updated_at) VALUES (1, 'pc1', '198.18.0.9', '[]', 't', 't')`,
    ).run();
    expect(windowsUpdatesOf(db, 1)).toEqual([]);
    const id = startAudit(db, { hostId: 1, taskId: null, source: 'winrm' });
    completeAudit(db, id, {
      ...base,
      findings: [
        finding({ details: DETAILS }),
        finding({ package: 'KB999', details: { ...DETAILS, updateId: null, revision: null } }),
        finding({ kind: 'package', package: 'openssl' }),
      ],
      windows: {
        ...FACTS,
        hotfixes: [
          { hotfixId: 'KB5048685', description: 'Update', installedOn: '2024-12-10' },
          { hotfixId: 'KB5048685', description: 'again', installedOn: null },
          { hotfixId: 'KB5047621', description: null, installedOn: null },
        ],
      },
    });
    expect(getAudit(db, id)!.windows).toEqual(FACTS);
    expect(listAuditHotfixes(db, id)).toEqual([
      { hotfixId: 'KB5047621', description: null, installedOn: null },
      { hotfixId: 'KB5048685', description: 'Update', installedOn: '2024-12-10' },
    ]);
    const stored = listFindings(db, id);
    expect(stored.find((f) => f.package === 'KB5050021')!.details).toEqual(DETAILS);
    expect(stored.find((f) => f.package === 'openssl')).not.toHaveProperty('details');
    expect(windowsUpdatesOf(db, 1)).toEqual([
      {
        findingId: expect.any(Number),
        auditId: id,
        kb: 'KB5050021',
        title: '2025-01 Cumulative Update (KB5050021)',
        updateId: DETAILS.updateId,
        revision: 1,
        security: true,
        severity: 'critical',
        rebootBehavior: 'can-request',
        sizeBytes: 812345678,
      },
    ]);
    // A later failed audit does not hide the last successful one.
    startAudit(db, { hostId: 1, taskId: null });
    expect(windowsUpdatesOf(db, 1)).toHaveLength(1);
    // Other audits read as before: no windows key.
    const linux = startAudit(db, { hostId: 1, taskId: null });
    completeAudit(db, linux, { ...base, findings: [] });
    expect(getAudit(db, linux)).not.toHaveProperty('windows');
    expect(windowsUpdatesOf(db, 1)).toEqual([]);
  });
});
