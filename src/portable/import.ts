import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import yauzl from 'yauzl';
import type { BundleImportResult } from '../api';
import { appendAuditLog, cleanSiteName, createWorkspace, readWorkspaceMeta } from '../db';
import { matchHost, type KnownHost } from '../discovery';
import { bufferSource, importFeedSources, type ImportSummary } from '../intel';
import { PatchdeckError, type Clock } from '../util';
import {
  ADVISORIES_FILE,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  ENTITY_FILES,
  ENTRY_NAMES,
  MANIFEST_FILE,
  MAX_ENTRY_BYTES,
  MAX_LINE_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_RECORDS_PER_FILE,
  MAX_TOTAL_BYTES,
  Manifest,
  TABLES,
  columnsOf,
  rowSchema,
  type EntityName,
  type TableKey,
} from './format';

type Row = Record<string, string | number | null>;
/** One record of an entity file: its row and its nested rows (a host's addresses, a job's steps…). */
interface BundleRecord {
  row: Row;
  nested: Record<string, Row[]>;
}

/** A bundle read and checked whole: nothing of it has touched the workspace yet. */
export interface VerifiedBundle {
  sha256: string;
  manifest: Manifest;
  records: Record<EntityName, BundleRecord[]>;
  advisories: Buffer;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The refusal of a bundle, naming it: nothing was written. */
function refuse(name: string, why: string): PatchdeckError {
  return new PatchdeckError('bad-request', `${name} was refused: ${why}; nothing was imported.`);
}

async function readEntries(
  bytes: Buffer,
  name: string,
): Promise<{ names: string[]; data: Map<string, Buffer> }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true });
  } catch (error) {
    throw refuse(name, `it is not a readable bundle (${(error as Error).message.slice(0, 200)})`);
  }
  if (zip.entryCount > ENTRY_NAMES.length + 1)
    throw refuse(name, `it holds ${zip.entryCount} files, more than a bundle has`);
  const names: string[] = [];
  const data = new Map<string, Buffer>();
  let total = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      const entryName = entry.fileName.slice(0, 200);
      if (data.has(entryName)) throw refuse(name, `it holds ${entryName} twice`);
      if (names.length === 0 && entryName !== MANIFEST_FILE)
        throw refuse(name, `its first file is ${entryName}, not ${MANIFEST_FILE}`);
      if (names.length > 0 && !ENTRY_NAMES.includes(entryName))
        throw refuse(name, `it holds ${entryName}, which a bundle never holds`);
      const limit = names.length === 0 ? MAX_MANIFEST_BYTES : MAX_ENTRY_BYTES;
      if (entry.uncompressedSize > limit || total + entry.uncompressedSize > MAX_TOTAL_BYTES)
        throw refuse(name, `${entryName} is larger than a bundle's file may be`);
      // Counted as it inflates, whatever the headers declare: at most this entry's bound and
      // what is left of the whole bundle's.
      const content = await readEntry(zip, entry, Math.min(limit, MAX_TOTAL_BYTES - total));
      total += content.length;
      names.push(entryName);
      data.set(entryName, content);
    }
  } catch (error) {
    if (error instanceof PatchdeckError) throw error;
    if (error instanceof EntryTooLarge)
      throw refuse(name, `${error.entry} is larger than a bundle's file may be`);
    throw refuse(name, `it is damaged or truncated (${(error as Error).message.slice(0, 200)})`);
  } finally {
    zip.close();
  }
  return { names, data };
}

/** An entry that inflated past its bound (its reading stopped there). */
class EntryTooLarge extends Error {
  constructor(readonly entry: string) {
    super(`${entry} inflates past its bound`);
  }
}

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, limit: number): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new EntryTooLarge(entry.fileName.slice(0, 200));
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Lines of a JSONL entry, split in one pass; an over-long line or too many lines refuse the bundle. */
function* lines(bytes: Buffer, name: string, entry: string): Generator<string> {
  let start = 0;
  let count = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    if (end - start > MAX_LINE_BYTES)
      throw refuse(name, `${entry} has a record longer than ${MAX_LINE_BYTES} bytes`);
    if (++count > MAX_RECORDS_PER_FILE)
      throw refuse(name, `${entry} holds more than ${MAX_RECORDS_PER_FILE} records`);
    if (end > start) yield bytes.toString('utf8', start, end);
    start = end + 1;
  }
}

