import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { completeAudit, startAudit } from '../audits';
import { refreshCurrentFindings } from '../current';
import { insertHost } from '../hosts';
import { createMemoryWorkspace, migrate } from '../workspace';

/** The reference: each host's newest successful audit by when it was taken, then by id. */
const reference = (db: Database.Database) =>
  db
    .prepare(
      `SELECT host_id, id AS audit_id FROM (SELECT host_id, id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
         FROM audits WHERE status = 'succeeded') WHERE rn = 1 ORDER BY host_id`,
    )
    .all();
const kept = (db: Database.Database) =>
  db.prepare('SELECT host_id, audit_id FROM current_audits ORDER BY host_id').all();
const currentRows = (db: Database.Database) => {
  refreshCurrentFindings(db);
  return db
    .prepare('SELECT id, host_id, host_name, package, tier_rank, sharing FROM current_findings ORDER BY id')
    .all();
};
const expectedRows = (db: Database.Database) =>
  db
    .prepare(
      `SELECT f.id, f.host_id, h.name AS host_name, f.package,
         CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END AS tier_rank,
         count(*) OVER (PARTITION BY f.kind, f.package) AS sharing
       FROM findings f JOIN hosts h ON h.id = f.host_id
       WHERE f.audit_id IN (SELECT audit_id FROM (SELECT host_id, id AS audit_id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
         FROM audits WHERE status = 'succeeded') WHERE rn = 1)
       ORDER BY f.id`,
    )
    .all();

function audit(
  db: Database.Database,
  hostId: number,
  status: string,
  startedAt: string,
  packages: string[],
): number {
  const id = Number(
    db
      .prepare(
        `INSERT INTO audits (host_id, task_id, status, source, refreshed, started_at) VALUES (?, NULL, ?, 'ssh', 0, ?)`,
      )
      .run(hostId, status, startedAt).lastInsertRowid,
  );
  for (const p of packages)
    db.prepare(
      `INSERT INTO findings (audit_id, host_id, package, available_version, security, tier) VALUES (?, ?, ?, '2', 1, 'high')`,
    ).run(id, hostId, p);
  return id;
}

