import { describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { completeAudit, startAudit, type FindingInput } from './audits';
import { insertHost } from './hosts';
import { writeAuditIntel, type FindingJudgement } from './intel';
import { createMemoryWorkspace } from './workspace';

/**
 * A bulk import that already knows the judgement stores it in each finding's INSERT
 * (FindingInput.judged) and lets writeAuditIntel write only the evidence (storedWithFinding): the
 * rows must be exactly those of the usual path (insert, then the enrichment's UPDATE per finding).
 */
const JUDGED_AT = '2026-11-21T06:00:00.000Z';

function findings(): FindingInput[] {
  return Array.from({ length: 40 }, (_, i) => ({
    kind: 'package',
    package: `pkg-${i}`,
    arch: 'amd64',
    installedVersion: '1.0-1',
    availableVersion: '1.0-2',
    repository: i % 2 ? 'Debian-Security:12/stable-security' : 'Debian:12.8/stable',
    security: i % 2 === 1,
    severity: i % 2 ? 'important' : null,
    vendorSeverity: null,
    advisories: i % 2 ? [`DSA-${5500 + i}-1`] : [],
    held: false,
    rebootRequired: null,
  }));
}

/** Odd findings get 1–5 CVEs: 20 × 3 = 60 evidence rows, so every batch size is used (50, 8, 2). */
function judgement(i: number, findingId: number): FindingJudgement {
  const cves = i % 2 ? Array.from({ length: 1 + (i % 5) }, (_, k) => `CVE-2026-${1000 + i * 10 + k}`) : [];
  return {
    findingId,
    cves,
    kev: i === 3,
    epss: i % 2 ? i / 100 : null,
    tier: i === 3 ? 'kev' : i % 2 ? 'high' : null,
    firstSeenAt: '2026-11-01T06:00:00.000Z',
    dueAt: i % 2 ? '2026-12-01T06:00:00.000Z' : null,
    evidence: cves.map((cve) => ({
      cve,
      advisoryRowId: null,
      advisoryId: `DSA-${5500 + i}-1`,
      feed: 'package-manager' as const,
      sourceId: null,
      ecosystem: null,
      matchedName: `pkg-${i}`,
      nameKind: 'package-manager' as const,
      fixedVersion: '1.0-2',
    })),
    previous: null,
  };
}

const RESULT = {
  osId: 'debian',
  osName: 'Debian GNU/Linux',
  osVersion: '12',
  kernel: null,
  packageManager: 'apt',
  metadataAgeSeconds: 60,
  rebootRequired: false,
  warnings: [],
  durationMs: 10,
  startedAt: '2026-11-20T06:00:00.000Z',
};

function store(db: Database, judgedInInsert: boolean): number {
  const host = insertHost(db, { name: 'alpha', address: '10.0.0.1' });
  const auditId = startAudit(db, { hostId: host.id, taskId: null });
  const input = findings();
  const known = input.map((_, i) => judgement(i, 0));
  const ids = completeAudit(db, auditId, {
    ...RESULT,
    findings: judgedInInsert
      ? input.map((f, i) => ({ ...f, judged: { ...known[i]!, judgedAt: JUDGED_AT } }))
      : input,
  });
  const judgements = ids.map((id, i) => ({
    ...judgement(i, id),
    ...(judgedInInsert ? { storedWithFinding: true } : {}),
  }));
  writeAuditIntel(db, auditId, judgements, { kev: 1, critical: 0, high: 19, medium: 0, low: 0 }, JUDGED_AT);
  return auditId;
}

const dump = (db: Database) => ({
  findings: db.prepare('SELECT * FROM findings ORDER BY id').all(),
  evidence: db.prepare('SELECT * FROM finding_cves ORDER BY finding_id, cve').all(),
  audits: db.prepare('SELECT id, status, intel_counts, updates_count, security_count FROM audits').all(),
  current: db.prepare('SELECT * FROM current_findings ORDER BY id').all(),
});

describe('a judgement stored with the finding', () => {
  it('gives the same rows as the insert followed by the enrichment’s update', () => {
    const usual = createMemoryWorkspace();
    const bulk = createMemoryWorkspace();
    const a = store(usual, false);
    const b = store(bulk, true);
    expect(b).toBe(a);
    const expected = dump(usual);
    expect(expected.evidence).toHaveLength(60);
    expect(expected.findings.filter((f) => (f as { intel_at: string }).intel_at === JUDGED_AT)).toHaveLength(
      40,
    );
    expect(dump(bulk)).toEqual(expected);
  });

  it('returns the findings’ ids in the order given', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'alpha', address: '10.0.0.1' });
    const auditId = startAudit(db, { hostId: host.id, taskId: null });
    const ids = completeAudit(db, auditId, { ...RESULT, findings: findings() });
    const stored = db
      .prepare('SELECT id, package FROM findings WHERE audit_id = ? ORDER BY id')
      .all(auditId) as {
      id: number;
      package: string;
    }[];
    expect(ids).toEqual(stored.map((r) => r.id));
    expect(stored.map((r) => r.package)).toEqual(findings().map((f) => f.package));
  });
});
