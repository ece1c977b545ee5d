import { z } from 'zod';

/**
 * Issue 13's records as they cross the API: the advisory snapshot's status, a finding's evidence,
 * risk tiers and due dates, exceptions, and the dashboard's exposure figures.
 */

const IsoTime = z.string();
const Id = z.number().int().positive();

/** The risk tier of a security finding: known-exploited first, then the severity bands. */
export const Tier = z.enum(['kev', 'critical', 'high', 'medium', 'low']);
export type Tier = z.infer<typeof Tier>;
export const TIERS: readonly Tier[] = Tier.options;

export const FeedKind = z.enum(['kev', 'epss', 'osv', 'debian-tracker', 'csaf']);
export type FeedKind = z.infer<typeof FeedKind>;

/** Days from a finding's first sighting to its due date, per tier. */
export const SlaDays = z
  .object({
    kev: z.number().int().min(1).max(3650),
    critical: z.number().int().min(1).max(3650),
    high: z.number().int().min(1).max(3650),
    medium: z.number().int().min(1).max(3650),
    low: z.number().int().min(1).max(3650),
  })
  .strict();
export type SlaDays = z.infer<typeof SlaDays>;
export const DEFAULT_SLA_DAYS: SlaDays = { kev: 7, critical: 15, high: 30, medium: 90, low: 180 };

/** One imported file of the snapshot. */
export const AdvisoryFeed = z.object({
  id: Id,
  feed: FeedKind,
  publisher: z.string(),
  fileName: z.string(),
  sha256: z.string(),
  /** The feed's own date (KEV's release, EPSS's score date, the newest OSV record). */
  publishedAt: IsoTime.nullable(),
  importedAt: IsoTime,
  recordCount: z.number().int(),
  ecosystems: z.array(z.string()),
  /** Whole days since publishedAt (or importedAt when the feed has no date). */
  ageDays: z.number().int(),
  /** Older than the advisoryMaxAgeDays setting. */
  stale: z.boolean(),
});
export type AdvisoryFeed = z.infer<typeof AdvisoryFeed>;

export const AdvisoryStatus = z.object({
  /** The current file of each feed and publisher (superseded ones are left out). */
  feeds: z.array(AdvisoryFeed),
  /** Sentences for the admin: "The KEV catalogue is 98 days old (older than 7 days): …", "No EPSS scores imported". */
  warnings: z.array(z.string()),
  /** The ecosystems the workspace's hosts are in, and whether any imported feed covers each. */
  ecosystems: z.array(z.object({ ecosystem: z.string(), hosts: z.number().int(), covered: z.boolean() })),
  /**
   * No advisory feed (OSV, tracker or CSAF) covers the audited hosts' ecosystems (with no such
   * host: none is imported at all). KEV and EPSS alone match no update: only the CVEs the package
   * managers name are judged. The dashboard's `noSnapshot` is this same rule.
   */
  noDistroAdvisories: z.boolean(),
  counts: z.object({
    advisories: z.number().int(),
    kev: z.number().int(),
    epss: z.number().int(),
  }),
});
export type AdvisoryStatus = z.infer<typeof AdvisoryStatus>;

export const AdvisoryImportRequest = z
  .object({
    /** Files or folders on the machine the core runs on (CLI, desktop dialog). */
    paths: z.array(z.string().min(1).max(4096)).min(1).max(1000).optional(),
    /** Files the browser uploaded (browser mode): name and bytes. */
    files: z
      .array(z.object({ name: z.string().min(1).max(255), base64: z.string().max(200_000_000) }).strict())
      .min(1)
      .max(100)
      .optional(),
    /** Files the browser streamed to the carrier's upload route first (browser mode): their ids. */
    uploads: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{22,64}$/))
      .min(1)
      .max(100)
      .optional(),
  })
  .strict()
  .refine((a) => [a.paths, a.files, a.uploads].filter(Boolean).length <= 1, {
    message: 'give paths, files or uploads, only one of them',
  });

export const AdvisoryBundleExport = z.object({
  /** Where it was written; null when the admin cancelled the dialog or bytes are returned instead. */
  path: z.string().nullable(),
  fileName: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  /** Browser mode: the bundle itself for the browser to save. */
  base64: z.string().optional(),
});

/** Why a finding fixes a CVE: which record of which file says so. */
export const CveEvidence = z.object({
  advisoryId: z.string(),
  feed: z.enum(['osv', 'debian-tracker', 'csaf', 'package-manager']),
  publisher: z.string().nullable(),
  ecosystem: z.string().nullable(),
  matchedName: z.string(),
  nameKind: z.enum(['source', 'binary', 'package-manager']),
  fixedVersion: z.string().nullable(),
  url: z.string().nullable(),
  severity: z.string().nullable(),
  vendorSeverity: z.string().nullable(),
  sourceFile: z.string().nullable(),
  sourceSha256: z.string().nullable(),
  /** The date of the feed file the record came from. */
  snapshotDate: IsoTime.nullable(),
});

export const CveFacts = z.object({
  cve: z.string(),
  kev: z
    .object({
      dateAdded: z.string().nullable(),
      dueDate: z.string().nullable(),
      ransomware: z.boolean(),
      name: z.string().nullable(),
      catalogDate: IsoTime.nullable(),
    })
    .nullable(),
  epss: z.object({ score: z.number(), percentile: z.number(), scoreDate: IsoTime.nullable() }).nullable(),
  cvssScore: z.number().nullable(),
  cvssVector: z.string().nullable(),
  severity: z.string().nullable(),
  evidence: z.array(CveEvidence),
});
export type CveFacts = z.infer<typeof CveFacts>;

