import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 005 (task outcome)', () => {
  it('gives finished tasks the outcome their status said, leaves running ones open, and checks outcomes', () => {
    const db = createMemoryWorkspace(4);
    const task = db.prepare(
      `INSERT INTO tasks (id, kind, title, status, created_at) VALUES (?, 'audit', ?, ?, 't')`,
    );
    task.run(1, 'old success', 'succeeded');
    task.run(2, 'old failure', 'failed');
    task.run(3, 'old cancel', 'cancelled');
    task.run(4, 'crash', 'interrupted');
    task.run(5, 'still going', 'running');
    migrate(db, 5);
    expect(schemaVersion(db)).toBe(5);
    expect(db.prepare('SELECT id, status, outcome, summary FROM tasks ORDER BY id').all()).toEqual([
      { id: 1, status: 'succeeded', outcome: 'succeeded', summary: null },
      { id: 2, status: 'failed', outcome: 'failed', summary: null },
      { id: 3, status: 'cancelled', outcome: 'cancelled', summary: null },
      { id: 4, status: 'interrupted', outcome: 'interrupted', summary: null },
      { id: 5, status: 'running', outcome: null, summary: null },
    ]);
    db.prepare(
      `UPDATE tasks SET outcome = 'partly-failed', summary = '1 of 2 hosts succeeded, 1 failed' WHERE id = 5`,
    ).run();
    expect(() => db.prepare(`UPDATE tasks SET outcome = 'fine' WHERE id = 1`).run()).toThrow(/CHECK/);
  });
});
