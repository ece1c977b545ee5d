import { describe, expect, it } from 'vitest';
import { learnableName, mayReplaceName } from './host-names';
import { findHost, getHost, insertHost, listHosts, recordAuditSighting, updateHost } from './hosts';
import { completeAudit, startAudit } from './audits';
import { trustHostKey } from './host-keys';
import { coverageHolds, coverageOf, finishScan, recordScanHost, startScan, type ObservedHost } from './scans';
import { createMemoryWorkspace } from './workspace';
import type { Database } from 'better-sqlite3';

const lab = Array.from({ length: 253 }, (_, i) => `198.18.0.${i + 1}`);

function seen(
  address: string,
  name: string | null = null,
  nameSource?: ObservedHost['nameSource'],
): ObservedHost {
  return {
    address,
    name,
    nameSource,
    names: name ? [name] : [],
    mac: null,
    macVendor: null,
    osFamily: null,
    osName: null,
    osVersion: null,
    osConfidence: 0,
    osEvidence: [],
    management: ['ssh'],
    services: [],
    openPorts: [22],
    result: {},
  };
}

/** One scan over `addresses` that finds `found` (by address → host id, matched or new). */
function scan(
  db: Database,
  addresses: string[],
  found: { address: string; hostId?: number; name?: string; source?: ObservedHost['nameSource'] }[],
  status: 'completed' | 'cancelled' | 'failed',
): { scanId: number; ids: number[] } {
  const scanId = startScan(db, {
    taskId: null,
    targets: addresses.length > 3 ? `${addresses[0]}-${addresses.at(-1)}` : addresses.join(','),
    ports: [22],
    total: addresses.length,
    addresses,
  });
  const ids = found.map(
    (f) =>
      recordScanHost(db, scanId, seen(f.address, f.name ?? null, f.source), f.hostId ?? null, {
        addToInventory: true,
      }).hostId,
  );
  finishScan(db, scanId, status);
  return { scanId, ids };
}

const byId = (db: Database) => new Map(listHosts(db).map((h) => [h.id, h]));

describe('scan coverage: only a scan that covered an address may call its host "not seen"', () => {
  it('a cancelled scan (8 of 253 probed) marks the hosts it found as seen and nobody as not seen', () => {
    const db = createMemoryWorkspace();
    const eight = lab.slice(0, 8);
    const first = scan(
      db,
      lab,
      [...eight, '198.18.0.40'].map((address) => ({ address })),
      'completed',
    );
    // The second scan is cancelled after probing the first 8 addresses: it finds those 8 again.
    scan(
      db,
      lab,
      eight.map((address, i) => ({ address, hostId: first.ids[i] })),
      'cancelled',
    );
    const hosts = byId(db);
    for (const id of first.ids) expect(hosts.get(id)?.seenInLastScan, `host ${id}`).toBe(true);
  });

  it('a cancelled scan alone says nothing about the hosts it did not reach', () => {
    const db = createMemoryWorkspace();
    const byHand = insertHost(db, { name: 'printer', address: '198.18.0.200' });
    const { ids } = scan(db, lab, [{ address: '198.18.0.1' }], 'cancelled');
    expect(getHost(db, ids[0]!)?.seenInLastScan).toBe(true);
    expect(getHost(db, byHand.id)?.seenInLastScan).toBeNull();
  });

  it('a completed scan calls a host it covered but did not find "not seen", and leaves others alone', () => {
    const db = createMemoryWorkspace();
    const first = scan(db, lab, [{ address: '198.18.0.5' }, { address: '198.18.0.6' }], 'completed');
    const elsewhere = scan(db, ['198.18.1.9'], [{ address: '198.18.1.9' }], 'completed');
    // A later completed scan of 198.18.0.1-10 finds .5 only.
    scan(db, lab.slice(0, 10), [{ address: '198.18.0.5', hostId: first.ids[0] }], 'completed');
    const hosts = byId(db);
    expect(hosts.get(first.ids[0]!)?.seenInLastScan).toBe(true);
    expect(hosts.get(first.ids[1]!)?.seenInLastScan).toBe(false);
    // The last scan did not cover 198.18.1.9: the host is still "seen" (by the scan that covered it).
    expect(hosts.get(elsewhere.ids[0]!)?.seenInLastScan).toBe(true);
  });

  it('a failed scan is no evidence of absence either', () => {
    const db = createMemoryWorkspace();
    const first = scan(db, lab, [{ address: '198.18.0.7' }], 'completed');
    scan(db, lab, [], 'failed');
    expect(getHost(db, first.ids[0]!)?.seenInLastScan).toBe(true);
  });

  it('stores coverage as runs and answers membership for both families', () => {
    const coverage = coverageOf(['10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.9', 'fd00::1']);
    expect(coverage.v4).toEqual([
      [167772161, 167772163],
      [167772169, 167772169],
    ]);
    expect(coverageHolds(coverage, '10.0.0.2')).toBe(true);
    expect(coverageHolds(coverage, '10.0.0.4')).toBe(false);
    expect(coverageHolds(coverage, '10.0.0.9')).toBe(true);
    expect(coverageHolds(coverage, 'FD00::1')).toBe(true);
    expect(coverageHolds(coverage, 'fd00::2')).toBe(false);
    expect(coverageOf([]).v4).toEqual([]);
  });
});