/**
 * Reads a bundle and checks all of it before anything is written: the manifest (format, version,
 * origin), every entry's size and sha256 against it, no missing or extra entry, every record
 * against its table's columns (zod), and every link between records (a finding's audit is in
 * the bundle…). Any failure refuses the whole bundle with a sentence naming it.
 */
export async function verifyPortableBundle(
  db: Database,
  bytes: Buffer,
  name: string,
): Promise<VerifiedBundle> {
  const { names, data } = await readEntries(bytes, name);
  if (names[0] !== MANIFEST_FILE) throw refuse(name, `it has no ${MANIFEST_FILE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(data.get(MANIFEST_FILE)!.toString('utf8'));
  } catch {
    throw refuse(name, `its ${MANIFEST_FILE} is not JSON`);
  }
  const head = raw as { format?: unknown; formatVersion?: unknown } | null;
  if (!head || typeof head !== 'object' || head.format !== BUNDLE_FORMAT)
    throw refuse(name, 'it is not a Patchdeck bundle (its manifest names another format)');
  if (typeof head.formatVersion === 'number' && head.formatVersion > BUNDLE_FORMAT_VERSION)
    throw new PatchdeckError(
      'bad-request',
      `${name} was made by a newer Patchdeck (format ${head.formatVersion}); update Patchdeck to import it. Nothing was imported.`,
    );
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) throw refuse(name, `its ${MANIFEST_FILE} is not a valid manifest`);
  const manifest = parsed.data;

  const listed = new Map(manifest.files.map((f) => [f.name, f]));
  if (listed.size !== manifest.files.length) throw refuse(name, 'its manifest names a file twice');
  for (const entry of ENTRY_NAMES) {
    if (!listed.has(entry)) throw refuse(name, `its manifest does not name ${entry}`);
    if (!data.has(entry)) throw refuse(name, `${entry} is missing`);
  }
  for (const f of manifest.files)
    if (!ENTRY_NAMES.includes(f.name))
      throw refuse(name, `its manifest names ${f.name}, which a bundle never holds`);
  for (const entry of ENTRY_NAMES) {
    const file = listed.get(entry)!;
    const content = data.get(entry)!;
    if (content.length !== file.bytes || sha256(content) !== file.sha256)
      throw refuse(name, `${entry} does not match its manifest (changed or damaged)`);
  }

  const schemas = new Map<TableKey, ReturnType<typeof rowSchema>>();
  const schemaOf = (key: TableKey): ReturnType<typeof rowSchema> => {
    let s = schemas.get(key);
    if (!s) schemas.set(key, (s = rowSchema(columnsOf(db, key))));
    return s;
  };
  const records = {} as Record<EntityName, BundleRecord[]>;
  for (const file of ENTITY_FILES) {
    const out: BundleRecord[] = [];
    const ids = new Set<unknown>();
    let n = 0;
    for (const line of lines(data.get(file.name)!, name, file.name)) {
      n++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw refuse(name, `${file.name} record ${n} is not JSON`);
      }
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw refuse(name, `${file.name} record ${n} is not an object`);
      const object = { ...(value as Record<string, unknown>) };
      const nested: Record<string, Row[]> = {};
      for (const [field, key] of Object.entries(file.nested) as [string, TableKey][]) {
        const list = object[field] ?? [];
        delete object[field];
        if (!Array.isArray(list)) throw refuse(name, `${file.name} record ${n}: ${field} is not a list`);
        nested[field] = list.map((item, i) => {
          const r = schemaOf(key).safeParse(item);
          if (!r.success)
            throw refuse(name, `${file.name} record ${n}: ${field} ${i + 1} is not a valid row`);
          return r.data;
        });
      }
      const r = schemaOf(file.table).safeParse(object);
      if (!r.success) throw refuse(name, `${file.name} record ${n} is not a valid ${file.entity} record`);
      const id = r.data.id;
      if (typeof id !== 'number') throw refuse(name, `${file.name} record ${n} has no id`);
      if (ids.has(id)) throw refuse(name, `${file.name} holds record ${id} twice`);
      ids.add(id);
      out.push({ row: r.data, nested });
    }
    if (manifest.counts[file.entity] !== undefined && manifest.counts[file.entity] !== out.length)
      throw refuse(
        name,
        `${file.name} holds ${out.length} records, its manifest says ${manifest.counts[file.entity]}`,
      );
    records[file.entity] = out;
  }
  checkLinks(records, name);
  return { sha256: sha256(bytes), manifest, records, advisories: data.get(ADVISORIES_FILE)! };
}

function checkLinks(records: Record<EntityName, BundleRecord[]>, name: string): void {
  const idsOf = (entity: EntityName): Set<unknown> => new Set(records[entity].map((r) => r.row.id));
  const hosts = idsOf('hosts');
  const audits = idsOf('audits');
  const jobs = idsOf('jobs');
  const steps = new Set<unknown>();
  const bad = (what: string): never => {
    throw refuse(name, `${what} points to a record the bundle does not hold`);
  };
  for (const a of records.audits) if (!hosts.has(a.row.host_id)) bad(`audit ${a.row.id}`);
  for (const f of records.findings)
    if (!audits.has(f.row.audit_id) || !hosts.has(f.row.host_id)) bad(`finding ${f.row.id}`);
  for (const j of records.jobs)
    for (const s of j.nested.steps ?? []) {
      if (!hosts.has(s.host_id) || s.job_id !== j.row.id) bad(`job ${j.row.id}'s step ${s.id}`);
      if (typeof s.id !== 'number') bad(`job ${j.row.id}'s step`);
      steps.add(s.id);
    }
  for (const l of records.job_log)
    if (!jobs.has(l.row.job_id) || (l.row.step_id != null && !steps.has(l.row.step_id)))
      bad(`job log entry ${l.row.id}`);
  for (const e of records.exceptions)
    if (e.row.host_id != null && !hosts.has(e.row.host_id)) bad(`exception ${e.row.id}`);
  // An entry about a kind of record the bundle carries must be about one it holds: otherwise its
  // raw id would name one of this workspace's own records (a forged approval of the office's job).
  for (const l of records.audit_log) {
    const entity = auditLogEntity(l.row.entity_type);
    if (!entity) continue;
    const id = Number(l.row.entity_id);
    if (l.row.entity_id == null || !idsOf(entity).has(id)) bad(`audit log entry ${l.row.id}`);
  }
}

