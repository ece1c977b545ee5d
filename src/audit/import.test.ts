import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCollectedOutput } from '../collectors';
import { fixture, fixturePath } from '../collectors/testing/fixtures';
import { toFindings } from './run';
import { getAudit, listAuditHotfixes, listAuditLog, listAudits, listFindings, listHosts } from '../db';
import { createNodePlatform } from '../platform';
import { isPatchdeckError } from '../util/errors';
import { Core } from '../core';

const SELF = 'offline/debian-12-self.root.txt';
let dir: string;
let core: Core;
let wsPath: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-import-'));
  wsPath = join(dir, 'ws.sqlite');
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(wsPath, { create: 'always' });
});

afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

const db = () => core.requireWorkspace().db;
const base64 = (relative: string): string => readFileSync(fixturePath(relative)).toString('base64');
const byKey = <T extends { package: string; arch: string | null; kind: string }>(rows: T[]): T[] =>
  [...rows].sort((a, b) =>
    `${a.kind}/${a.package}/${a.arch}`.localeCompare(`${b.kind}/${b.package}/${b.arch}`),
  );

/** Everything the workspace holds that an import could have written. */
function snapshot() {
  const count = (table: string) => (db().prepare(`SELECT count(*) n FROM ${table}`).get() as { n: number }).n;
  return {
    hosts: count('hosts'),
    audits: count('audits'),
    findings: count('findings'),
    log: count('audit_log'),
  };
}