describe('the "new" badge', () => {
  it('a host first found by a cancelled scan is new', () => {
    const db = createMemoryWorkspace();
    const { ids } = scan(db, lab, [{ address: '198.18.0.3' }], 'cancelled');
    expect(getHost(db, ids[0]!)?.isNew).toBe(true);
  });

  it('clears once the host is audited successfully', () => {
    const db = createMemoryWorkspace();
    const { ids } = scan(db, lab, [{ address: '198.18.0.3' }, { address: '198.18.0.4' }], 'completed');
    expect(getHost(db, ids[0]!)?.isNew).toBe(true);
    const failed = startAudit(db, { hostId: ids[1]!, taskId: null, refreshed: false });
    db.prepare(`UPDATE audits SET status = 'failed' WHERE id = ?`).run(failed);
    const auditId = startAudit(db, { hostId: ids[0]!, taskId: null, refreshed: false });
    completeAudit(db, auditId, {
      osId: 'debian',
      osName: 'Debian',
      osVersion: '12',
      kernel: null,
      packageManager: 'apt',
      metadataAgeSeconds: null,
      rebootRequired: false,
      warnings: [],
      durationMs: 1,
      findings: [],
    });
    expect(getHost(db, ids[0]!)?.isNew).toBe(false);
    // A failed audit has not dealt with the host.
    expect(getHost(db, ids[1]!)?.isNew).toBe(true);
  });

  it('clears once its key is trusted', () => {
    const db = createMemoryWorkspace();
    const { ids } = scan(db, lab, [{ address: '198.18.0.3' }], 'completed');
    trustHostKey(db, {
      hostId: ids[0]!,
      type: 'ssh-ed25519',
      fingerprint: 'SHA256:abc',
      publicKey: null,
      actor: 'admin',
      reviewed: true,
    });
    expect(getHost(db, ids[0]!)?.isNew).toBe(false);
  });

  it('clears once a later completed scan covered the host, and stays for a scan elsewhere', () => {
    const db = createMemoryWorkspace();
    const { ids } = scan(db, lab, [{ address: '198.18.0.3' }], 'completed');
    scan(db, ['198.18.1.1'], [], 'completed');
    expect(getHost(db, ids[0]!)?.isNew).toBe(true);
    scan(db, lab, [{ address: '198.18.0.3', hostId: ids[0] }], 'completed');
    expect(getHost(db, ids[0]!)?.isNew).toBe(false);
  });

  it('is never shown for a host typed in by hand', () => {
    const db = createMemoryWorkspace();
    expect(insertHost(db, { name: 'fs1', address: '198.18.0.9' }).isNew).toBe(false);
  });
});

