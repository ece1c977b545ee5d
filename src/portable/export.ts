import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import yazl from 'yazl';
import { readWorkspaceMeta } from '../db';
import { exportAdvisoryBundle } from '../intel';
import { PatchdeckError, type Clock } from '../util';
import {
  ADVISORIES_FILE,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  ENTITY_FILES,
  MANIFEST_FILE,
  columnsOf,
  type Manifest,
  TABLES,
  type TableKey,
} from './format';

export interface BuiltBundle {
  fileName: string;
  bytes: Buffer;
  sha256: string;
  hosts: number;
  counts: Record<string, number>;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

type Row = Record<string, unknown>;

function select(db: Database, key: TableKey, where: string, params: unknown[]): Row[] {
  const { table } = TABLES[key];
  const cols = columnsOf(db, key)
    .map((c) => `"${c.name}"`)
    .join(', ');
  return db.prepare(`SELECT ${cols} FROM ${table} WHERE ${where}`).all(...params) as Row[];
}

/** Rows whose `column` is one of `ids`, read in slices (SQLite's parameter limit). */
function selectIn(db: Database, key: TableKey, column: string, ids: readonly number[], extra = ''): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    // Rows in a stable order: by id, else (tables without one) by their leading columns.
    const order = columnsOf(db, key).some((c) => c.name === 'id') ? 'id' : '1, 2, 3';
    out.push(
      ...select(db, key, `${column} IN (${slice.map(() => '?').join(',')})${extra} ORDER BY ${order}`, slice),
    );
  }
  return out;
}

function groupBy(rows: Row[], column: string): Map<unknown, Row[]> {
  const map = new Map<unknown, Row[]>();
  for (const r of rows) {
    const k = r[column];
    const list = map.get(k) ?? [];
    list.push(r);
    map.set(k, list);
  }
  return map;
}

