import { describe, expect, it } from 'vitest';
import {
  completeAudit,
  diffWithPrevious,
  latestAudits,
  listAudits,
  queryFindings,
  startAudit,
  type FindingInput,
} from './audits';
import { insertHost } from './hosts';
import { createMemoryWorkspace } from './workspace';

const finding = (pkg: string, available: string, security = false): FindingInput => ({
  kind: 'package',
  package: pkg,
  arch: 'all',
  installedVersion: '1.0',
  availableVersion: available,
  repository: 'bookworm-security',
  security,
  severity: null,
  vendorSeverity: null,
  advisories: [],
  held: false,
  rebootRequired: null,
});

function audit(
  db: ReturnType<typeof createMemoryWorkspace>,
  hostId: number,
  startedAt: string,
  findings: FindingInput[],
): number {
  const id = startAudit(db, { hostId, taskId: null });
  db.prepare('UPDATE audits SET started_at = ? WHERE id = ?').run(startedAt, id);
  completeAudit(db, id, {
    osId: 'debian',
    osName: 'Debian',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 5,
    findings,
  });
  return id;
}

describe('audit history', () => {
  it('orders by when an audit was taken, so an older import does not hide a newer audit', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01', address: '198.18.0.11' });
    const newer = audit(db, host.id, '2026-11-20T10:00:00.000Z', [finding('acme-tool', '1.1', true)]);
    const olderImport = audit(db, host.id, '2026-11-10T10:00:00.000Z', [
      finding('acme-tool', '1.1', true),
      finding('acme-lib', '2.1'),
    ]);
    expect(latestAudits(db).map((a) => a.id)).toEqual([newer]);
    expect(listAudits(db, host.id).map((a) => a.id)).toEqual([newer, olderImport]);
    expect(queryFindings(db, { offset: 0, limit: 10, sort: 'security' }).rows.map((f) => f.package)).toEqual([
      'acme-tool',
    ]);
    const diff = diffWithPrevious(db, newer);
    expect(diff.previousAuditId).toBe(olderImport);
    expect(diff.resolved.map((f) => f.package)).toEqual(['acme-lib']);
    expect(diff.unchanged.map((f) => f.package)).toEqual(['acme-tool']);
  });

  it('pages, filters and searches current findings in SQL, security first', () => {
    const db = createMemoryWorkspace();
    const a = insertHost(db, { name: 'alpha' });
    const b = insertHost(db, { name: 'beta' });
    audit(db, a.id, '2026-11-20T10:00:00.000Z', [finding('zlib', '2'), finding('openssl', '3', true)]);
    audit(db, b.id, '2026-11-20T10:00:00.000Z', [finding('curl_x', '8', true)]);
    const page = queryFindings(db, { offset: 0, limit: 2, sort: 'security' });
    expect(page).toMatchObject({ total: 3, securityTotal: 2, hostsTotal: 2 });
    expect(page.rows.map((f) => f.security)).toEqual([true, true]);
    expect(queryFindings(db, { offset: 2, limit: 2, sort: 'security' }).rows.map((f) => f.package)).toEqual([
      'zlib',
    ]);
    expect(
      queryFindings(db, { offset: 0, limit: 10, sort: 'package', securityOnly: true }).rows.map(
        (f) => f.package,
      ),
    ).toEqual(['curl_x', 'openssl']);
    // LIKE wildcards in the search are taken literally.
    expect(
      queryFindings(db, { offset: 0, limit: 10, sort: 'package', search: 'l_x' }).rows.map((f) => f.package),
    ).toEqual(['curl_x']);
    expect(queryFindings(db, { offset: 0, limit: 10, sort: 'package', search: '%' }).total).toBe(0);
  });
});
