import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

const tableNames = (db: ReturnType<typeof createMemoryWorkspace>, type: string): string[] =>
  (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = ? ORDER BY name`).all(type) as {
      name: string;
    }[]
  ).map((r) => r.name);

describe('migration 010 (job_events → job_log)', () => {
  it('keeps every log line, its id and its cascades under the new name', () => {
    const db = createMemoryWorkspace(9);
    db.prepare(
      `INSERT INTO hosts (id, name, address, names, created_at, updated_at) VALUES (1, 'web01', '198.18.0.2', '[]', 't', 't')`,
    ).run();
    db.prepare(
      `INSERT INTO patch_jobs (id, name, status, selection, reboot_policy, on_failure, concurrency, created_at)
       VALUES (1, 'j', 'running', '{}', 'never', 'continue', 1, 't')`,
    ).run();
    db.prepare(`INSERT INTO job_steps (id, job_id, host_id, status) VALUES (1, 1, 1, 'running')`).run();
    const line = db.prepare(
      `INSERT INTO job_events (id, job_id, step_id, at, stream, text) VALUES (?, 1, ?, 't', ?, ?)`,
    );
    line.run(7, 1, 'stdout', 'Unpacking acme-tool');
    line.run(9, null, 'info', 'job started');

    migrate(db, 10);
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(10);
    expect(tableNames(db, 'table')).toContain('job_log');
    expect(tableNames(db, 'table')).not.toContain('job_events');
    expect(tableNames(db, 'index')).toContain('job_log_job');
    expect(tableNames(db, 'index')).not.toContain('job_events_job');
    expect(db.prepare('SELECT id, step_id, stream, text FROM job_log ORDER BY id').all()).toEqual([
      { id: 7, step_id: 1, stream: 'stdout', text: 'Unpacking acme-tool' },
      { id: 9, step_id: null, stream: 'info', text: 'job started' },
    ]);
    // The stream check and the foreign keys came along.
    expect(() =>
      db.prepare(`INSERT INTO job_log (job_id, at, stream, text) VALUES (1, 't', 'shout', 'x')`).run(),
    ).toThrow(/CHECK/);
    expect(() =>
      db.prepare(`INSERT INTO job_log (job_id, at, stream, text) VALUES (99, 't', 'info', 'x')`).run(),
    ).toThrow(/FOREIGN KEY/);
    db.prepare('DELETE FROM job_steps WHERE id = 1').run();
    expect(db.prepare('SELECT id FROM job_log').all()).toEqual([{ id: 9 }]);
    db.prepare('DELETE FROM patch_jobs WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) n FROM job_log').get()).toEqual({ n: 0 });
  });
});
