import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 003 (patch job details)', () => {
  it('keeps existing jobs and steps and adds message, options, preview, package manager and verify audit', () => {
    const db = createMemoryWorkspace(2);
    db.prepare(`INSERT INTO hosts (id, name, created_at, updated_at) VALUES (7, 'lab01', 't', 't')`).run();
    db.prepare(
      `INSERT INTO patch_jobs (id, name, status, selection, reboot_policy, created_at) VALUES (1, 'j', 'draft', '{}', 'never', 't')`,
    ).run();
    db.prepare(
      `INSERT INTO job_steps (id, job_id, host_id, status, packages) VALUES (2, 1, 7, 'queued', '["a"]')`,
    ).run();
    migrate(db, 3);
    expect(schemaVersion(db)).toBe(3);
    expect(db.prepare('SELECT message, options FROM patch_jobs WHERE id = 1').get()).toEqual({
      message: null,
      options: '{}',
    });
    expect(
      db
        .prepare('SELECT packages, preview, package_manager, verify_audit_id FROM job_steps WHERE id = 2')
        .get(),
    ).toEqual({
      packages: '["a"]',
      preview: null,
      package_manager: null,
      verify_audit_id: null,
    });
    db.prepare(`UPDATE job_steps SET preview = '{}', package_manager = 'apt' WHERE id = 2`).run();
    db.prepare('DELETE FROM patch_jobs WHERE id = 1').run();
    expect((db.prepare('SELECT count(*) n FROM job_steps').get() as { n: number }).n).toBe(0);
  });
});