const jsonl = (rows: readonly object[]): Buffer =>
  Buffer.from(rows.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8');

/**
 * Writes the chosen hosts (default: the inventory) with their audits, findings, jobs, job log,
 * audit log entries, exceptions and the advisory snapshot into one zip, manifest first. Reads
 * only the tables of format.ts: never a credential, a sealed secret or a setting.
 */
export async function buildPortableBundle(
  db: Database,
  options: { hostIds?: readonly number[]; patchdeckVersion: string; createdBy: string },
  clock: Clock,
): Promise<BuiltBundle> {
  const meta = readWorkspaceMeta(db);
  let hostIds: number[];
  if (options.hostIds) {
    hostIds = [...new Set(options.hostIds)];
    const known = new Set((selectIn(db, 'hosts', 'id', hostIds) as { id: number }[]).map((h) => h.id));
    const missing = hostIds.filter((id) => !known.has(id));
    if (missing.length > 0)
      throw new PatchdeckError(
        'not-found',
        `No host with id ${missing.slice(0, 5).join(', ')}; nothing exported.`,
      );
  } else {
    hostIds = (
      db.prepare('SELECT id FROM hosts WHERE in_inventory = 1 ORDER BY id').all() as { id: number }[]
    ).map((h) => h.id);
  }
  if (hostIds.length === 0)
    throw new PatchdeckError('bad-request', 'There is no host to put in a bundle; nothing exported.');

  const hosts = selectIn(db, 'hosts', 'id', hostIds);
  const addresses = groupBy(selectIn(db, 'host_addresses', 'host_id', hostIds), 'host_id');
  const keys = groupBy(selectIn(db, 'host_keys', 'host_id', hostIds), 'host_id');
  const hostRecords = hosts.map((h) => ({
    ...h,
    addresses: addresses.get(h.id) ?? [],
    keys: keys.get(h.id) ?? [],
  }));

  const audits = selectIn(db, 'audits', 'host_id', hostIds);
  const auditIds = audits.map((a) => a.id as number);
  const hotfixes = groupBy(selectIn(db, 'audit_hotfixes', 'audit_id', auditIds), 'audit_id');
  const packages = groupBy(selectIn(db, 'audit_packages', 'audit_id', auditIds), 'audit_id');
  const auditRecords = audits.map((a) => ({
    ...a,
    hotfixes: hotfixes.get(a.id) ?? [],
    packages: packages.get(a.id) ?? [],
  }));

  const findings = selectIn(db, 'findings', 'audit_id', auditIds);
  const cves = groupBy(
    selectIn(
      db,
      'finding_cves',
      'finding_id',
      findings.map((f) => f.id as number),
    ),
    'finding_id',
  );
  const findingRecords = findings.map((f) => ({ ...f, evidence: cves.get(f.id) ?? [] }));

  const steps = selectIn(db, 'job_steps', 'host_id', hostIds);
  const jobIds = [...new Set(steps.map((s) => s.job_id as number))].sort((a, b) => a - b);
  const stepsByJob = groupBy(steps, 'job_id');
  const jobs = selectIn(db, 'patch_jobs', 'id', jobIds);
  const jobRecords = jobs.map((j) => ({ ...j, steps: stepsByJob.get(j.id) ?? [] }));
  const stepIds = new Set(steps.map((s) => s.id));
  const jobLog = selectIn(db, 'job_log', 'job_id', jobIds).filter(
    (l) => l.step_id === null || stepIds.has(l.step_id),
  );

  const exceptions = [
    ...selectIn(db, 'finding_exceptions', 'host_id', hostIds),
    ...select(db, 'finding_exceptions', 'host_id IS NULL ORDER BY id', []),
  ].sort((a, b) => (a.id as number) - (b.id as number));

  const wanted: Record<string, Set<string>> = {
    host: new Set(hostIds.map(String)),
    patch_job: new Set(jobIds.map(String)),
    job: new Set(jobIds.map(String)),
    audit: new Set(auditIds.map(String)),
    exception: new Set(exceptions.map((e) => String(e.id))),
  };
  const auditLog = (
    select(
      db,
      'audit_log',
      `entity_type IN ('host','patch_job','job','audit','exception') ORDER BY id`,
      [],
    ) as {
      entity_type: string;
      entity_id: string | null;
    }[]
  ).filter((e) => e.entity_id !== null && wanted[e.entity_type]?.has(e.entity_id));

  const records: Record<string, object[]> = {
    'hosts.jsonl': hostRecords,
    'audits.jsonl': auditRecords,
    'findings.jsonl': findingRecords,
    'jobs.jsonl': jobRecords,
    'job_log.jsonl': jobLog,
    'audit_log.jsonl': auditLog,
    'exceptions.jsonl': exceptions,
  };
  const entries: { name: string; bytes: Buffer }[] = [];
  const counts: Record<string, number> = {};
  for (const f of ENTITY_FILES) {
    const rows = records[f.name] ?? [];
    entries.push({ name: f.name, bytes: jsonl(rows) });
    counts[f.entity] = rows.length;
  }
  const advisories = await exportAdvisoryBundle(db, clock);
  entries.push({ name: ADVISORIES_FILE, bytes: advisories.bytes });

  const createdAt = new Date(clock.now()).toISOString();
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    patchdeckVersion: options.patchdeckVersion,
    createdAt,
    createdBy: options.createdBy,
    origin: { workspace: meta.uuid, siteName: meta.siteName },
    files: entries.map((e) => ({ name: e.name, bytes: e.bytes.length, sha256: sha256(e.bytes) })),
    counts,
  };
  const bytes = await zipBuffers(
    [
      { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8') },
      ...entries,
    ],
    new Date(clock.now()),
  );
  const slug = (meta.siteName || 'site').replace(/[^A-Za-z0-9.-]+/gu, '-').replace(/^-+|-+$/gu, '') || 'site';
  return {
    fileName: `patchdeck-${slug.slice(0, 60)}-${createdAt.slice(0, 10)}.pdbundle`,
    bytes,
    sha256: sha256(bytes),
    hosts: hostRecords.length,
    counts,
  };
}

function zipBuffers(entries: { name: string; bytes: Buffer }[], mtime: Date): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.bytes, e.name, { mtime, compress: true });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
