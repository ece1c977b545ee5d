/**
 * What an imported bundle may never do to the office's workspace: run another site's job, attach
 * log entries to the office's own records, write part of itself, inflate without bound, or pin a
 * host key nobody here reviewed. Real Core over a real workspace file, real zips, a real SSH
 * server (ssh2's) on 127.0.0.1 playing the imported host.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '../core';
import {
  appendAuditLog,
  createMemoryWorkspace,
  insertHost,
  listSteps,
  setSiteName,
  trustHostKey,
  updateJob,
  updateStep,
} from '../db';
import { ACME_SECURITY_UPDATE, insertTestJob } from '../db/testing/jobs';
import { addAdvisory, addKev, addSource } from '../intel/testing/snapshot';
import { zipEntries, zipOf } from '../intel/testing/zip';
import { createNodePlatform } from '../platform';
import { fingerprintOf } from '../remote/host-key';
import { ed25519KeyPair } from '../remote/testing/keys';
import { ManualClock } from '../util';
import { buildPortableBundle } from './export';
import { verifyPortableBundle } from './import';

const clock = new ManualClock('2026-11-20T10:00:00.000Z');

// ---- an SSH server that records every connection and authentication attempt -------------------
let server: ssh2.Server;
let port = 0;
let serverPublicKey = '';
let serverFingerprint = '';
const attempts: string[] = [];
beforeAll(async () => {
  const pair = ed25519KeyPair();
  serverPublicKey = pair.public;
  serverFingerprint = fingerprintOf(Buffer.from(pair.public.split(' ')[1]!, 'base64'));
  server = new ssh2.Server({ hostKeys: [pair.private] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      attempts.push(ctx.method);
      if (ctx.method === 'publickey') ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('session', (_accept, reject) => reject());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

// ---- the office: a real Core over a workspace file --------------------------------------------
let dir: string;
let core: Core;
beforeEach(async () => {
  attempts.length = 0;
  dir = mkdtempSync(join(tmpdir(), 'pd-bundle-safety-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'office.sqlite'), { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});
const office = (): Database => core.requireWorkspace().db;

async function importFile(bytes: Buffer, name = 'site.pdbundle') {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return core.call('bundles.import', { path: file });
}
const exportOf = (db: Database) =>
  buildPortableBundle(db, { patchdeckVersion: '0.1.0', createdBy: 'site admin' }, clock);

const TABLES = [
  'hosts',
  'host_keys',
  'host_key_sightings',
  'audits',
  'findings',
  'patch_jobs',
  'job_steps',
  'audit_log',
  'bundle_imports',
  'bundle_records',
  'advisories',
  'advisory_sources',
  'kev_entries',
];
const rowCounts = (db: Database) =>
  Object.fromEntries(
    TABLES.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]),
  );

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The bundle with some entries replaced and a manifest that agrees with them (a forger's bundle). */
async function forged(bytes: Buffer, edit: (name: string, content: Buffer) => Buffer): Promise<Buffer> {
  const [first, ...rest] = await zipEntries(bytes);
  const manifest = JSON.parse(first![1].toString()) as Record<string, unknown>;
  const entries = rest.map(([n, b]): [string, Buffer] => [n, edit(n, b)]);
  const files = entries.map(([name, b]) => ({ name, bytes: b.length, sha256: sha(b) }));
  const counts = { ...(manifest.counts as Record<string, number>) };
  const log = entries.find(([n]) => n === 'audit_log.jsonl')![1];
  counts.audit_log = log.toString().split('\n').filter(Boolean).length;
  return zipOf([['manifest.json', Buffer.from(JSON.stringify({ ...manifest, files, counts }))], ...entries]);
}