describe('host names: precedence and validation', () => {
  it('ranks admin > audit > target > NetBIOS > mDNS > reverse DNS > certificate > scan > address', () => {
    expect(mayReplaceName('address', 'ptr')).toBe(true);
    expect(mayReplaceName('ptr', 'mdns')).toBe(true);
    expect(mayReplaceName('mdns', 'netbios')).toBe(true);
    expect(mayReplaceName('netbios', 'audit')).toBe(true);
    expect(mayReplaceName('audit', 'netbios')).toBe(false);
    expect(mayReplaceName('netbios', 'ptr')).toBe(false);
    expect(mayReplaceName('ptr', 'ptr')).toBe(true);
    expect(mayReplaceName('admin', 'audit')).toBe(false);
    expect(mayReplaceName('scan', 'address')).toBe(false);
  });

  it('keeps only plain host names from remote answers', () => {
    expect(learnableName('web01.lab.example', 'audit')).toBe('web01.lab.example');
    expect(learnableName('web01.', 'ptr')).toBe('web01');
    expect(learnableName('printer.local', 'mdns')).toBe('printer.local');
    expect(learnableName('WS-ACCT-07', 'netbios')).toBe('WS-ACCT-07');
    expect(learnableName('A-NETBIOS-NAME-TOO-LONG', 'netbios')).toBeNull();
    for (const bad of [
      '',
      'localhost',
      'LOCALHOST.localdomain',
      '198.18.0.5',
      '999.1.1.1',
      '::1',
      'two words',
      '<img src=x>',
      'a\u001b[31mred',
      'x'.repeat(254),
      `${'a'.repeat(64)}.lan`,
    ])
      expect(learnableName(bad, 'audit'), JSON.stringify(bad)).toBeNull();
  });

  it('a scan names a new host by its best name, and better sources replace worse ones', () => {
    const db = createMemoryWorkspace();
    const { ids } = scan(db, lab, [{ address: '198.18.0.21' }], 'completed');
    const id = ids[0]!;
    expect(getHost(db, id)).toMatchObject({ name: '198.18.0.21', nameSource: 'address' });
    scan(
      db,
      lab,
      [{ address: '198.18.0.21', hostId: id, name: 'h21.in-addr.lab', source: 'ptr' }],
      'completed',
    );
    expect(getHost(db, id)).toMatchObject({ name: 'h21.in-addr.lab', nameSource: 'ptr' });
    scan(db, lab, [{ address: '198.18.0.21', hostId: id, name: 'H21', source: 'netbios' }], 'completed');
    expect(getHost(db, id)).toMatchObject({ name: 'H21', nameSource: 'netbios' });
    // Reverse DNS does not replace a NetBIOS name.
    scan(db, lab, [{ address: '198.18.0.21', hostId: id, name: 'other.lab', source: 'ptr' }], 'completed');
    expect(getHost(db, id)?.name).toBe('H21');
    // An audit's hostname does; an unusable hostname changes nothing, but the host was seen.
    expect(recordAuditSighting(db, id, { hostname: 'localhost' })).toBe(false);
    expect(recordAuditSighting(db, id, { hostname: 'web21' })).toBe(true);
    expect(getHost(db, id)).toMatchObject({ name: 'web21', nameSource: 'audit' });
    // A scan's NetBIOS answer later does not undo the audit's name.
    scan(db, lab, [{ address: '198.18.0.21', hostId: id, name: 'H21', source: 'netbios' }], 'completed');
    expect(getHost(db, id)?.name).toBe('web21');
  });

  it('never overwrites a name an admin gave, and learns names for hosts typed in by address', () => {
    const db = createMemoryWorkspace();
    const named = insertHost(db, { name: 'accounting-pc', address: '198.18.0.31' });
    const byAddress = insertHost(db, { name: '198.18.0.32', address: '198.18.0.32' });
    expect(byAddress.nameSource).toBe('address');
    expect(recordAuditSighting(db, named.id, { hostname: 'DESKTOP-1234' })).toBe(false);
    expect(getHost(db, named.id)).toMatchObject({ name: 'accounting-pc', nameSource: 'admin' });
    recordAuditSighting(db, byAddress.id, { hostname: 'nas' });
    expect(getHost(db, byAddress.id)).toMatchObject({ name: 'nas', nameSource: 'audit' });
    // Renaming makes it the admin's name.
    updateHost(db, byAddress.id, { name: 'backup-nas' });
    recordAuditSighting(db, byAddress.id, { hostname: 'nas' });
    expect(getHost(db, byAddress.id)).toMatchObject({ name: 'backup-nas', nameSource: 'admin' });
  });

  it('an audit updates last seen', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'fs1', address: '198.18.0.9' });
    expect(host.lastSeen).toBeNull();
    recordAuditSighting(db, host.id, { hostname: null });
    expect(getHost(db, host.id)?.lastSeen).not.toBeNull();
    expect(getHost(db, host.id)?.firstSeen).not.toBeNull();
  });
});