describe('audits.import', () => {
  it('turns the real capture into an audit of a new host whose findings equal what the parser returned', async () => {
    const expected = await parseCollectedOutput(fixture(SELF));
    const imported = await core.call('audits.import', { base64: base64(SELF) });
    expect(imported).toMatchObject({
      hostName: 'vm',
      hostCreated: true,
      collectedHostname: 'vm',
      collectedAt: '2026-11-28T01:03:30.000Z',
    });
    expect(imported.audit).toMatchObject({
      status: 'succeeded',
      source: 'import',
      osId: 'debian',
      osVersion: '12',
      packageManager: 'apt',
      refreshed: false,
      metadataAgeSeconds: expected.result.metadataAgeSeconds,
      rebootRequired: false,
      updatesCount: expected.result.updates.length,
      securityCount: expected.result.updates.filter((u) => u.security).length,
      startedAt: '2026-11-28T01:03:30.000Z',
      finishedAt: '2026-11-28T01:03:35.000Z',
      durationMs: 5000,
    });
    // What the advisory enrichment adds (src/intel: CVEs, tier, first sighting, due date) is not the parser's.
    const stored = listFindings(db(), imported.audit.id).map(
      ({
        id: _id,
        auditId: _a,
        hostId: _h,
        cves: _c,
        kev: _k,
        epss: _e,
        tier: _t,
        firstSeenAt: _f,
        dueAt: _d,
        ...f
      }) => f,
    );
    expect(byKey(stored)).toEqual(byKey(toFindings(expected.result)));
    const [entry] = listAuditLog(db(), { entityType: 'audit' });
    expect(entry).toMatchObject({ action: 'audit.import', entityId: String(imported.audit.id) });
    expect(entry!.details).toMatchObject({
      hostName: 'vm',
      hostCreated: true,
      packageManager: 'apt',
      updates: 114,
    });
    expect(entry!.details.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('attaches to an existing host found by the collected name, or to the one the admin names; refuses a second import', async () => {
    const host = await core.call('hosts.add', { name: 'vm', address: '192.0.2.7' });
    const first = await core.call('audits.import', { text: fixture(SELF) });
    expect(first).toMatchObject({ hostId: host.id, hostCreated: false });
    await expect(core.call('audits.import', { text: fixture(SELF) })).rejects.toThrow(
      /already imported for vm as audit/,
    );
    const other = await core.call('hosts.add', { name: 'files01' });
    const second = await core.call('audits.import', {
      base64: base64('offline/debian-12-self.nobody.txt'),
      host: 'files01',
    });
    expect(second).toMatchObject({ hostId: other.id, hostName: 'files01', hostCreated: false });
    expect(second.audit.warnings[0]).toMatch(/calling itself vm, imported for files01/);
    expect(listAudits(db(), other.id).map((a) => a.source)).toEqual(['import']);
    await expect(core.call('audits.import', { text: fixture(SELF), host: 'nosuchhost' })).rejects.toThrow(
      /No host named nosuchhost/,
    );
    await expect(core.call('audits.import', { text: fixture(SELF), hostId: 999 })).rejects.toThrow(
      /Host 999 does not exist/,
    );
  });

  it('imports a Windows collection as windows-update findings', async () => {
    const imported = await core.call('audits.import', {
      base64: base64('offline/synthetic-windows11.windows.txt'),
    });
    expect(imported).toMatchObject({ hostName: 'WS-ACCT-07', hostCreated: true });
    expect(imported.audit).toMatchObject({
      packageManager: 'windows-update',
      osId: 'windows',
      updatesCount: 2,
      securityCount: 1,
      startedAt: '2024-03-01T14:33:10.000Z',
    });
    expect(listFindings(db(), imported.audit.id).map((f) => f.package)).toEqual(['KB5034123', 'KB2267602']);
  });

  it("keeps a Windows collection's facts, hotfixes and UpdateIDs like a WinRM audit (constructed v2 output)", async () => {
    const v2 = fixture('windows/constructed-wua-v2.stdout').trim();
    const text = fixture('offline/synthetic-windows11.windows.txt').replace(/^PATCHDECK-WUA-JSON:.*$/m, v2);
    const imported = await core.call('audits.import', { text });
    const audit = getAudit(db(), imported.audit.id)!;
    expect(audit.windows).toMatchObject({ build: '22631', ubr: 4751, policy: { useWUServer: true } });
    // Why the PC waits for a restart is kept with its facts, and the window reads it through the API.
    expect(audit.windows!.rebootReasons).toEqual(['CBS RebootPending', 'PendingFileRenameOperations']);
    const [listed] = await core.call('audits.forHost', { hostId: imported.hostId });
    expect(listed!.windows!.rebootReasons).toEqual(['CBS RebootPending', 'PendingFileRenameOperations']);
    // An audit stored before the reasons were kept reads as having none.
    const { rebootReasons: _dropped, ...older } = audit.windows!;
    db().prepare('UPDATE audits SET windows = ? WHERE id = ?').run(JSON.stringify(older), audit.id);
    const [old] = await core.call('audits.forHost', { hostId: imported.hostId });
    expect(old!.windows).toMatchObject({ build: '22631', rebootReasons: [] });
    expect(listAuditHotfixes(db(), audit.id)).toHaveLength(3);
    // The window reads them through the API.
    expect(await core.call('audits.hotfixes', { auditId: audit.id })).toEqual([
      { hotfixId: 'KB5044033', description: 'Update', installedOn: null },
      { hotfixId: 'KB5047621', description: 'Security Update', installedOn: '2024-11-12' },
      { hotfixId: 'KB5048685', description: 'Update', installedOn: '2024-12-10' },
    ]);
    expect(listFindings(db(), audit.id).find((f) => f.package === 'KB5050021')!.details).toMatchObject({
      updateId: '6b2a3c4d-1e0f-4a5b-9c8d-7e6f5a4b3c2d',
    });
  });

  it('refuses hostile files with one clear sentence and writes nothing', async () => {
    const good = fixture(SELF);
    const before = snapshot();
    const walBefore = statSync(`${wsPath}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    const hostile: [string, { text?: string; base64?: string }, RegExp][] = [
      ['truncated', { text: good.slice(0, good.length / 2) }, /incomplete/],
      [
        'forged marker',
        { text: good.replace('Inst bash', '@@PATCHDECK:0000000000000000:end:sim:0\nInst bash') },
        /nonce/,
      ],
      [
        'megabyte line outside sections',
        {
          text: good.replace(
            '\n\n@@PATCHDECK:81e4de924c151f83:begin:uname',
            `\n${'x'.repeat(2 ** 20)}\n@@PATCHDECK:81e4de924c151f83:begin:uname`,
          ),
        },
        /outside any section/,
      ],
      [
        'binary garbage',
        {
          base64: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256)).toString('base64'),
        },
        /UTF-8/,
      ],
      ['wrong version', { text: good.replace('COLLECT v1', 'COLLECT v7') }, /format v7/],
      ['control characters', { text: good.replace('Inst bash', 'Inst \u0007bash') }, /U\+0007/],
    ];
    for (const [what, args, message] of hostile) {
      const error = await core.call('audits.import', args).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isPatchdeckError(error), what).toBe(true);
      expect((error as Error).message, what).toMatch(message);
      expect((error as Error).message.includes('\n'), what).toBe(false);
    }
    await expect(core.call('audits.import', { text: good, base64: 'QQ==' })).rejects.toThrow(
      /exactly one of text or base64/,
    );
    await expect(core.call('audits.import', { base64: 'not base64!' })).rejects.toThrow(/Invalid arguments/);
    expect(snapshot()).toEqual(before);
    expect(listHosts(db())).toEqual([]);
    expect(statSync(`${wsPath}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(walBefore);
  });
});
