import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace } from '../workspace';
import { latestAudits, listCurrentFindings } from '../audits';
import { fillFleet } from './bulk';

const dump = (seed: number) => {
  const db = createMemoryWorkspace();
  const ids = fillFleet(db, { hosts: 60, auditsPerHost: 3, findingsPerAudit: 20, seed });
  const rows = db
    .prepare('SELECT host_id, package, available_version, security, tier, due_at FROM findings ORDER BY id')
    .all();
  return { db, ids, rows };
};

describe('fillFleet', () => {
  it('writes hosts × audits × findings, the same rows for the same seed and others for another', () => {
    const a = dump(7);
    expect(a.ids.hostIds).toHaveLength(60);
    expect(a.ids.auditIds).toHaveLength(180);
    expect(a.rows).toHaveLength(60 * 3 * 20);
    expect(dump(7).rows).toEqual(a.rows);
    expect(dump(8).rows).not.toEqual(a.rows);
    // Judged as the enrichment judges: security fixes have a tier, CVEs and a due date.
    const security = a.db.prepare('SELECT count(*) AS n FROM findings WHERE security = 1').get() as {
      n: number;
    };
    const judged = a.db
      .prepare(
        `SELECT count(*) AS n FROM findings WHERE security = 1 AND tier IS NOT NULL AND cves != '[]' AND due_at IS NOT NULL`,
      )
      .get() as { n: number };
    expect(security.n).toBeGreaterThan(0);
    expect(judged.n).toBe(security.n);
  });

  it("stores some hosts' newest audit before an older one, and the current picture follows when it was taken", () => {
    const { db } = dump(7);
    const late = db
      .prepare(
        `SELECT a.host_id FROM audits a JOIN audits b ON b.host_id = a.host_id AND b.id > a.id AND b.started_at < a.started_at LIMIT 1`,
      )
      .get() as { host_id: number } | undefined;
    expect(late).toBeDefined();
    const newest = latestAudits(db).find((x) => x.hostId === late!.host_id)!;
    const byTime = db
      .prepare('SELECT id FROM audits WHERE host_id = ? ORDER BY started_at DESC LIMIT 1')
      .get(late!.host_id) as { id: number };
    expect(newest.id).toBe(byTime.id);
    expect(listCurrentFindings(db)).toHaveLength(60 * 20);
  });
});