describe('an imported job is the record of another workspace', () => {
  it('is never approved, started, resumed, re-run or rebooted here, and keeps no credential id', async () => {
    const site = createMemoryWorkspace();
    setSiteName(site, 'Acme Dental');
    const [pc1, pc2] = ['pc1', 'pc2'].map(
      (name, i) => insertHost(site, { name, address: `10.0.0.${5 + i}` }).id,
    );
    const preview = {
      command: 'apt-get install acme-tool=1.0-1+deb12u1',
      upgrades: [{ name: 'acme-tool', arch: 'amd64', from: '1.0-1', to: '1.0-1+deb12u1' }],
      newPackages: [],
      removals: [],
      skipped: [],
      ranAt: '2026-11-12T07:55:00.000Z',
    };
    // Interrupted mid-install on site (approved, its step previewed), with the site's credential.
    const interrupted = insertTestJob(site, [pc1!], {
      name: 'interrupted',
      packages: [ACME_SECURITY_UPDATE],
    });
    updateJob(site, interrupted, {
      status: 'interrupted',
      approvedBy: 'site admin',
      approvedAt: '2026-11-12T08:00:00.000Z',
    });
    site
      .prepare(`UPDATE patch_jobs SET options = json_set(options, '$.credentialId', 1) WHERE id = ?`)
      .run(interrupted);
    updateStep(site, listSteps(site, interrupted)[0]!.id, {
      status: 'interrupted',
      phase: 'install',
      preview,
    });
    // Failed on one host, and waiting for a reboot on the other.
    const failed = insertTestJob(site, [pc1!, pc2!], { name: 'failed', packages: [ACME_SECURITY_UPDATE] });
    updateJob(site, failed, {
      status: 'failed',
      approvedBy: 'site admin',
      approvedAt: '2026-11-13T08:00:00.000Z',
    });
    const [s1, s2] = listSteps(site, failed);
    updateStep(site, s1!.id, { status: 'failed', phase: 'install', preview, errorMessage: 'dpkg lock held' });
    updateStep(site, s2!.id, { status: 'reboot-pending', phase: 'done', preview });
    // A draft (its dry run done), and one approved for tonight.
    const draft = insertTestJob(site, [pc2!], { name: 'draft', packages: [ACME_SECURITY_UPDATE] });
    updateStep(site, listSteps(site, draft)[0]!.id, { status: 'queued', phase: 'install', preview });
    const approved = insertTestJob(site, [pc2!], { name: 'approved', packages: [ACME_SECURITY_UPDATE] });
    updateJob(site, approved, {
      status: 'approved',
      approvedBy: 'site admin',
      approvedAt: '2026-11-14T08:00:00.000Z',
    });

    const result = await importFile((await exportOf(site)).bytes);
    expect(result.added).toMatchObject({ jobs: 4 });
    const jobs = office().prepare('SELECT id, name, options FROM patch_jobs ORDER BY name').all() as {
      id: number;
      name: string;
      options: string;
    }[];
    expect(jobs.map((j) => j.name)).toEqual(['approved', 'draft', 'failed', 'interrupted']);
    for (const j of jobs) expect(JSON.parse(j.options)).not.toHaveProperty('credentialId');
    const id = (name: string) => jobs.find((j) => j.name === name)!.id;
    const refusal = (jobId: number) =>
      new RegExp(
        `^Job ${jobId} is the record of another workspace \\(site Acme Dental\\), imported from a bundle; Patchdeck does not run it here\\.$`,
      );
    const before = rowCounts(office());
    const calls: [string, () => Promise<unknown>, number][] = [
      ['resume', () => core.call('jobs.resume', { id: id('interrupted') }), id('interrupted')],
      ['resume a failed job', () => core.call('jobs.resume', { id: id('failed') }), id('failed')],
      ['re-run failed hosts', () => core.call('jobs.rerunFailed', { id: id('failed') }), id('failed')],
      ['reboot', () => core.call('jobs.reboot', { id: id('failed') }), id('failed')],
      ['start', () => core.call('jobs.start', { id: id('approved') }), id('approved')],
      ['approve', () => core.call('jobs.approve', { id: id('draft') }), id('draft')],
    ];
    for (const [what, call, jobId] of calls) await expect(call(), what).rejects.toThrow(refusal(jobId));
    expect(rowCounts(office())).toEqual(before);
    expect(office().prepare(`SELECT DISTINCT status FROM patch_jobs ORDER BY status`).all()).toEqual([
      { status: 'cancelled' },
      { status: 'failed' },
    ]);
    // The office's own job runs as before: the refusal is about imported jobs only.
    const host = await core.call('hosts.add', { name: 'officepc', address: '127.0.0.1', sshPort: port });
    const own = insertTestJob(office(), [host.id], { packages: [ACME_SECURITY_UPDATE] });
    await expect(core.call('jobs.resume', { id: own })).rejects.toThrow(/it cannot be resumed/);
  });
});