describe('migration 015 (current picture)', () => {
  it('backfills each host’s newest successful audit by when it was taken, and triggers keep it and its findings', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, 14);
    const host = (name: string) =>
      Number(
        db
          .prepare(`INSERT INTO hosts (name, ssh_port, created_at, updated_at) VALUES (?, 22, 'x', 'x')`)
          .run(name).lastInsertRowid,
      );
    const a = host('alpha');
    const b = host('beta');
    const c = host('gamma');
    audit(db, a, 'succeeded', '2026-11-01T00:00:00Z', ['openssl', 'curl']);
    const aNewest = audit(db, a, 'succeeded', '2026-11-03T00:00:00Z', ['openssl']);
    // An offline collection taken earlier but stored later does not hide the newer audit.
    audit(db, a, 'succeeded', '2026-11-02T00:00:00Z', ['bash']);
    audit(db, a, 'failed', '2026-11-04T00:00:00Z', []);
    audit(db, b, 'succeeded', '2026-11-01T00:00:00Z', ['openssl']);
    audit(db, c, 'failed', '2026-11-01T00:00:00Z', []);
    migrate(db, 15);
    expect(kept(db)).toEqual(reference(db));
    expect(kept(db)).toContainEqual({ host_id: a, audit_id: aNewest });
    expect(currentRows(db)).toEqual(expectedRows(db));

    // A new audit: running, then succeeded (as completeAudit stores it), then re-dated.
    const run = audit(db, b, 'running', '2026-11-05T00:00:00Z', ['curl', 'openssl']);
    expect(kept(db)).toEqual(reference(db));
    db.prepare(`UPDATE audits SET status = 'succeeded' WHERE id = ?`).run(run);
    expect(kept(db)).toEqual(reference(db));
    expect(currentRows(db)).toEqual(expectedRows(db));
    db.prepare(`UPDATE audits SET started_at = '2026-10-01T00:00:00Z' WHERE id = ?`).run(run);
    expect(kept(db)).toEqual(reference(db));
    expect(currentRows(db)).toEqual(expectedRows(db));
    // The enrichment judges a current finding again; a host is renamed.
    db.prepare(`UPDATE findings SET tier = 'kev' WHERE audit_id = ?`).run(aNewest);
    db.prepare(`UPDATE hosts SET name = 'alpha-renamed' WHERE id = ?`).run(a);
    expect(currentRows(db)).toEqual(expectedRows(db));
    // The newest audit deleted: the previous one is current again; a host deleted: gone.
    db.prepare('DELETE FROM audits WHERE id = ?').run(aNewest);
    expect(kept(db)).toEqual(reference(db));
    expect(currentRows(db)).toEqual(expectedRows(db));
    db.prepare('DELETE FROM hosts WHERE id = ?').run(b);
    expect(kept(db)).toEqual(reference(db));
    expect(currentRows(db)).toEqual(expectedRows(db));
    // The package view's summary is the aggregate of the current findings.
    expect(
      db
        .prepare(
          'SELECT kind, package, findings, hosts, tier_rank FROM current_updates ORDER BY kind, package',
        )
        .all(),
    ).toEqual(
      db
        .prepare(
          `SELECT kind, package, count(*) AS findings, count(DISTINCT host_id) AS hosts, min(tier_rank) AS tier_rank
           FROM current_findings GROUP BY kind, package ORDER BY kind, package`,
        )
        .all(),
    );
    // Nothing changed since: nothing to rebuild.
    expect(refreshCurrentFindings(db)).toBe(0);
  });

  it('marks a host once per stored audit (its completion), not once per finding', () => {
    const db = createMemoryWorkspace();
    const store = (hostId: number, startedAt: string, packages: string[]) => {
      const id = startAudit(db, { hostId, taskId: null });
      completeAudit(db, id, {
        osId: 'debian',
        osName: 'Debian GNU/Linux',
        osVersion: '12',
        kernel: null,
        packageManager: 'apt',
        metadataAgeSeconds: null,
        rebootRequired: null,
        warnings: [],
        durationMs: 1,
        startedAt,
        findings: packages.map((p) => ({
          kind: 'package',
          package: p,
          arch: 'amd64',
          installedVersion: '1',
          availableVersion: '2',
          repository: null,
          security: false,
          severity: null,
          vendorSeverity: null,
          advisories: [],
          held: false,
          rebootRequired: null,
        })),
      });
      return id;
    };
    const a = insertHost(db, { name: 'alpha', address: '10.0.0.1' }).id;
    const b = insertHost(db, { name: 'beta', address: '10.0.0.2' }).id;
    // Storing a finding runs no trigger: the audit's status update marks its host.
    expect(
      db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'findings'`)
        .pluck()
        .all(),
    ).not.toContain('current_findings_added');
    store(a, '2026-11-01T00:00:00Z', ['openssl', 'curl']);
    store(b, '2026-11-01T00:00:00Z', ['openssl']);
    expect(db.prepare('SELECT host_id FROM current_dirty ORDER BY host_id').pluck().all()).toEqual([a, b]);
    expect(currentRows(db)).toEqual(expectedRows(db));
    // A newer audit, then a late offline collection taken before it: each marks its host again.
    store(a, '2026-11-03T00:00:00Z', ['openssl', 'bash', 'vim']);
    expect(db.prepare('SELECT host_id FROM current_dirty').pluck().all()).toEqual([a]);
    expect(currentRows(db)).toEqual(expectedRows(db));
    store(a, '2026-11-02T00:00:00Z', ['zlib1g']);
    expect(db.prepare('SELECT host_id FROM current_dirty').pluck().all()).toEqual([a]);
    expect(refreshCurrentFindings(db)).toBe(1);
    expect(currentRows(db)).toEqual(expectedRows(db));
    expect(
      db
        .prepare('SELECT package FROM current_findings WHERE host_id = ? ORDER BY package')
        .pluck()
        .all(a) as string[],
    ).toEqual(['bash', 'openssl', 'vim']);
  });
});