describe('host names: a learned name already shown for another host', () => {
  it('is not given to a second host by a scan: a new host keeps its address, a known one its name', () => {
    const db = createMemoryWorkspace();
    const dc = insertHost(db, { name: 'dc01', address: '198.18.0.10' });
    const { ids } = scan(
      db,
      lab,
      [
        { address: '198.18.0.66', name: 'DC01', source: 'netbios' },
        { address: '198.18.0.67', name: 'fs01', source: 'netbios' },
      ],
      'completed',
    );
    const [rogue, fs] = ids as [number, number];
    expect(getHost(db, rogue)).toMatchObject({ name: '198.18.0.66', nameSource: 'address' });
    expect(getHost(db, fs)).toMatchObject({ name: 'fs01', nameSource: 'netbios' });
    // A known host keeps its name (here its address) rather than take one in use.
    scan(db, lab, [{ address: '198.18.0.66', hostId: rogue, name: 'fs01', source: 'mdns' }], 'completed');
    expect(getHost(db, rogue)).toMatchObject({ name: '198.18.0.66', nameSource: 'address' });
    // A host may be renamed by its own better source, and keeps a name nobody else has.
    scan(db, lab, [{ address: '198.18.0.67', hostId: fs, name: 'FS01', source: 'target' }], 'completed');
    expect(getHost(db, fs)).toMatchObject({ name: 'FS01', nameSource: 'target' });
    expect(getHost(db, dc.id)).toMatchObject({ name: 'dc01', nameSource: 'admin' });
  });

  it('is not given to a second host by an audit either', () => {
    const db = createMemoryWorkspace();
    const learned = insertHost(db, { name: '198.18.0.20', address: '198.18.0.20' });
    expect(recordAuditSighting(db, learned.id, { hostname: 'web01' })).toBe(true);
    const other = insertHost(db, { name: '198.18.0.21', address: '198.18.0.21' });
    expect(recordAuditSighting(db, other.id, { hostname: 'WEB01' })).toBe(false);
    expect(getHost(db, other.id)).toMatchObject({ name: '198.18.0.21', nameSource: 'address' });
    // Its own name again is no conflict.
    expect(recordAuditSighting(db, learned.id, { hostname: 'web01' })).toBe(false);
    expect(getHost(db, learned.id)).toMatchObject({ name: 'web01', nameSource: 'audit' });
  });

  it('an admin may still give two hosts one name; finding the host by that name then refuses', () => {
    const db = createMemoryWorkspace();
    const a = insertHost(db, { name: 'dc01', address: '198.18.0.10' });
    const b = insertHost(db, { name: 'dc01', address: '198.18.0.11' });
    expect(() => findHost(db, 'dc01')).toThrow(
      `Several hosts answer to dc01: 198.18.0.10 (id ${a.id}), 198.18.0.11 (id ${b.id}). Choose the host by its address instead.`,
    );
    expect(findHost(db, '198.18.0.11')?.id).toBe(b.id);
  });
});