describe('audit log entries of a bundle', () => {
  it('never attach to the office own records: an entry about a record the bundle lacks refuses it whole', async () => {
    const site = createMemoryWorkspace();
    setSiteName(site, 'Acme Dental');
    insertHost(site, { name: 'pc9', address: '10.0.0.9' });
    const host = await core.call('hosts.add', { name: 'officepc', address: '10.1.0.5' });
    const officeJob = insertTestJob(office(), [host.id]);
    const bytes = (await exportOf(site)).bytes;
    const before = rowCounts(office());
    for (const [entityType, entityId] of [
      ['patch_job', String(officeJob)],
      ['job', String(officeJob)],
      ['host', String(host.id + 41)], // the site's pc9 has id 1, as the office's host does
      ['finding', '1'],
      ['audit', null],
    ] as const) {
      const forgery = await forged(bytes, (n, b) =>
        n === 'audit_log.jsonl'
          ? Buffer.concat([
              b,
              Buffer.from(
                `${JSON.stringify({ id: 9999, at: '2026-11-01T00:00:00.000Z', actor: 'mallory', action: 'job.approve', entity_type: entityType, entity_id: entityId, details: '{"digest":"forged"}' })}\n`,
              ),
            ])
          : b,
      );
      await expect(importFile(forgery), entityType).rejects.toThrow(
        /site\.pdbundle was refused: audit log entry 9999 points to a record the bundle does not hold; nothing was imported\./,
      );
      expect(rowCounts(office()), entityType).toEqual(before);
    }
    expect(office().prepare(`SELECT count(*) AS n FROM audit_log WHERE actor = 'mallory'`).get()).toEqual({
      n: 0,
    });
  });

  it('about a kind of record a bundle never carries keep no id, only the original in importedFrom', async () => {
    const site = createMemoryWorkspace();
    setSiteName(site, 'Acme Dental');
    const pc = insertHost(site, { name: 'pc9', address: '10.0.0.9' }).id;
    appendAuditLog(site, { actor: 'site admin', action: 'host.add', entityType: 'host', entityId: pc });
    const credential = await core.call('credentials.add', {
      name: 'office key',
      username: 'robot',
      kind: 'key',
      secret: ed25519KeyPair().private,
      scope: ['*'],
    });
    const forgery = await forged((await exportOf(site)).bytes, (n, b) =>
      n === 'audit_log.jsonl'
        ? Buffer.concat([
            b,
            Buffer.from(
              `${JSON.stringify({ id: 777, at: '2026-11-01T00:00:00.000Z', actor: 'site admin', action: 'credential.remove', entity_type: 'credential', entity_id: String(credential.id), details: '{}' })}\n`,
            ),
          ])
        : b,
    );
    await importFile(forgery);
    const rows = office()
      .prepare(
        `SELECT action, entity_type, entity_id, json_extract(details, '$.importedFrom.entityId') AS original
         FROM audit_log WHERE json_extract(details, '$.importedFrom.entryId') IS NOT NULL ORDER BY action`,
      )
      .all();
    const localHost = (office().prepare(`SELECT id FROM hosts WHERE name = 'pc9'`).get() as { id: number })
      .id;
    expect(rows).toEqual([
      {
        action: 'credential.remove',
        entity_type: 'credential',
        entity_id: null,
        original: String(credential.id),
      },
      { action: 'host.add', entity_type: 'host', entity_id: String(localHost), original: String(pc) },
    ]);
  });
});

