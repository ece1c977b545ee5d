import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api/schemas';
import { appendAuditLog, listAuditLog } from './audit-log';
import { deleteHost, findHost, getHost, insertHost, listHosts, updateHost } from './hosts';
import { readSettings, writeSettings } from './settings';
import { finishTask, getTask, insertTask, markInterruptedTasks } from './tasks';
import { createMemoryWorkspace } from './workspace';

describe('settings repository', () => {
  it('returns defaults, validates and persists partial updates', () => {
    const db = createMemoryWorkspace();
    expect(readSettings(db)).toEqual(DEFAULT_SETTINGS);
    expect(writeSettings(db, { theme: 'dark', auditConcurrency: 4 }).theme).toBe('dark');
    expect(readSettings(db).auditConcurrency).toBe(4);
    expect(() => writeSettings(db, { auditConcurrency: 0 })).toThrow();
    expect(readSettings(db).auditConcurrency).toBe(4);
  });
  it('falls back to the default for a damaged stored value', () => {
    const db = createMemoryWorkspace();
    db.prepare(
      `INSERT INTO settings (key, value) VALUES ('theme', '"purple"'), ('auditConcurrency', 'not json')`,
    ).run();
    expect(readSettings(db).theme).toBe('system');
    expect(readSettings(db).auditConcurrency).toBe(16);
  });
});

describe('hosts repository', () => {
  it('inserts, finds by name or address, updates and deletes', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01', address: '198.18.0.11' });
    expect(host.addresses).toEqual(['198.18.0.11']);
    expect(findHost(db, '198.18.0.11')?.id).toBe(host.id);
    expect(findHost(db, 'lab01')?.id).toBe(host.id);
    const updated = updateHost(db, host.id, { tags: ['office'], notes: 'front desk', sshPort: 2222 });
    expect(updated).toMatchObject({ tags: ['office'], notes: 'front desk', sshPort: 2222 });
    expect(listHosts(db)).toHaveLength(1);
    expect(updateHost(db, 9999, { notes: 'x' })).toBeNull();
    expect(deleteHost(db, host.id)).toBe(true);
    expect(getHost(db, host.id)).toBeNull();
  });
});

describe('tasks repository', () => {
  it('marks tasks left running by a crash as interrupted', () => {
    const db = createMemoryWorkspace();
    const crashed = insertTask(db, { kind: 'audit', title: 'Audit 3 hosts' });
    const finished = insertTask(db, { kind: 'scan', title: 'Scan' });
    finishTask(db, finished.id, { status: 'succeeded' });
    expect(markInterruptedTasks(db)).toBe(1);
    expect(getTask(db, crashed.id)?.status).toBe('interrupted');
    expect(getTask(db, finished.id)?.status).toBe('succeeded');
  });
});

describe('audit log', () => {
  it('appends and lists newest first', () => {
    const db = createMemoryWorkspace();
    appendAuditLog(db, {
      actor: 'admin',
      action: 'host.trust',
      entityType: 'host',
      entityId: 1,
      details: { fp: 'SHA256:x' },
    });
    appendAuditLog(db, { actor: 'admin', action: 'job.approve', entityType: 'job', entityId: 2 });
    const entries = listAuditLog(db);
    expect(entries.map((e) => e.action)).toEqual(['job.approve', 'host.trust']);
    expect(entries[1]!.details).toEqual({ fp: 'SHA256:x' });
  });
});
