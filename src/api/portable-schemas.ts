import { z } from 'zod';
import { Id } from './schemas';

/**
 * Issue 14's part of the contract: reports, the portable audit bundle, workspaces as clients and
 * the hand-off to Ansible.
 */

/** A calendar day, YYYY-MM-DD (a report's range is whole days, in UTC). */
export const CalendarDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/u, 'a date as YYYY-MM-DD');

export const ReportKind = z.enum(['owner', 'compliance']);
export type ReportKind = z.infer<typeof ReportKind>;
export const ReportFormat = z.enum(['html', 'pdf', 'csv', 'json']);
export type ReportFormat = z.infer<typeof ReportFormat>;
/** What a CSV export holds: CSV has one table per file. */
export const ReportTable = z.enum(['findings', 'hosts', 'jobs']);
export type ReportTable = z.infer<typeof ReportTable>;

export const ReportRequest = z
  .object({
    kind: ReportKind,
    /** First day of the period (default: 30 days before `to`). */
    from: CalendarDay.optional(),
    /** Last day of the period, included (default: today). */
    to: CalendarDay.optional(),
    /** Only these hosts (default: every host in the inventory). */
    hostIds: z.array(Id).min(1).max(10_000).optional(),
  })
  .strict();
export type ReportRequest = z.infer<typeof ReportRequest>;

export const ReportPreview = z.object({
  title: z.string(),
  /** The self-contained HTML document, exactly what an HTML export writes. */
  html: z.string(),
  generatedAt: z.string(),
  from: CalendarDay,
  to: CalendarDay,
  hostCount: z.number().int(),
});
export type ReportPreview = z.infer<typeof ReportPreview>;

export const ReportExportRequest = ReportRequest.extend({
  format: ReportFormat,
  /** CSV only: which table (default findings). */
  table: ReportTable.optional(),
  /** Where to write; absent: the desktop asks with a dialog, browser mode gets the bytes back. */
  path: z.string().min(1).max(4096).optional(),
}).strict();
export type ReportExportRequest = z.infer<typeof ReportExportRequest>;

export const ReportExport = z.object({
  /** Where it was written; null when the admin cancelled the dialog or bytes are returned instead. */
  path: z.string().nullable(),
  fileName: z.string(),
  mediaType: z.string(),
  bytes: z.number().int(),
  /** Browser mode: the file itself for the browser to save. */
  base64: z.string().optional(),
});
export type ReportExport = z.infer<typeof ReportExport>;

export const BundleExportRequest = z
  .object({
    /** Only these hosts (default: every host in the inventory). */
    hostIds: z.array(Id).min(1).max(10_000).optional(),
    path: z.string().min(1).max(4096).optional(),
  })
  .strict();

export const BundleExport = z.object({
  path: z.string().nullable(),
  fileName: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  hosts: z.number().int(),
  base64: z.string().optional(),
});
export type BundleExport = z.infer<typeof BundleExport>;

export const BundleImportRequest = z
  .object({
    /** A bundle file on the machine the core runs on (CLI, desktop dialog); absent: the desktop asks. */
    path: z.string().min(1).max(4096).optional(),
    /** A bundle the browser streamed to the carrier's upload route first (browser mode). */
    upload: z
      .string()
      .regex(/^[A-Za-z0-9_-]{22,64}$/u)
      .optional(),
  })
  .strict();

/** What an import merged: counts of rows added per entity, and hosts matched to existing ones. */
export const BundleImportResult = z.object({
  /** False when the same bundle (by sha256) was imported before: nothing changed. */
  imported: z.boolean(),
  sha256: z.string(),
  originWorkspace: z.string(),
  originSite: z.string(),
  createdAt: z.string(),
  added: z.record(z.string(), z.number().int()),
  /** Hosts of the bundle that were already here, and by what they were matched. */
  matchedHosts: z.array(
    z.object({ name: z.string(), hostId: Id, by: z.enum(['bundle', 'mac', 'host-key', 'name', 'address']) }),
  ),
  warnings: z.array(z.string()),
});
export type BundleImportResult = z.infer<typeof BundleImportResult>;

export const RecentWorkspace = z.object({
  path: z.string(),
  siteName: z.string(),
  lastOpenedAt: z.string(),
  /** False when the file is no longer there (moved, deleted, an unplugged drive). */
  exists: z.boolean(),
  current: z.boolean(),
});
export type RecentWorkspace = z.infer<typeof RecentWorkspace>;

export const WorkspaceSuggestion = z.object({
  /** The workspace whose client network this is, or null when none is known (or it is open). */
  suggestion: z
    .object({
      path: z.string(),
      siteName: z.string(),
      gatewayMac: z.string(),
      gatewayAddress: z.string().nullable(),
    })
    .nullable(),
  /** The default gateway's MAC as this machine sees it now, or null when unknown. */
  gatewayMac: z.string().nullable(),
});
export type WorkspaceSuggestion = z.infer<typeof WorkspaceSuggestion>;

export const AnsibleExportRequest = z
  .object({
    /** A folder to write (it must be empty or not exist). */
    out: z.string().min(1).max(4096),
    /** Also write the playbook of this approved patch job. */
    jobId: Id.optional(),
    hostIds: z.array(Id).min(1).max(10_000).optional(),
  })
  .strict();

export const AnsibleExport = z.object({
  dir: z.string(),
  files: z.array(z.string()),
  hosts: z.number().int(),
  /** Hosts left out, with why (no address, no credential user, …). */
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
  playbook: z.string().nullable(),
  /** With jobId, when the job had already been handed off: that hand-off, which this one replaces. */
  replaces: z
    .object({ handedOffAt: z.string(), dir: z.string().nullable(), message: z.string() })
    .nullable()
    .optional(),
});
export type AnsibleExport = z.infer<typeof AnsibleExport>;

export const AnsibleResultsImportRequest = z
  .object({
    path: z.string().min(1).max(4096),
    /** The job the results belong to (default: the one named in the file's play). */
    jobId: Id.optional(),
    /** Re-audit the job's hosts afterwards (default true). */
    reaudit: z.boolean().optional(),
    /** Replace results already imported into the job (default false: refused). */
    replace: z.boolean().optional(),
  })
  .strict();

export const AnsibleResultsImport = z.object({
  jobId: Id,
  steps: z.array(z.object({ host: z.string(), status: z.string(), message: z.string().nullable() })),
  /** The re-audit task, when one was started. */
  auditTaskId: Id.nullable(),
  /** The earlier results this import replaced (with replace). */
  replaced: z.object({ at: z.string(), file: z.string().nullable() }).nullable().optional(),
});
export type AnsibleResultsImport = z.infer<typeof AnsibleResultsImport>;
