import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe("migration 009 (OS family 'network' → 'network-device')", () => {
  it('renames the family of network devices only', () => {
    const db = createMemoryWorkspace(8);
    const host = db.prepare(
      `INSERT INTO hosts (id, name, address, names, os_family, created_at, updated_at) VALUES (?, ?, ?, '[]', ?, 't', 't')`,
    );
    host.run(1, 'sw-core', '198.18.0.1', 'network');
    host.run(2, 'web01', '198.18.0.2', 'linux');
    host.run(3, 'unknown', '198.18.0.3', null);
    host.run(4, 'fw', '198.18.0.4', 'network-device');
    migrate(db, 9);
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(9);
    expect(db.prepare('SELECT id, os_family FROM hosts ORDER BY id').all()).toEqual([
      { id: 1, os_family: 'network-device' },
      { id: 2, os_family: 'linux' },
      { id: 3, os_family: null },
      { id: 4, os_family: 'network-device' },
    ]);
  });
});
