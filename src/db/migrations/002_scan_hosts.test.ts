import { describe, expect, it } from 'vitest';
import { migrate } from '../workspace';
import { createMemoryWorkspace, schemaVersion } from '../workspace';

describe('migration 002 (scan results per host)', () => {
  it('keeps existing hosts and scans, and adds scan_hosts and hosts.names', () => {
    const db = createMemoryWorkspace(1);
    db.prepare(`INSERT INTO hosts (id, name, created_at, updated_at) VALUES (7, 'lab01', 't', 't')`).run();
    db.prepare(
      `INSERT INTO scans (id, targets, ports, status, started_at) VALUES (3, '198.18.0.0/24', '[22]', 'completed', 't')`,
    ).run();
    migrate(db, 2);
    expect(schemaVersion(db)).toBe(2);
    expect(db.prepare('SELECT name, names FROM hosts WHERE id = 7').get()).toEqual({
      name: 'lab01',
      names: '[]',
    });
    db.prepare(
      `INSERT INTO scan_hosts (scan_id, host_id, address, open_ports, result, seen_at) VALUES (3, 7, '198.18.0.11', '[22]', '{}', 't')`,
    ).run();
    db.prepare('DELETE FROM scans WHERE id = 3').run();
    expect((db.prepare('SELECT count(*) n FROM scan_hosts').get() as { n: number }).n).toBe(0);
  });
});
