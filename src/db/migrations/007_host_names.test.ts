import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 007 (host name sources, scan coverage)', () => {
  it('keeps names that may be an admin’s, marks address names and scan-learned names as replaceable', () => {
    const db = createMemoryWorkspace(5);
    db.prepare(
      `INSERT INTO scans (id, targets, ports, status, started_at) VALUES (1, '198.18.0.0/24', '[22]', 'completed', 't')`,
    ).run();
    const host = db.prepare(
      `INSERT INTO hosts (id, name, address, names, first_seen, first_scan_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'u')`,
    );
    host.run(1, 'fileserver', '198.18.0.1', '[]', null, null, 't0'); // typed in by hand
    host.run(2, '198.18.0.2', '198.18.0.2', '[]', 't1', 1, 't1'); // scan found no name
    host.run(3, 'h3.lab', '198.18.0.3', '["h3.lab"]', 't1', 1, 't1'); // scan-created, named by the scan
    host.run(4, 'renamed', '198.18.0.4', '["h4.lab"]', 't1', 1, 't1'); // scan-created, renamed by an admin
    host.run(5, 'fs5.lab', '198.18.0.5', '["fs5.lab"]', 't2', 1, 't0'); // typed in, later seen by a scan
    migrate(db, 7);
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(7);
    expect(db.prepare('SELECT id, name_source FROM hosts ORDER BY id').all()).toEqual([
      { id: 1, name_source: 'admin' },
      { id: 2, name_source: 'address' },
      { id: 3, name_source: 'scan' },
      { id: 4, name_source: 'admin' },
      { id: 5, name_source: 'admin' },
    ]);
    expect(db.prepare('SELECT coverage FROM scans').get()).toEqual({ coverage: null });
    expect(() => db.prepare(`UPDATE hosts SET name_source = 'guess' WHERE id = 1`).run()).toThrow(/CHECK/);
  });
});