export const FindingExceptionRecord = z.object({
  id: Id,
  scope: z.enum(['finding', 'cve', 'package', 'host-package']),
  decision: z.enum(['accept', 'defer']),
  hostId: Id.nullable(),
  hostName: z.string().nullable(),
  package: z.string().nullable(),
  availableVersion: z.string().nullable(),
  cve: z.string().nullable(),
  reason: z.string(),
  owner: z.string(),
  expiresAt: IsoTime,
  createdAt: IsoTime,
  createdBy: z.string(),
  removedAt: IsoTime.nullable(),
  removedBy: z.string().nullable(),
  /** 'active' until expiresAt, then 'expired' (the findings count again); 'removed' when taken back. */
  state: z.enum(['active', 'expired', 'removed']),
  /** Current findings it covers now. */
  findings: z.number().int(),
});
export type FindingExceptionRecord = z.infer<typeof FindingExceptionRecord>;

export const ExceptionInput = z
  .object({
    scope: z.enum(['finding', 'cve', 'package', 'host-package']),
    decision: z.enum(['accept', 'defer']),
    /** scope 'finding': the finding this is about (its host, package and available version are kept). */
    findingId: Id.optional(),
    hostId: Id.optional(),
    package: z.string().trim().min(1).max(300).optional(),
    cve: z
      .string()
      .trim()
      .regex(/^CVE-\d{4}-\d{4,}$/i, 'a CVE id looks like CVE-2024-12345')
      .optional(),
    reason: z.string().trim().min(3).max(2000),
    owner: z.string().trim().min(1).max(200),
    expiresAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type ExceptionInput = z.infer<typeof ExceptionInput>;

/** The exception that applies to a finding now, as the Updates page shows it. */
export const AppliedException = z.object({
  id: Id,
  decision: z.enum(['accept', 'defer']),
  scope: z.enum(['finding', 'cve', 'package', 'host-package']),
  expiresAt: IsoTime,
  reason: z.string(),
  owner: z.string(),
});

export const FindingEvidence = z.object({
  findingId: Id,
  hostId: Id,
  hostName: z.string(),
  package: z.string(),
  sourcePackage: z.string().nullable(),
  installedVersion: z.string().nullable(),
  availableVersion: z.string(),
  ecosystem: z.string().nullable(),
  tier: Tier.nullable(),
  /** Why this tier, in words: "CVE-2023-44487 is in CISA's KEV catalogue (added 2023-10-10)". */
  tierReason: z.string().nullable(),
  firstSeenAt: IsoTime.nullable(),
  firstSeenAuditId: Id.nullable(),
  dueAt: IsoTime.nullable(),
  /** Why this due date: "KEV: 7 days from first seen, or CISA's due date 2023-10-31 if sooner". */
  dueReason: z.string().nullable(),
  overdue: z.boolean(),
  cves: z.array(CveFacts),
  /** Advisory ids the package manager reported that the snapshot does not know (kept, not double-counted). */
  unmatchedAdvisories: z.array(z.string()),
  exception: AppliedException.nullable(),
  /** When the snapshot last judged this finding. */
  judgedAt: IsoTime.nullable(),
});
export type FindingEvidence = z.infer<typeof FindingEvidence>;

/** A CVE that affects an installed package with no fix published yet. No due date. */
export const UnfixedCve = z.object({
  hostId: Id,
  hostName: z.string(),
  package: z.string(),
  sourcePackage: z.string().nullable(),
  version: z.string(),
  cve: z.string(),
  advisoryId: z.string(),
  feed: z.string(),
  status: z.string(),
  urgency: z.string().nullable(),
  severity: z.string().nullable(),
  kev: z.boolean(),
  epss: z.number().nullable(),
});
export type UnfixedCve = z.infer<typeof UnfixedCve>;

/** "Patch these first": one package's update across hosts, in risk order. */
export const PriorityRow = z.object({
  package: z.string(),
  tier: Tier,
  epss: z.number().nullable(),
  cves: z.array(z.string()),
  kev: z.boolean(),
  hosts: z.number().int(),
  hostIds: z.array(Id),
  findingIds: z.array(Id),
  oldestFirstSeenAt: IsoTime.nullable(),
  earliestDueAt: IsoTime.nullable(),
  overdue: z.number().int(),
});
export type PriorityRow = z.infer<typeof PriorityRow>;

const TierCounts = z.object({
  kev: z.number().int(),
  critical: z.number().int(),
  high: z.number().int(),
  medium: z.number().int(),
  low: z.number().int(),
});

export const Exposure = z.object({
  /** Open security findings (accepted exceptions left out) per tier. */
  byTier: TierCounts,
  open: z.number().int(),
  overdue: z.number().int(),
  dueThisWeek: z.number().int(),
  /** Findings under an active exception, and exceptions that expire within 7 days. */
  excepted: z.number().int(),
  exceptionsExpiringSoon: z.number().int(),
  unfixedCves: z.number().int(),
  hosts: z.number().int(),
  hostsAudited: z.number().int(),
  /** One point per day with an audit, from audit history: open security findings per tier as judged then. */
  trend: z.array(TierCounts.extend({ date: z.string() })),
  mostExposed: z.array(
    z.object({
      hostId: Id,
      hostName: z.string(),
      open: z.number().int(),
      overdue: z.number().int(),
      kev: z.number().int(),
      worstTier: Tier.nullable(),
    }),
  ),
  patchFirst: z.array(PriorityRow),
  /** The snapshot's date (oldest current feed) and whether any feed is stale. */
  snapshotDate: IsoTime.nullable(),
  snapshotStale: z.boolean(),
  /** No advisories imported at all: tiers fall back to the package manager's own severity. */
  noSnapshot: z.boolean(),
});
export type Exposure = z.infer<typeof Exposure>;
