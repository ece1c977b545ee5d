import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { addCredential } from '../credentials';
import {
  appendAuditLog,
  appendJobLog,
  createMemoryWorkspace,
  insertHost,
  listSteps,
  readWorkspaceMeta,
  setSiteName,
  trustHostKey,
  updateJob,
  updateStep,
} from '../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../db/testing/audits';
import { ACME_SECURITY_UPDATE, insertTestJob } from '../db/testing/jobs';
import { addFindingException, enrichCurrentFindings } from '../intel';
import { ACME_PENDING, addAcmeSnapshot, dateAudit, TZDATA_PENDING } from '../intel/testing/snapshot';
import { zipEntries, zipOf } from '../intel/testing/zip';
import { createNodeSecretBox } from '../secrets/node-secret-box';
import { ManualClock } from '../util';
import { buildPortableBundle } from './export';
import { mergePortableBundle, verifyPortableBundle } from './import';

// Real SQLite workspaces, real credentials sealed by the node secret box, real zips (src/intel/testing/zip.ts).

const SECRETS = {
  password: 'Pw-0f-the-site-9f3b2c',
  sudo: 'Sudo-pw-7d41e0aa',
  passphrase: 'Key-passphrase-51c9e2',
  privateKey:
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDs3kPrivateKeyBytesForTheBundleTestOnly7777\n-----END OPENSSH PRIVATE KEY-----\n',
};
const clock = new ManualClock('2026-11-20T10:00:00.000Z');
const ctx = { name: 'site.pdbundle', actor: 'office', clock };
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bundle-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A site's workspace: two Debian hosts with credentials, keys, an enriched audit, a finished job, an exception. */
async function siteWorkspace(): Promise<{ db: Database; hosts: number[]; jobId: number }> {
  const db = createMemoryWorkspace();
  setSiteName(db, 'Acme Dental <Main>');
  const box = createNodeSecretBox({ configDir: path.join(dir, `cfg-${Math.random()}`), useKeychain: false });
  const pw = await addCredential(db, box, {
    name: 'site password',
    username: 'admin',
    kind: 'password',
    secret: SECRETS.password,
    sudoPassword: SECRETS.sudo,
  });
  const key = await addCredential(db, box, {
    name: 'site key',
    username: 'patch',
    kind: 'key',
    secret: SECRETS.privateKey,
    passphrase: SECRETS.passphrase,
  });
  addAcmeSnapshot(db, { kevDueDate: '2026-11-23' });

  const hosts: number[] = [];
  for (const [i, name] of ['office-pc3', 'reception'].entries()) {
    const id = insertHost(db, { name, address: `192.0.2.${10 + i}` }).id;
    db.prepare('UPDATE hosts SET mac = ?, credential_id = ? WHERE id = ?').run(
      `02:00:00:00:00:0${i + 1}`,
      i === 0 ? pw.id : key.id,
      id,
    );
    trustHostKey(db, {
      hostId: id,
      type: 'ssh-ed25519',
      fingerprint: `SHA256:fingerprint-of-${name}`,
      publicKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${name}`,
      actor: 'site admin',
    });
    const audit = recordAudit(db, id, DEBIAN_12, 'apt', [ACME_PENDING, TZDATA_PENDING]);
    dateAudit(db, audit, `2026-11-1${i}T09:00:00.000Z`);
    hosts.push(id);
  }
  enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS });
  const jobId = insertTestJob(db, hosts, { packages: [ACME_SECURITY_UPDATE] });
  updateJob(db, jobId, {
    status: 'succeeded',
    approvedBy: 'site admin',
    approvedAt: '2026-11-12T08:00:00.000Z',
  });
  appendAuditLog(db, {
    actor: 'site admin',
    action: 'job.approve',
    entityType: 'patch_job',
    entityId: jobId,
    details: { digest: 'abc123' },
  });
  for (const [i, step] of listSteps(db, jobId).entries()) {
    updateStep(db, step.id, {
      status: i === 0 ? 'succeeded' : 'failed',
      after: { 'acme-tool': i === 0 ? '1.0-1+deb12u1' : '1.0-1' },
      errorMessage: i === 0 ? null : 'dpkg lock held',
    });
    appendJobLog(db, { jobId, stepId: step.id, stream: 'info', text: `step ${i} done` });
  }
  addFindingException(
    db,
    {
      scope: 'host-package',
      hostId: hosts[1],
      package: 'tzdata',
      decision: 'defer',
      reason: 'clinic hours',
      owner: 'Dr A',
      expiresAt: '2026-12-31T00:00:00.000Z',
    },
    { clock, actor: 'site admin' },
  );
  return { db, hosts, jobId };
}

const findingsOf = (db: Database) =>
  db
    .prepare(
      `SELECT h.name AS host, f.package, f.installed_version, f.available_version, f.tier, f.cves, f.kev, f.due_at, f.first_seen_at,
              (SELECT group_concat(c.cve || '/' || c.advisory_id || '/' || (c.advisory IS NOT NULL), ',') FROM finding_cves c WHERE c.finding_id = f.id) AS evidence
       FROM findings f JOIN hosts h ON h.id = f.host_id ORDER BY h.name, f.package`,
    )
    .all();
const jobsOf = (db: Database) =>
  db
    .prepare(
      `SELECT j.name, j.status, j.approved_by, j.approved_at, h.name AS host, s.status AS step, s.packages, s.after_versions, s.error_message
       FROM patch_jobs j JOIN job_steps s ON s.job_id = j.id JOIN hosts h ON h.id = s.host_id ORDER BY h.name`,
    )
    .all();
const TABLES = [
  'hosts',
  'host_addresses',
  'host_keys',
  'audits',
  'findings',
  'finding_cves',
  'patch_jobs',
  'job_steps',
  'job_log',
  'audit_log',
  'finding_exceptions',
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

async function exportOf(db: Database, hostIds?: number[]) {
  return buildPortableBundle(db, { hostIds, patchdeckVersion: '0.1.0', createdBy: 'site admin' }, clock);
}
const importInto = async (db: Database, bytes: Buffer) =>
  mergePortableBundle(db, await verifyPortableBundle(db, bytes, 'site.pdbundle'), ctx);

const entriesOf = async (bytes: Buffer) => new Map(await zipEntries(bytes));

/** The bundle with one entity file edited and a manifest that agrees with it (a forger's bundle). */
async function forge(
  entries: [string, Buffer][],
  manifest: Record<string, unknown>,
  file: string,
  edit: (text: string) => string,
): Promise<Buffer> {
  const forged = entries
    .slice(1)
    .map(([n, b]): [string, Buffer] => [n, n === file ? Buffer.from(edit(b.toString())) : b]);
  expect(forged.find(([n]) => n === file)![1]).not.toEqual(entries.find(([n]) => n === file)![1]);
  const files = forged.map(([name, b]) => ({
    name,
    bytes: b.length,
    sha256: createHash('sha256').update(b).digest('hex'),
  }));
  return zipOf([['manifest.json', Buffer.from(JSON.stringify({ ...manifest, files }))], ...forged]);
}

describe('portable bundle', () => {
  it('round-trips into an empty workspace: the same findings (versions, tier, CVEs, due) and jobs (steps, outcomes)', async () => {
    const site = await siteWorkspace();
    const bundle = await exportOf(site.db);
    expect(bundle.fileName).toBe('patchdeck-Acme-Dental-Main-2026-11-20.pdbundle');
    const entries = await entriesOf(bundle.bytes);
    expect([...entries.keys()][0]).toBe('manifest.json');
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      format: 'patchdeck-bundle',
      formatVersion: 1,
      origin: { workspace: readWorkspaceMeta(site.db).uuid, siteName: 'Acme Dental <Main>' },
      counts: { hosts: 2, audits: 2, findings: 4, jobs: 1, job_log: 2, exceptions: 1 },
    });

    const office = createMemoryWorkspace();
    const before = findingsOf(site.db);
    expect(before.some((f) => (f as { tier: string | null }).tier === 'kev')).toBe(true);
    const result = await importInto(office, bundle.bytes);
    expect(result).toMatchObject({
      imported: true,
      originSite: 'Acme Dental <Main>',
      added: {
        hosts: 2,
        audits: 2,
        findings: 4,
        jobs: 1,
        job_log: 2,
        exceptions: 1,
        audit_log: expect.any(Number),
      },
      matchedHosts: [],
    });
    expect(findingsOf(office)).toEqual(before);
    expect(jobsOf(office)).toEqual(jobsOf(site.db));
    // Hosts come without their credential; keys are carried but left for this admin to review.
    expect(office.prepare('SELECT count(*) AS n FROM hosts WHERE credential_id IS NOT NULL').get()).toEqual({
      n: 0,
    });
    expect(office.prepare('SELECT count(*) AS n FROM credentials').get()).toEqual({ n: 0 });
    // A pin of the site is no pin here: the keys await this admin's review, as a scan's would.
    expect(office.prepare('SELECT count(*) AS n FROM host_keys').get()).toEqual({ n: 0 });
    expect(
      office.prepare('SELECT fingerprint, source FROM host_key_sightings ORDER BY fingerprint').all(),
    ).toEqual([
      { fingerprint: 'SHA256:fingerprint-of-office-pc3', source: 'scan' },
      { fingerprint: 'SHA256:fingerprint-of-reception', source: 'scan' },
    ]);
    // The approval is copied as it was (actor, time), marked with where it came from.
    const approval = office
      .prepare(`SELECT actor, entity_id, details FROM audit_log WHERE action = 'job.approve'`)
      .get() as {
      actor: string;
      entity_id: string;
      details: string;
    };
    expect(approval.actor).toBe('site admin');
    expect(approval.entity_id).toBe(
      String((office.prepare('SELECT id FROM patch_jobs').get() as { id: number }).id),
    );
    expect(JSON.parse(approval.details)).toMatchObject({
      digest: 'abc123',
      importedFrom: { workspace: readWorkspaceMeta(site.db).uuid, site: 'Acme Dental <Main>' },
    });
    expect(office.prepare(`SELECT actor FROM audit_log WHERE action = 'bundle.import'`).all()).toEqual([
      { actor: 'office' },
    ]);
  });

  it('keeps a plan that had not finished on site as its record, cancelled here, never to be started from the office', async () => {
    const site = await siteWorkspace();
    const pending = insertTestJob(site.db, [site.hosts[0]!], {
      name: 'tonight',
      packages: [ACME_SECURITY_UPDATE],
    });
    updateJob(site.db, pending, { status: 'scheduled', scheduledAt: '2026-11-21T22:00:00.000Z' });
    const office = createMemoryWorkspace();
    const result = await importInto(office, (await exportOf(site.db)).bytes);
    expect(result.warnings).toContain(
      '1 job(s) had not finished on site; they are kept as its record (cancelled here) and are not run from this workspace.',
    );
    expect(
      office.prepare(`SELECT name, status, message, scheduled_at FROM patch_jobs ORDER BY name`).all(),
    ).toEqual([
      { name: 'security updates', status: 'succeeded', message: null, scheduled_at: null },
      {
        name: 'tonight',
        status: 'cancelled',
        message:
          "Imported from Acme Dental <Main>, where it was scheduled; Patchdeck does not run another workspace's plan here.",
        scheduled_at: '2026-11-21T22:00:00.000Z',
      },
    ]);
  });

  it('never holds a secret: no byte of a password, sudo password, passphrase or private key, nor their base64, nor a sealed blob', async () => {
    const site = await siteWorkspace();
    const bundle = await exportOf(site.db);
    const haystacks = [bundle.bytes, ...(await entriesOf(bundle.bytes)).values()];
    const inner = (await entriesOf(bundle.bytes)).get('advisories.zip')!;
    haystacks.push(...(await entriesOf(inner)).values());
    const sealed = site.db
      .prepare(
        'SELECT secret_ciphertext AS a, passphrase_ciphertext AS b, sudo_password_ciphertext AS c FROM credentials',
      )
      .all() as Record<string, Buffer | null>[];
    const needles: Buffer[] = [];
    for (const s of Object.values(SECRETS)) {
      needles.push(Buffer.from(s), Buffer.from(Buffer.from(s).toString('base64')));
    }
    needles.push(Buffer.from('BEGIN OPENSSH PRIVATE KEY'), Buffer.from('site password'));
    for (const row of sealed)
      for (const blob of Object.values(row))
        if (blob)
          needles.push(
            blob.subarray(0, 24),
            Buffer.from(blob.toString('base64').slice(0, 24)),
            Buffer.from(blob.toString('hex').slice(0, 32), 'latin1'),
            // A blob as JSON.stringify writes a Buffer ({"type":"Buffer","data":[…]}).
            Buffer.from(JSON.stringify([...blob.subarray(0, 12)]).slice(1, -1)),
          );
    expect(needles.length).toBeGreaterThan(10);
    for (const hay of haystacks) for (const needle of needles) expect(hay.indexOf(needle)).toBe(-1);
  });

  it('refuses tampered, truncated, incomplete, padded and newer bundles whole, writing nothing', async () => {
    const site = await siteWorkspace();
    const bundle = await exportOf(site.db);
    const entries = [...(await entriesOf(bundle.bytes)).entries()];
    const office = createMemoryWorkspace();
    const counts = rowCounts(office);
    const manifest = JSON.parse(entries[0]![1].toString()) as Record<string, unknown>;

    const tamperedFindings = entries.map(([n, b]): [string, Buffer] => {
      if (n !== 'findings.jsonl') return [n, b];
      const copy = Buffer.from(b);
      const at = copy.indexOf('5.1-1');
      copy[at] = '6'.charCodeAt(0);
      return [n, copy];
    });
    const cases: [string, Buffer, RegExp][] = [
      ['one byte changed', await zipOf(tamperedFindings), /findings\.jsonl does not match its manifest/],
      [
        'truncated',
        bundle.bytes.subarray(0, bundle.bytes.length - 200),
        /not a readable bundle|damaged or truncated/,
      ],
      [
        'cut in half',
        bundle.bytes.subarray(0, bundle.bytes.length >> 1),
        /not a readable bundle|damaged or truncated/,
      ],
      ['missing entry', await zipOf(entries.filter(([n]) => n !== 'jobs.jsonl')), /jobs\.jsonl is missing/],
      [
        'extra entry',
        await zipOf([...entries, ['credentials.jsonl', Buffer.from('{}\n')]]),
        /holds 10 files, more than a bundle has/,
      ],
      [
        'a foreign entry in place of one',
        await zipOf(
          entries.map(([n, b]): [string, Buffer] =>
            n === 'exceptions.jsonl' ? ['credentials.jsonl', b] : [n, b],
          ),
        ),
        /holds credentials\.jsonl, which a bundle never holds/,
      ],
      ['manifest not first', await zipOf([...entries.slice(1), entries[0]!]), /first file is hosts\.jsonl/],
      [
        'newer format',
        await zipOf([
          ['manifest.json', Buffer.from(JSON.stringify({ ...manifest, formatVersion: 2 }))],
          ...entries.slice(1),
        ]),
        /made by a newer Patchdeck \(format 2\); update Patchdeck/,
      ],
      [
        'a record with a column no table has, and a manifest that agrees',
        await forge(entries, manifest, 'hosts.jsonl', (t) =>
          t.replace('"name":', '"secret_ciphertext":"x","name":'),
        ),
        /hosts\.jsonl record 1 is not a valid hosts record/,
      ],
      [
        'a record SQLite refuses (a host without a name), and a manifest that agrees',
        await forge(entries, manifest, 'hosts.jsonl', (t) => t.replace('"name":"reception"', '"name":null')),
        /a record does not fit this workspace/,
      ],
      [
        'a finding pointing to an audit the bundle does not hold',
        await forge(entries, manifest, 'findings.jsonl', (t) =>
          t.replace(/"audit_id":\d+/u, '"audit_id":999'),
        ),
        /finding \d+ points to a record the bundle does not hold/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      await expect(importInto(office, bytes), what).rejects.toThrow(message);
      await expect(importInto(office, bytes), what).rejects.toThrow(
        /site\.pdbundle was refused|newer Patchdeck/,
      );
      expect(rowCounts(office), what).toEqual(counts);
    }
  });

  it('a second import of the same bundle changes nothing; a bundle from this very workspace is refused', async () => {
    const site = await siteWorkspace();
    const bundle = await exportOf(site.db);
    const office = createMemoryWorkspace();
    expect((await importInto(office, bundle.bytes)).imported).toBe(true);
    const counts = rowCounts(office);
    const again = await importInto(office, bundle.bytes);
    expect(again).toMatchObject({ imported: false, added: {} });
    expect(rowCounts(office)).toEqual(counts);

    const siteCounts = rowCounts(site.db);
    await expect(importInto(site.db, bundle.bytes)).rejects.toThrow(/this bundle came from this workspace/);
    expect(rowCounts(site.db)).toEqual(siteCounts);
  });

  it('merges a host the workspace already has (by MAC) instead of duplicating it, and a later bundle adds only what is new', async () => {
    const site = await siteWorkspace();
    const office = createMemoryWorkspace();
    const known = insertHost(office, { name: 'front-desk', address: '198.51.100.7' }).id;
    office.prepare('UPDATE hosts SET mac = ? WHERE id = ?').run('02:00:00:00:00:01', known);

    const first = await importInto(office, (await exportOf(site.db, [site.hosts[0]!])).bytes);
    expect(first.matchedHosts).toEqual([{ name: 'office-pc3', hostId: known, by: 'mac' }]);
    expect(first.added).toMatchObject({ audits: 1, findings: 2, jobs: 1 });
    expect(first.added.hosts).toBeUndefined();
    expect(office.prepare('SELECT count(*) AS n FROM hosts').get()).toEqual({ n: 1 });
    expect(office.prepare('SELECT DISTINCT host_id AS h FROM audits').all()).toEqual([{ h: known }]);

    // Back on site: another audit of office-pc3; the next bundle (both hosts) brings only the new records.
    const audit = recordAudit(site.db, site.hosts[0]!, DEBIAN_12, 'apt', [
      packageFinding({
        package: 'zlib1g',
        arch: 'amd64',
        installedVersion: '1:1.2.13-1',
        availableVersion: '1:1.2.13-2',
        repository: 'main',
      }),
    ]);
    dateAudit(site.db, audit, '2026-11-19T09:00:00.000Z');
    const second = await importInto(office, (await exportOf(site.db)).bytes);
    expect(second.matchedHosts).toEqual([{ name: 'office-pc3', hostId: known, by: 'bundle' }]);
    expect(second.added).toMatchObject({ hosts: 1, audits: 2, findings: 3 });
    expect(second.added.jobs).toBeUndefined();
    expect(office.prepare('SELECT count(*) AS n FROM hosts').get()).toEqual({ n: 2 });
    expect(office.prepare('SELECT count(*) AS n FROM audits').get()).toEqual({ n: 3 });
    expect(office.prepare('SELECT count(*) AS n FROM patch_jobs').get()).toEqual({ n: 1 });
    expect(office.prepare('SELECT count(*) AS n FROM job_steps').get()).toEqual({ n: 2 });
  });
});