describe('the advisory snapshot of a bundle', () => {
  it('refused in part refuses the whole bundle: not one advisory, host or record written', async () => {
    const site = createMemoryWorkspace();
    insertHost(site, { name: 'pc9', address: '10.0.0.9' });
    // Two feed files in the snapshot: KEV (written first), then the Debian tracker made hostile.
    const kev = addSource(site, { feed: 'kev', publisher: 'CISA', publishedAt: '2026-11-01T00:00:00.000Z' });
    addKev(site, kev, 'CVE-2026-1000', { dateAdded: '2026-11-02', dueDate: '2026-11-23' });
    const tracker = addSource(site, {
      feed: 'debian-tracker',
      publisher: 'Debian',
      fileName: 'tracker.json',
    });
    addAdvisory(site, tracker, {
      feed: 'debian-tracker',
      advisoryId: 'DEBIAN:CVE-2026-1000:acme',
      cves: ['CVE-2026-1000'],
      severity: 'high',
      packages: [
        { ecosystem: 'Debian:12', package: 'acme', nameKind: 'source', fixed: '5.1-1', urgency: 'high' },
      ],
    });
    const bytes = (await exportOf(site)).bytes;
    const nested = (await zipEntries(bytes)).find(([n]) => n === 'advisories.zip')![1];
    const [head, ...files] = await zipEntries(nested);
    const manifest = JSON.parse(head![1].toString()) as {
      files: { path: string; feed: string; sha256: string; bytes: number }[];
    };
    expect(manifest.files.map((f) => f.feed)).toEqual(['kev', 'debian-tracker']);
    // The tracker's JSON cut short by one byte: src/intel's bundle check passes (its manifest
    // agrees), its reader refuses the file, after the KEV file went in.
    const hostile = (name: string, b: Buffer) =>
      manifest.files.find((f) => f.path === name)!.feed === 'debian-tracker'
        ? b.subarray(0, b.length - 1)
        : b;
    const edited = files.map(([n, b]): [string, Buffer] => [n, hostile(n, b)]);
    expect(edited.map(([, b]) => sha(b))).not.toEqual(files.map(([, b]) => sha(b)));
    for (const f of manifest.files) {
      const b = edited.find(([n]) => n === f.path)![1];
      f.sha256 = sha(b);
      f.bytes = b.length;
    }
    const forgedSnapshot = await zipOf([['manifest.json', Buffer.from(JSON.stringify(manifest))], ...edited]);
    const forgery = await forged(bytes, (n, b) => (n === 'advisories.zip' ? forgedSnapshot : b));
    const before = rowCounts(office());
    await expect(importFile(forgery)).rejects.toThrow(
      /site\.pdbundle was refused: its advisory snapshot was refused \(.+\); nothing was imported\./,
    );
    expect(rowCounts(office())).toEqual(before);
    // The same bundle with its snapshot intact goes in whole.
    await importFile(bytes, 'intact.pdbundle');
    expect(rowCounts(office())).toMatchObject({ hosts: 1, kev_entries: 1, advisory_sources: 2 });
  });
});

describe('the bounds of a bundle', () => {
  it('refuses an entry that inflates past its bound, naming it', async () => {
    const site = createMemoryWorkspace();
    insertHost(site, { name: 'pc9', address: '10.0.0.9' });
    const bytes = (await exportOf(site)).bytes;
    // 65 MiB of newlines (the bound is 64 MiB): a few hundred kilobytes compressed.
    const bomb = Buffer.alloc(65 * 1024 ** 2, 0x0a);
    const forgery = await forged(bytes, (n, b) => (n === 'job_log.jsonl' ? bomb : b));
    expect(forgery.length).toBeLessThan(1024 ** 2);
    const db = createMemoryWorkspace();
    await expect(verifyPortableBundle(db, forgery, 'bomb.pdbundle')).rejects.toThrow(
      /^bomb\.pdbundle was refused: job_log\.jsonl is larger than a bundle's file may be; nothing was imported\.$/,
    );
  });
});

describe('host keys of a bundle', () => {
  it('come in awaiting review: an audit of a new host sends nothing until the office admin trusts its key', async () => {
    const site = createMemoryWorkspace();
    const pc = insertHost(site, { name: 'rogue', address: '127.0.0.1', sshPort: port }).id;
    trustHostKey(site, {
      hostId: pc,
      type: 'ssh-ed25519',
      fingerprint: serverFingerprint,
      publicKey: serverPublicKey,
      actor: 'site admin',
    });
    // A key-only credential: it would log in to a key pinned on first use, not only to a reviewed one.
    await core.call('credentials.add', {
      name: 'robot',
      username: 'robot',
      kind: 'key',
      secret: ed25519KeyPair().private,
      scope: ['*'],
    });
    await importFile((await exportOf(site)).bytes);
    const host = (office().prepare(`SELECT id FROM hosts WHERE name = 'rogue'`).get() as { id: number }).id;
    expect(await core.call('hosts.keys', { id: host })).toEqual([]);
    expect((await core.call('hosts.get', { id: host })).keyTrust).toBe('pending');
    expect(await core.call('hosts.pendingKeys', {})).toEqual([
      expect.objectContaining({ hostId: host, fingerprint: serverFingerprint }),
    ]);

    const audit = async () => {
      const { taskId } = await core.call('audits.start', { hostIds: [host] });
      await core.requireWorkspace().tasks.wait(taskId);
      return (await core.call('audits.forHost', { hostId: host }))[0]!;
    };
    const refused = await audit();
    expect(refused).toMatchObject({ status: 'failed', errorKind: 'host-key-unknown' });
    expect(refused.errorMessage).toMatch(/not trusted yet, so no credential was sent/);
    expect(attempts).toEqual([]);

    await core.call('hosts.trustKeys', { keys: [{ hostId: host, fingerprint: serverFingerprint }] });
    expect((await core.call('hosts.get', { id: host })).keyTrust).toBe('trusted');
    await audit();
    expect(attempts).toContain('publickey');
  });
});
