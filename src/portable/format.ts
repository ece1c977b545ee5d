import type { Database } from 'better-sqlite3';
import { z } from 'zod';

/** What a portable bundle says it is, in its manifest.json. */
export const BUNDLE_FORMAT = 'patchdeck-bundle';
/** The newest bundle layout this Patchdeck writes and reads. */
export const BUNDLE_FORMAT_VERSION = 1;

export const MAX_MANIFEST_BYTES = 1024 ** 2;
/**
 * Largest inflated entry, and all entries together: the bundle is read whole into the core
 * process of a laptop. Inflation is counted while reading, so a zip bomb stops at the bound.
 */
export const MAX_ENTRY_BYTES = 64 * 1024 ** 2;
export const MAX_TOTAL_BYTES = 256 * 1024 ** 2;
/** Largest bundle file read at all (it is read whole, then checked): its entries and the zip's headers. */
export const MAX_BUNDLE_BYTES = MAX_TOTAL_BYTES + MAX_MANIFEST_BYTES + 1024 ** 2;
/** Longest JSON line of an entity file (one record with its nested rows). */
export const MAX_LINE_BYTES = 32 * 1024 ** 2;
export const MAX_RECORDS_PER_FILE = 2_000_000;
/** Longest text value in a record (a job's log line, a package list, an audit's JSON columns). */
const MAX_TEXT = 16 * 1024 ** 2;

/**
 * The tables a bundle carries and the columns it leaves out of each. Only these tables are ever
 * read: never credentials, settings, tasks or scans. Host rows drop their credential (its id
 * means nothing elsewhere and the secret never leaves) and scan links; audits and jobs their task.
 * Ids and links are remapped on import.
 */
export const TABLES = {
  hosts: { table: 'hosts', omit: ['credential_id', 'last_scan_id', 'first_scan_id'] },
  host_addresses: { table: 'host_addresses', omit: ['id'] },
  host_keys: { table: 'host_keys', omit: ['id'] },
  audits: { table: 'audits', omit: ['task_id'] },
  audit_hotfixes: { table: 'audit_hotfixes', omit: [] },
  audit_packages: { table: 'audit_packages', omit: [] },
  findings: { table: 'findings', omit: [] },
  finding_cves: { table: 'finding_cves', omit: [] },
  patch_jobs: { table: 'patch_jobs', omit: ['task_id'] },
  job_steps: { table: 'job_steps', omit: [] },
  job_log: { table: 'job_log', omit: [] },
  audit_log: { table: 'audit_log', omit: [] },
  finding_exceptions: { table: 'finding_exceptions', omit: [] },
} as const;
export type TableKey = keyof typeof TABLES;

/** Each entity file of a bundle, in the order they are written and merged. */
export const ENTITY_FILES = [
  {
    name: 'hosts.jsonl',
    entity: 'hosts',
    table: 'hosts',
    nested: { addresses: 'host_addresses', keys: 'host_keys' },
  },
  {
    name: 'audits.jsonl',
    entity: 'audits',
    table: 'audits',
    nested: { hotfixes: 'audit_hotfixes', packages: 'audit_packages' },
  },
  { name: 'findings.jsonl', entity: 'findings', table: 'findings', nested: { evidence: 'finding_cves' } },
  { name: 'jobs.jsonl', entity: 'jobs', table: 'patch_jobs', nested: { steps: 'job_steps' } },
  { name: 'job_log.jsonl', entity: 'job_log', table: 'job_log', nested: {} },
  { name: 'audit_log.jsonl', entity: 'audit_log', table: 'audit_log', nested: {} },
  { name: 'exceptions.jsonl', entity: 'exceptions', table: 'finding_exceptions', nested: {} },
] as const satisfies readonly {
  name: string;
  entity: string;
  table: TableKey;
  nested: Record<string, TableKey>;
}[];
export type EntityFile = (typeof ENTITY_FILES)[number];
export type EntityName = EntityFile['entity'];

/** The nested snapshot of advisories the findings were judged against (src/intel's bundle). */
export const ADVISORIES_FILE = 'advisories.zip';
export const MANIFEST_FILE = 'manifest.json';
export const ENTRY_NAMES: readonly string[] = [...ENTITY_FILES.map((f) => f.name), ADVISORIES_FILE];

type ColumnType = 'text' | 'int' | 'real' | 'blob';
export interface Column {
  name: string;
  type: ColumnType;
}

/** The columns of a table a bundle carries, from the workspace's own schema (minus the omitted ones). */
export function columnsOf(db: Database, key: TableKey): Column[] {
  const { table, omit } = TABLES[key];
  const rows = db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table) as {
    name: string;
    type: string;
  }[];
  return rows
    .filter((r) => !(omit as readonly string[]).includes(r.name))
    .map((r) => {
      const t = r.type.toUpperCase();
      const type: ColumnType = t.includes('INT')
        ? 'int'
        : t.includes('REAL')
          ? 'real'
          : t.includes('BLOB')
            ? 'blob'
            : 'text';
      return { name: r.name, type };
    })
    .filter((c) => c.type !== 'blob');
}

/** A zod schema of one row: each known column optional, typed, bounded; nothing else allowed. */
export function rowSchema(columns: readonly Column[]): z.ZodType<Record<string, string | number | null>> {
  const shape: Record<string, z.ZodType> = {};
  for (const c of columns) {
    const base =
      c.type === 'int'
        ? z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)
        : c.type === 'real'
          ? z.number().finite()
          : z.string().max(MAX_TEXT);
    shape[c.name] = base.nullable().optional();
  }
  return z.object(shape).strict() as unknown as z.ZodType<Record<string, string | number | null>>;
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/u);

/** manifest.json, checked before anything else is read. formatVersion is checked first, alone. */
export const Manifest = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    formatVersion: z.number().int().min(1),
    patchdeckVersion: z.string().max(100),
    createdAt: z.string().max(100),
    createdBy: z.string().max(500),
    origin: z
      .object({
        workspace: z.string().min(1).max(100),
        siteName: z.string().max(1000),
      })
      .strict(),
    files: z
      .array(
        z
          .object({
            name: z.string().max(200),
            bytes: z.number().int().min(0).max(MAX_ENTRY_BYTES),
            sha256: Sha256,
          })
          .strict(),
      )
      .max(ENTRY_NAMES.length),
    counts: z.record(z.string().max(100), z.number().int().min(0)),
  })
  .strict();
export type Manifest = z.infer<typeof Manifest>;
