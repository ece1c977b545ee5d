import { describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { refreshCurrentFindings } from './current';
import { fillFleet } from './testing/bulk';
import { createMemoryWorkspace } from './workspace';

/** Each host's newest successful audit's findings, computed directly. */
const expected = (db: Database) =>
  db
    .prepare(
      `SELECT f.id, f.host_id, h.name AS host_name, f.package, f.tier, f.due_at,
         count(*) OVER (PARTITION BY f.kind, f.package) AS sharing
       FROM findings f JOIN hosts h ON h.id = f.host_id
       WHERE f.audit_id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
         FROM audits WHERE status = 'succeeded') WHERE rn = 1)
       ORDER BY f.id`,
    )
    .all();
const current = (db: Database) =>
  db
    .prepare(
      'SELECT id, host_id, host_name, package, tier, due_at, sharing FROM current_findings ORDER BY id',
    )
    .all();
const indexes = (db: Database) =>
  db
    .prepare(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'current_findings' ORDER BY name`,
    )
    .all();

describe('rebuilding most of the current picture at once', () => {
  it('builds the indexes after the rows and gives the same rows and indexes as a host-by-host rebuild', () => {
    const db = createMemoryWorkspace();
    const before = indexes(db);
    expect(before.length).toBeGreaterThan(5);
    // 150 hosts dirty at once (an import): the bulk path.
    fillFleet(db, { hosts: 150, auditsPerHost: 2, findingsPerAudit: 6, seed: 3, hostsPerTransaction: 50 });
    expect(refreshCurrentFindings(db)).toBe(150);
    expect(indexes(db)).toEqual(before);
    expect(current(db)).toEqual(expected(db));
    // The planner still reads a page from its sort index.
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT id FROM current_findings INDEXED BY current_findings_by_package ORDER BY package, host_name COLLATE NOCASE LIMIT 5`,
      )
      .all();
    expect(plan.length).toBeGreaterThan(0);
    // A few hosts changed afterwards: the ordinary path, same answer.
    db.prepare(`UPDATE findings SET tier = 'kev' WHERE host_id IN (1, 2) AND security = 1`).run();
    db.prepare(`UPDATE hosts SET name = 'renamed' WHERE id = 3`).run();
    expect(refreshCurrentFindings(db)).toBe(3);
    expect(current(db)).toEqual(expected(db));
    expect(indexes(db)).toEqual(before);
  });
});