/** The bundle entity an audit log entry's entity_type names, if the bundle carries that kind. */
function auditLogEntity(type: unknown): EntityName | undefined {
  return typeof type === 'string' && Object.hasOwn(AUDIT_LOG_ENTITIES, type)
    ? AUDIT_LOG_ENTITIES[type]
    : undefined;
}

/** Inserts one row of `key`'s table (only the columns it carries, ids dropped, links replaced). */
type Value = string | number | null;
function inserter(db: Database) {
  const cache = new Map<string, Statement<Value[]>>();
  return (key: TableKey, row: Row, set: Row, mode: '' | 'OR IGNORE' = ''): number => {
    const values: Row = { ...row, ...set };
    delete values.id;
    const cols = Object.keys(values);
    const sig = `${key}|${mode}|${cols.join(',')}`;
    let stmt = cache.get(sig);
    if (!stmt) {
      stmt = db.prepare<Value[]>(
        `INSERT ${mode} INTO ${TABLES[key].table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      );
      cache.set(sig, stmt);
    }
    return Number(stmt.run(...cols.map((c): Value => values[c] ?? null)).lastInsertRowid);
  };
}

/** The entity_type values of src's appendAuditLog callers that name a kind of record a bundle carries. */
const AUDIT_LOG_ENTITIES: Record<string, EntityName> = {
  host: 'hosts',
  patch_job: 'jobs',
  job: 'jobs',
  audit: 'audits',
  exception: 'exceptions',
  finding: 'findings',
};

function parseList(text: unknown): string[] {
  if (typeof text !== 'string') return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Merges a verified bundle, all or nothing: every part is tried first (the records in a rolled-back
 * transaction, the advisory snapshot in a scratch workspace), then the snapshot, then one transaction: hosts by identity (this origin's earlier mapping, else MAC,
 * host key, name, address), records new to this workspace added once, audit log entries copied
 * with their actor and time and marked with their origin, the import itself recorded.
 */
export async function mergePortableBundle(
  db: Database,
  bundle: VerifiedBundle,
  options: { name: string; actor: string; clock: Clock },
): Promise<BundleImportResult> {
  const { manifest } = bundle;
  const origin = manifest.origin.workspace;
  const originSite = cleanSiteName(manifest.origin.siteName);
  const base = { sha256: bundle.sha256, originWorkspace: origin, originSite, createdAt: manifest.createdAt };
  if (origin === readWorkspaceMeta(db).uuid)
    throw refuse(options.name, 'this bundle came from this workspace');
  if (db.prepare('SELECT 1 FROM bundle_imports WHERE sha256 = ?').get(bundle.sha256))
    return {
      imported: false,
      ...base,
      added: {},
      matchedHosts: [],
      warnings: ['This bundle was imported before: nothing changed.'],
    };

  const warnings: string[] = [];
  const insert = inserter(db);
  const mapped = db.prepare(
    'SELECT local_id AS id FROM bundle_records WHERE origin_workspace = ? AND entity = ? AND origin_id = ?',
  );
  const remember = db.prepare(
    'INSERT OR REPLACE INTO bundle_records (origin_workspace, entity, origin_id, local_id) VALUES (?, ?, ?, ?)',
  );
  const localOf = (entity: string, id: unknown): number | null => {
    const row = mapped.get(origin, entity, String(id)) as { id: number } | undefined;
    return row ? row.id : null;
  };
  const keySighting = db.prepare(
    `INSERT INTO host_key_sightings (host_id, key_type, fingerprint, public_key, source, address, seen_at)
     VALUES (?, ?, ?, ?, 'scan', NULL, ?) ON CONFLICT (host_id, fingerprint) DO NOTHING`,
  );
  const importedAt = new Date(options.clock.now()).toISOString();
  const advisoryOf = db.prepare(
    'SELECT id, source_id AS sourceId FROM advisories WHERE feed = ? AND advisory_id = ?',
  );

  const body = (): BundleImportResult => {
    warnings.length = 0;
    const added: Record<string, number> = {};
    const bump = (k: string): void => void (added[k] = (added[k] ?? 0) + 1);
    const matchedHosts: BundleImportResult['matchedHosts'] = [];
    const hostMap = new Map<unknown, number>();
    const known = knownHosts(db);
    for (const { row, nested } of bundle.records.hosts) {
      const earlier = localOf('host', row.id);
      if (earlier !== null && db.prepare('SELECT 1 FROM hosts WHERE id = ?').get(earlier)) {
        hostMap.set(row.id, earlier);
        matchedHosts.push({ name: String(row.name), hostId: earlier, by: 'bundle' });
        continue;
      }
      const names = [String(row.name ?? ''), ...parseList(row.names)].filter(Boolean);
      const addresses = [row.address, ...(nested.addresses ?? []).map((a) => a.address)].filter(
        (a): a is string => typeof a === 'string',
      );
      const match = matchHost(
        {
          address: addresses[0] ?? '',
          mac: typeof row.mac === 'string' ? row.mac : null,
          hostKeyFingerprints: (nested.keys ?? []).map((k) => String(k.fingerprint)),
          names,
        },
        known,
      );
      let local: number;
      if (match) {
        local = Number(match.hostId);
        matchedHosts.push({ name: String(row.name), hostId: local, by: match.by });
        for (const a of nested.addresses ?? []) insert('host_addresses', a, { host_id: local }, 'OR IGNORE');
      } else {
        local = insert('hosts', row, { credential_id: null });
        for (const a of nested.addresses ?? []) insert('host_addresses', a, { host_id: local }, 'OR IGNORE');
        // A key pinned elsewhere is carried for identity, never pinned here: it waits for this
        // workspace's admin to review and trust it, like a key a discovery scan saw.
        for (const k of nested.keys ?? [])
          if (k.status === 'trusted' && typeof k.key_type === 'string' && typeof k.fingerprint === 'string')
            keySighting.run(
              local,
              k.key_type,
              k.fingerprint,
              k.public_key ?? null,
              k.trusted_at ?? importedAt,
            );
        known.push({ id: local, macs: row.mac ? [String(row.mac)] : [], names, addresses });
        bump('hosts');
      }
      hostMap.set(row.id, local);
      remember.run(origin, 'host', String(row.id), local);
    }
    const hostOf = (id: unknown): number => hostMap.get(id)!;

    const auditMap = new Map<unknown, number>();
    for (const { row, nested } of bundle.records.audits) {
      const earlier = localOf('audit', row.id);
      if (earlier !== null) {
        auditMap.set(row.id, earlier);
        continue;
      }
      const local = insert('audits', row, { host_id: hostOf(row.host_id) });
      for (const h of nested.hotfixes ?? []) insert('audit_hotfixes', h, { audit_id: local }, 'OR IGNORE');
      for (const p of nested.packages ?? []) insert('audit_packages', p, { audit_id: local }, 'OR IGNORE');
      auditMap.set(row.id, local);
      remember.run(origin, 'audit', String(row.id), local);
      bump('audits');
    }

    const findingMap = new Map<unknown, number>();
    for (const { row, nested } of bundle.records.findings) {
      const earlierFinding = localOf('finding', row.id);
      if (earlierFinding !== null) {
        findingMap.set(row.id, earlierFinding);
        continue;
      }
      const local = insert('findings', row, {
        audit_id: auditMap.get(row.audit_id)!,
        host_id: hostOf(row.host_id),
      });
      for (const c of nested.evidence ?? []) {
        const adv = advisoryOf.get(c.feed, c.advisory_id) as { id: number; sourceId: number } | undefined;
        insert(
          'finding_cves',
          c,
          { finding_id: local, advisory: adv?.id ?? null, source_id: adv?.sourceId ?? null },
          'OR IGNORE',
        );
      }
      findingMap.set(row.id, local);
      remember.run(origin, 'finding', String(row.id), local);
      bump('findings');
    }

    const jobMap = new Map<unknown, number>();
    const stepMap = new Map<unknown, number>();
    let jobsKnown = 0;
    let unfinishedJobs = 0;
    for (const { row, nested } of bundle.records.jobs) {
      const earlier = localOf('job', row.id);
      if (earlier !== null) {
        jobMap.set(row.id, earlier);
        jobsKnown++;
      }
      // A plan that had not finished on site is kept as the site's record, never run from here:
      // the scheduler or an admin would otherwise start another workspace's approved plan.
      const unfinished = !FINISHED_JOBS.has(String(row.status));
      const local =
        earlier ??
        insert(
          'patch_jobs',
          row,
          unfinished
            ? {
                task_id: null,
                options: withoutCredential(row.options),
                status: 'cancelled',
                message: `Imported from ${originSite || 'another workspace'}, where it was ${String(row.status)}; Patchdeck does not run another workspace's plan here.`,
              }
            : { task_id: null, options: withoutCredential(row.options) },
        );
      if (earlier === null && unfinished) unfinishedJobs++;
      for (const s of nested.steps ?? []) {
        const seen = localOf('job_step', s.id);
        if (seen !== null) {
          stepMap.set(s.id, seen);
          continue;
        }
        if (earlier !== null) bump('job_steps');
        const verify = s.verify_audit_id == null ? null : (auditMap.get(s.verify_audit_id) ?? null);
        const step = insert('job_steps', s, {
          job_id: local,
          host_id: hostOf(s.host_id),
          verify_audit_id: verify,
        });
        stepMap.set(s.id, step);
        remember.run(origin, 'job_step', String(s.id), step);
      }
      jobMap.set(row.id, local);
      if (earlier !== null) continue;
      remember.run(origin, 'job', String(row.id), local);
      bump('jobs');
    }
    if (unfinishedJobs > 0)
      warnings.push(
        `${unfinishedJobs} job(s) had not finished on site; they are kept as its record (cancelled here) and are not run from this workspace.`,
      );
    if (jobsKnown > 0)
      warnings.push(
        `${jobsKnown} job(s) were imported before from this site and keep the state they had then.`,
      );

    for (const { row } of bundle.records.job_log) {
      if (localOf('job_log', row.id) !== null) continue;
      const jobId = jobMap.get(row.job_id);
      if (jobId === undefined) continue;
      const stepId = row.step_id == null ? null : (stepMap.get(row.step_id) ?? null);
      const local = insert('job_log', row, { job_id: jobId, step_id: stepId });
      remember.run(origin, 'job_log', String(row.id), local);
      bump('job_log');
    }

    const exceptionMap = new Map<unknown, number>();
    for (const { row } of bundle.records.exceptions) {
      const earlier = localOf('exception', row.id);
      if (earlier !== null) {
        exceptionMap.set(row.id, earlier);
        continue;
      }
      const local = insert('finding_exceptions', row, {
        host_id: row.host_id == null ? null : hostOf(row.host_id),
      });
      exceptionMap.set(row.id, local);
      remember.run(origin, 'exception', String(row.id), local);
      bump('exceptions');
    }

    const maps: Record<EntityName, Map<unknown, number>> = {
      hosts: hostMap,
      audits: auditMap,
      findings: findingMap,
      jobs: jobMap,
      job_log: new Map(),
      audit_log: new Map(),
      exceptions: exceptionMap,
    };
    for (const { row } of bundle.records.audit_log) {
      if (localOf('audit_log', row.id) !== null) continue;
      let details: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(String(row.details ?? '{}'));
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          details = parsed as Record<string, unknown>;
      } catch {
        details = { unreadable: true };
      }
      // Every entry about a carried kind points into the bundle (checkLinks); any other kind
      // (a credential, a schedule…) names a record of the site, never one here: no id is kept.
      const entity = auditLogEntity(row.entity_type);
      const entityId = entity ? (maps[entity].get(Number(row.entity_id)) ?? null) : null;
      const local = insert('audit_log', row, {
        entity_id: entityId === null ? null : String(entityId),
        details: JSON.stringify({
          ...details,
          importedFrom: { workspace: origin, site: originSite, entryId: row.id, entityId: row.entity_id },
        }),
      });
      remember.run(origin, 'audit_log', String(row.id), local);
      bump('audit_log');
    }

    const importId = Number(
      db
        .prepare(
          `INSERT INTO bundle_imports (sha256, origin_workspace, origin_site, created_at, imported_at, imported_by, counts)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          bundle.sha256,
          origin,
          originSite,
          manifest.createdAt,
          importedAt,
          options.actor,
          JSON.stringify(added),
        ).lastInsertRowid,
    );
    appendAuditLog(db, {
      actor: options.actor,
      action: 'bundle.import',
      entityType: 'bundle_import',
      entityId: importId,
      details: {
        sha256: bundle.sha256,
        originWorkspace: origin,
        originSite,
        createdAt: manifest.createdAt,
        added,
        matchedHosts: matchedHosts.length,
      },
    });
    return { imported: true, ...base, added, matchedHosts, warnings };
  };
  const attempt = (dryRun: boolean): BundleImportResult | null => {
    try {
      return db.transaction(() => {
        const result = body();
        if (dryRun) throw new DryRunDone();
        return result;
      })();
    } catch (error) {
      if (error instanceof DryRunDone) return null;
      if (error instanceof PatchdeckError) throw error;
      throw refuse(
        options.name,
        `a record does not fit this workspace (${(error as Error).message.slice(0, 200)})`,
      );
    }
  };
  // Nothing is written until every part is known to go in. The records are tried against this
  // workspace's constraints in a transaction that is rolled back; the advisory snapshot is
  // imported whole into a scratch workspace of its own (src/intel commits it file by file and
  // reads it asynchronously, so it cannot share the merge's transaction), and any file of it
  // refused there refuses the bundle. Only then the snapshot goes in here (the same bytes,
  // read the same way), and the records in one transaction.
  attempt(true);
  await trialSnapshot(bundle.advisories, options);
  const summary = await importFeedSources(db, [snapshotSource(bundle.advisories, options.name)], {
    clock: options.clock,
  });
  refuseSnapshot(summary, options.name);
  return attempt(false)!;
}

const snapshotSource = (bytes: Buffer, name: string) => bufferSource(`${name}: ${ADVISORIES_FILE}`, bytes);

function refuseSnapshot(summary: ImportSummary, name: string): void {
  const refused = summary.files.filter((f) => f.status === 'refused');
  if (refused.length > 0)
    throw refuse(name, `its advisory snapshot was refused (${(refused[0]!.message ?? '').slice(0, 300)})`);
}

/** Imports the snapshot into a throw-away workspace file: a refusal there refuses the bundle. */
async function trialSnapshot(bytes: Buffer, options: { name: string; clock: Clock }): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchdeck-bundle-trial-'));
  let scratch: Database | null = null;
  try {
    scratch = createWorkspace(path.join(dir, 'trial.sqlite'));
    const summary = await importFeedSources(scratch, [snapshotSource(bytes, options.name)], {
      clock: options.clock,
    });
    refuseSnapshot(summary, options.name);
  } finally {
    scratch?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const FINISHED_JOBS = new Set(['succeeded', 'failed', 'cancelled']);

/** A job's options without the site's credential id (it would name one of this workspace's credentials). */
function withoutCredential(options: unknown): string {
  try {
    const parsed: unknown = JSON.parse(typeof options === 'string' ? options : '{}');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return '{}';
    const { credentialId: _dropped, ...rest } = parsed as Record<string, unknown>;
    return JSON.stringify(rest);
  } catch {
    return '{}';
  }
}

/** Ends the trial run of a merge (its transaction rolls back). */
class DryRunDone extends Error {}

function knownHosts(db: Database): KnownHost[] {
  const hosts = db.prepare('SELECT id, name, names, address, mac FROM hosts').all() as {
    id: number;
    name: string;
    names: string;
    address: string | null;
    mac: string | null;
  }[];
  const byHost = <T>(sql: string): Map<number, T[]> => {
    const map = new Map<number, T[]>();
    for (const r of db.prepare(sql).all() as { hostId: number; v: T }[]) {
      const list = map.get(r.hostId) ?? [];
      list.push(r.v);
      map.set(r.hostId, list);
    }
    return map;
  };
  const keys = byHost<string>(
    `SELECT host_id AS hostId, fingerprint AS v FROM host_keys WHERE status = 'trusted'`,
  );
  const addrs = byHost<string>('SELECT host_id AS hostId, address AS v FROM host_addresses');
  return hosts.map((h) => ({
    id: h.id,
    macs: h.mac ? [h.mac] : [],
    hostKeyFingerprints: keys.get(h.id) ?? [],
    names: [h.name, ...parseList(h.names)],
    addresses: [...(h.address ? [h.address] : []), ...(addrs.get(h.id) ?? [])],
  }));
}
