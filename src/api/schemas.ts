import { z } from 'zod';
import { AppliedException, DEFAULT_SLA_DAYS, SlaDays, Tier } from './intel-schemas';

/**
 * Domain records as they cross the API. The database repositories return these shapes;
 * the renderer receives them. Secrets never appear in any of them.
 */

export const IsoTime = z.string();
export const Id = z.number().int().positive();

export const TaskStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']);
export type TaskStatus = z.infer<typeof TaskStatus>;
/** What a finished task means to the admin (src/tasks/outcome.ts): `partly-failed` has status `failed`. */
export const TaskOutcome = z.enum([
  'succeeded',
  'reboot-pending',
  'partly-failed',
  'failed',
  'cancelled',
  'interrupted',
]);
export type TaskOutcome = z.infer<typeof TaskOutcome>;
export const Task = z.object({
  id: Id,
  kind: z.string(),
  title: z.string(),
  status: TaskStatus,
  progressDone: z.number().int().nonnegative(),
  progressTotal: z.number().int().nonnegative().nullable(),
  message: z.string().nullable(),
  error: z.string().nullable(),
  /** Null while the task runs (and for tasks finished before outcomes were recorded). */
  outcome: TaskOutcome.nullable(),
  /** How its parts went, in words: "6 of 8 hosts succeeded, 2 failed". */
  summary: z.string().nullable(),
  createdAt: IsoTime,
  startedAt: IsoTime.nullable(),
  finishedAt: IsoTime.nullable(),
});
export type Task = z.infer<typeof Task>;

export const OsFamily = z.enum(['linux', 'macos', 'windows', 'bsd', 'network-device', 'unknown']);
export const ManagementChannel = z.enum(['ssh', 'winrm']);

/** Where a host's name came from, best first (src/db/host-names.ts ranks them). */
export const HostNameSource = z.enum([
  'admin',
  'audit',
  'target',
  'netbios',
  'mdns',
  'ptr',
  'certificate',
  'scan',
  'address',
]);
export const Host = z.object({
  id: Id,
  name: z.string(),
  nameSource: HostNameSource,
  address: z.string().nullable(),
  addresses: z.array(z.string()),
  mac: z.string().nullable(),
  macVendor: z.string().nullable(),
  osFamily: OsFamily.nullable(),
  osName: z.string().nullable(),
  osVersion: z.string().nullable(),
  osConfidence: z.number().nullable(),
  osEvidence: z.array(z.string()),
  management: z.array(ManagementChannel),
  sshPort: z.number().int().min(1).max(65535),
  credentialId: Id.nullable(),
  tags: z.array(z.string()),
  notes: z.string(),
  inInventory: z.boolean(),
  /**
   * Created from an imported collection file: no connection target until an admin confirms an
   * address (setting one clears it). Audits skip the host meanwhile.
   */
  offlineOnly: z.boolean(),
  /**
   * The host's SSH identity: a reviewed key pinned; a key pinned automatically on first use (key-only
   * logins only, until reviewed); a seen key awaiting review; a key that differs from the pinned one; none seen.
   */
  keyTrust: z.enum(['trusted', 'first-use', 'pending', 'changed', 'none']),
  firstSeen: IsoTime.nullable(),
  lastSeen: IsoTime.nullable(),
  isNew: z.boolean(),
  seenInLastScan: z.boolean().nullable(),
  services: z.array(
    z.object({
      port: z.number().int(),
      state: z.string(),
      service: z.string().nullable(),
      banner: z.string().nullable(),
    }),
  ),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Host = z.infer<typeof Host>;

export const HostUpdate = z
  .object({
    name: z.string().trim().min(1).max(253),
    address: z.string().trim().min(1).max(253).nullable(),
    sshPort: z.number().int().min(1).max(65535),
    credentialId: Id.nullable(),
    tags: z.array(z.string().trim().min(1).max(64)).max(50),
    notes: z.string().max(10_000),
    inInventory: z.boolean(),
  })
  .partial()
  .strict();
export type HostUpdate = z.infer<typeof HostUpdate>;

export const Theme = z.enum(['system', 'light', 'dark']);
export const Settings = z.object({
  theme: Theme,
  operatorName: z.string().trim().min(1).max(100),
  auditConcurrency: z.number().int().min(1).max(128),
  hostTimeoutSeconds: z.number().int().min(5).max(3600),
  refreshMetadataBeforeAudit: z.boolean(),
  discoveryPorts: z.array(z.number().int().min(1).max(65535)).min(1).max(1024),
  discoveryTimeoutMs: z.number().int().min(100).max(30_000),
  rebootPolicy: z.enum(['never', 'if-required', 'always']),
  /** Most output one remote command may print (stdout and stderr together) before it is stopped. */
  maxCommandOutputMiB: z.number().int().min(1).max(1024),
  /** Notify when an audit, scan or patch job finishes or fails, and when a host needs a reboot. */
  notifyWhenWorkFinishes: z.boolean(),
  /** Days from a finding's first sighting to its due date, per risk tier (README: why these). */
  slaDays: SlaDays,
  /** Warn when an advisory feed is older than this many days. */
  advisoryMaxAgeDays: z.number().int().min(1).max(365),
  /** `advisories update` fetches from this mirror (same paths as the publishers') instead; '' = the publishers. */
  advisoryMirror: z.string().max(500),
});
export type Settings = z.infer<typeof Settings>;

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  operatorName: 'admin',
  auditConcurrency: 16,
  hostTimeoutSeconds: 300,
  refreshMetadataBeforeAudit: false,
  discoveryPorts: [22, 135, 139, 445, 3389, 5985, 5986, 80, 443, 5900],
  discoveryTimeoutMs: 1000,
  rebootPolicy: 'if-required',
  maxCommandOutputMiB: 32,
  notifyWhenWorkFinishes: false,
  slaDays: DEFAULT_SLA_DAYS,
  advisoryMaxAgeDays: 7,
  advisoryMirror: '',
};

/**
 * What an OS or browser notification says: the task's own outcome and summary, or the hosts that
 * need a reboot. `tone` lets a carrier mark failures.
 */
export const AppNotification = z.object({
  title: z.string().max(300),
  body: z.string().max(1000),
  tone: z.enum(['ok', 'danger', 'warn']),
  taskId: Id.nullable(),
});
export type AppNotification = z.infer<typeof AppNotification>;

export const WorkspaceInfo = z.object({
  path: z.string(),
  schemaVersion: z.number().int(),
  hostCount: z.number().int(),
  createdNew: z.boolean(),
});
export type WorkspaceInfo = z.infer<typeof WorkspaceInfo>;

export const AppInfo = z.object({
  name: z.literal('Patchdeck'),
  version: z.string(),
  carrier: z.enum(['electron', 'browser', 'cli', 'test']),
  platform: z.string(),
  secretsBackend: z.string(),
  workspace: WorkspaceInfo.nullable(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const EntityName = z.enum([
  'hosts',
  'settings',
  'workspace',
  'tasks',
  'scans',
  'audits',
  'credentials',
  'jobs',
  'schedules',
]);

export const Credential = z.object({
  id: Id,
  name: z.string(),
  username: z.string(),
  /** password, key, agent: SSH logins; windows: a Windows account and its password, for WinRM. */
  kind: z.enum(['password', 'key', 'agent', 'windows']),
  hasPassphrase: z.boolean(),
  hasSudoPassword: z.boolean(),
  scope: z.array(z.string()),
  /** Key-only credentials may pin a new host's key on first contact; off unless the admin chose it. */
  trustOnFirstUse: z.boolean(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Credential = z.infer<typeof Credential>;

export const NewCredential = z
  .object({
    name: z.string().trim().min(1).max(64),
    /** SSH: the login user (64 at most); windows: DOMAIN\user, .\user or user@realm (256 at most). */
    username: z.string().trim().min(1).max(256),
    kind: z.enum(['password', 'key', 'agent', 'windows']),
    secret: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional(),
    passphrase: z.string().min(1).max(1024).optional(),
    sudoPassword: z.string().min(1).max(1024).optional(),
    scope: z.array(z.string().trim().min(1).max(253)).max(500).optional(),
    trustOnFirstUse: z.boolean().optional(),
    /** A private key chosen with credentials.chooseKeyFile (desktop app), in place of `secret`. */
    keyFileId: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/)
      .optional(),
  })
  .strict();

/** What a WinRM endpoint's certificate says of itself (untrusted, cleaned), shown for its review. */
export const CertificateFacts = z.object({
  subject: z.string(),
  issuer: z.string(),
  validFrom: IsoTime,
  validTo: IsoTime,
  selfSigned: z.boolean(),
});

export const HostKeySighting = z.object({
  hostId: Id,
  hostName: z.string(),
  type: z.string(),
  fingerprint: z.string(),
  /** first-use: pinned automatically on first use by a key-only credential, awaiting review. */
  source: z.enum(['scan', 'probe', 'connect', 'first-use']),
  address: z.string().nullable(),
  seenAt: IsoTime,
  /** The host already has a different pinned key: trusting this one replaces it. */
  changed: z.boolean(),
  /**
   * More than one key awaits review for this host (two machines answering for it, or a key that
   * changed between looks): it must be trusted on its own, never in a bulk review.
   */
  conflict: z.boolean(),
  /** An 'x509-certificate' sighting's own description, read from its PEM; null when unreadable. */
  certificate: CertificateFacts.nullable().optional(),
});
export type HostKeySighting = z.infer<typeof HostKeySighting>;

export const HostKey = z.object({
  id: Id,
  type: z.string(),
  fingerprint: z.string(),
  trustedAt: IsoTime,
  trustedBy: z.string(),
  /** False: pinned automatically on first use; no password is sent to the host until it is reviewed. */
  reviewed: z.boolean(),
  /** An 'x509-certificate' pin's own description, read from its stored PEM; null when unreadable. */
  certificate: CertificateFacts.nullable().optional(),
});

/** What a Windows audit recorded about the PC (src/collectors/windows); null for other audits. */
export const WindowsAuditFacts = z.object({
  caption: z.string().nullable(),
  productName: z.string().nullable(),
  displayVersion: z.string().nullable(),
  version: z.string().nullable(),
  build: z.string().nullable(),
  ubr: z.number().int().nullable(),
  arch: z.string().nullable(),
  computerName: z.string().nullable(),
  /** Group Policy's Windows Update settings; `useWUServer`: the PC takes its updates from WSUS `server`. */
  policy: z
    .object({
      server: z.string().nullable(),
      useWUServer: z.boolean(),
      noAutoUpdate: z.boolean(),
      auOptions: z.number().int().nullable(),
    })
    .nullable(),
  /** Who ran the search: the remote session, or a one-off SYSTEM task when Windows denied it. */
  searchedBy: z.enum(['session', 'system-task']),
  /**
   * Why the PC waits for a restart, as the collector read it ('CBS RebootPending', 'WindowsUpdate
   * RebootRequired', 'PendingFileRenameOperations', 'Pending computer rename', or 'Microsoft.Update.
   * SystemInfo RebootRequired' when only the agent said so); [] for audits stored before it was kept.
   */
  rebootReasons: z.array(z.string()).default([]),
});
export type WindowsAuditFacts = z.infer<typeof WindowsAuditFacts>;

/** A KB finding's Windows Update details (null for package findings). */
export const WindowsUpdateDetails = z.object({
  /** IUpdateIdentity.UpdateID (lower-case GUID) and revision: what an install names, exactly. */
  updateId: z.string().nullable(),
  revision: z.number().int().nullable(),
  sizeBytes: z.number().nullable(),
  releasedAt: z.string().nullable(),
  rebootBehavior: z.enum(['never', 'always', 'can-request']).nullable(),
  categories: z.array(z.string()),
  updateType: z.enum(['software', 'driver']).nullable(),
});
export type WindowsUpdateDetails = z.infer<typeof WindowsUpdateDetails>;

/** One installed hotfix a Windows audit listed (Win32_QuickFixEngineering), for the PC's history. */
export const AuditHotfix = z.object({
  hotfixId: z.string(),
  description: z.string().nullable(),
  /** YYYY-MM-DD, when Windows gave a readable date. */
  installedOn: z.string().nullable(),
});
export type AuditHotfix = z.infer<typeof AuditHotfix>;

export const Audit = z.object({
  id: Id,
  hostId: Id,
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  source: z.string(),
  osId: z.string().nullable(),
  osName: z.string().nullable(),
  osVersion: z.string().nullable(),
  kernel: z.string().nullable(),
  packageManager: z.string().nullable(),
  metadataAgeSeconds: z.number().nullable(),
  refreshed: z.boolean(),
  rebootRequired: z.boolean().nullable(),
  updatesCount: z.number().int(),
  securityCount: z.number().int(),
  errorKind: z.string().nullable(),
  errorMessage: z.string().nullable(),
  warnings: z.array(z.string()),
  startedAt: IsoTime,
  finishedAt: IsoTime.nullable(),
  durationMs: z.number().nullable(),
  windows: WindowsAuditFacts.nullable().optional(),
});
export type Audit = z.infer<typeof Audit>;

export const Finding = z.object({
  id: Id,
  auditId: Id,
  hostId: Id,
  hostName: z.string(),
  kind: z.string(),
  package: z.string(),
  arch: z.string().nullable(),
  installedVersion: z.string().nullable(),
  availableVersion: z.string(),
  repository: z.string().nullable(),
  security: z.boolean(),
  severity: z.string().nullable(),
  vendorSeverity: z.string().nullable(),
  advisories: z.array(z.string()),
  held: z.boolean(),
  rebootRequired: z.boolean().nullable(),
  details: WindowsUpdateDetails.nullable().optional(),
  /** The source package this binary was built from (dpkg ${source:Package}, rpm SOURCERPM, apk origin). */
  sourcePackage: z.string().nullable(),
  sourceInstalledVersion: z.string().nullable(),
  sourceAvailableVersion: z.string().nullable(),
  /** CVEs the update fixes, from the advisory snapshot and the package manager (findings.evidence says why). */
  cves: z.array(z.string()),
  kev: z.boolean(),
  /** The highest EPSS score among its CVEs. */
  epss: z.number().nullable(),
  tier: Tier.nullable(),
  firstSeenAt: IsoTime.nullable(),
  dueAt: IsoTime.nullable(),
  /** Due date passed, and no accepted exception covers it. Set by the findings queries. */
  overdue: z.boolean().optional(),
  /** The active exception that covers it, if any. Set by the findings queries. */
  exception: AppliedException.nullable().optional(),
});
export type Finding = z.infer<typeof Finding>;

/** The Updates page's filters; every one narrows, and each is applied in SQL. */
const FindingFilterFields = {
  /** Package names, host names and advisory or CVE ids, matched literally. */
  search: z.string().max(200).optional(),
  securityOnly: z.boolean().optional(),
  hostId: Id.optional(),
  /** A normalised severity, or `none` for findings without one. */
  severity: z.enum(['critical', 'important', 'moderate', 'low', 'unknown', 'none']).optional(),
  /** An OS label as findings.facets lists it ("Debian GNU/Linux 12"). */
  os: z.string().max(300).optional(),
  repository: z.string().max(300).optional(),
  tag: z.string().max(100).optional(),
  /** Only findings that fix a CVE in CISA's KEV catalogue. */
  kevOnly: z.boolean().optional(),
  /** Only findings past their due date (accepted exceptions left out). */
  overdue: z.boolean().optional(),
  /** Only findings whose highest EPSS score is at least this (0–1). */
  epssAtLeast: z.number().min(0).max(1).optional(),
  tier: Tier.optional(),
  /** true: only findings an active exception covers; false: only those none covers. */
  hasException: z.boolean().optional(),
  /** `risk`: tier, then EPSS, then age (first seen), then how many hosts share it. `due`: earliest due first. */
  sort: z.enum(['security', 'host', 'package', 'repository', 'risk', 'due']).default('security'),
  /** `asc` is each column's natural order (security fixes first for `security`). */
  direction: z.enum(['asc', 'desc']).default('asc'),
};

export const FindingQuery = z
  .object({
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(1000).default(200),
    ...FindingFilterFields,
  })
  .strict();

export const FindingExportRequest = z.object(FindingFilterFields).strict();

/** One package pending on several hosts ("openssl on 12 hosts"). */
export const FindingGroup = z.object({
  package: z.string(),
  kind: z.string(),
  arches: z.array(z.string()),
  hosts: z.number().int(),
  hostIds: z.array(Id),
  findings: z.number().int(),
  security: z.boolean(),
  severity: z.string().nullable(),
  availableVersion: z.string().nullable(),
  availableVersions: z.number().int(),
  advisories: z.array(z.string()),
  advisoriesTotal: z.number().int(),
});
export type FindingGroup = z.infer<typeof FindingGroup>;

export const FindingGroupPage = z.object({
  /** Groups (packages) matching. */
  total: z.number().int(),
  findingsTotal: z.number().int(),
  securityTotal: z.number().int(),
  hostsTotal: z.number().int(),
  offset: z.number().int(),
  rows: z.array(FindingGroup),
});

const FacetValue = z.object({ value: z.string(), count: z.number().int() });
export const FindingFacets = z.object({
  severities: z.array(FacetValue),
  os: z.array(FacetValue),
  repositories: z.array(FacetValue),
  tags: z.array(FacetValue),
  hosts: z.array(z.object({ id: Id, name: z.string(), count: z.number().int() })),
});
export type FindingFacets = z.infer<typeof FindingFacets>;

export const FindingExport = z.object({
  /** Rows written or returned. */
  rows: z.number().int(),
  /** Rows the filter matched; more than `rows` when the export stopped at its limit. */
  matched: z.number().int(),
  /** The CSV text, when the caller saves it itself (browser mode); null when the app saved it. */
  csv: z.string().nullable(),
  /** Where the app saved it (desktop app), or null. */
  path: z.string().nullable(),
  /** The save dialog was closed without choosing a file. */
  cancelled: z.boolean(),
});

export const FindingPage = z.object({
  total: z.number().int(),
  securityTotal: z.number().int(),
  hostsTotal: z.number().int(),
  offset: z.number().int(),
  rows: z.array(Finding),
});

export const AuditDiff = z.object({
  previousAuditId: z.number().int().nullable(),
  added: z.array(Finding.omit({ hostName: true })),
  resolved: z.array(Finding.omit({ hostName: true })),
  unchanged: z.array(Finding.omit({ hostName: true })),
});

export const TargetCheck = z.object({
  addresses: z.number().int(),
  first: z.array(z.string()),
  needsConfirmation: z.boolean(),
  refused: z.boolean(),
  /** Above a /16 and at most a /12: forcing decides. False when forcing cannot help. */
  forceApplies: z.boolean(),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const DiscoveryRequest = z
  .object({
    targets: z.string().trim().min(1).max(100_000),
    exclude: z.string().max(100_000).optional(),
    /** Port list ("22,80,8000-8010") or preset name; default: the Settings' ports. */
    ports: z.string().max(2000).optional(),
    timeoutMs: z.number().int().min(100).max(30_000).optional(),
    /** Needed above a /22. */
    confirm: z.boolean().optional(),
    /** Needed above a /16. */
    force: z.boolean().optional(),
    addToInventory: z.boolean().optional(),
    reverseDns: z.boolean().optional(),
    saveAs: z.string().trim().min(1).max(64).optional(),
  })
  .strict();

export const Scan = z.object({
  id: Id,
  taskId: z.number().int().nullable(),
  targets: z.string(),
  ports: z.array(z.number().int()),
  status: z.enum(['running', 'completed', 'cancelled', 'failed', 'interrupted']),
  addressesTotal: z.number().int(),
  addressesProbed: z.number().int(),
  hostsFound: z.number().int(),
  error: z.string().nullable(),
  startedAt: IsoTime,
  finishedAt: IsoTime.nullable(),
});

export const SavedNetwork = z.object({
  id: Id,
  name: z.string(),
  targets: z.string(),
  exclude: z.string(),
  ports: z.string().nullable(),
});

// ---- Patch jobs (src/patch) ----

export const RebootPolicy = z.enum(['never', 'if-required', 'always']);
export const JobStatus = z.enum([
  'draft',
  'approved',
  'scheduled',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
]);
export const StepStatus = z.enum([
  'queued',
  'running',
  'succeeded',
  /** Installed, but the host still needs a reboot (not rebooted, or still asking after it). */
  'reboot-pending',
  'failed',
  'skipped',
  'interrupted',
  'cancelled',
]);
export const StepPhase = z.enum([
  'planning',
  'planned',
  'precheck',
  'pre-reboot',
  'install',
  /** The after-install record (versions, undo recipe); it runs under the install on record. */
  'snapshot',
  'reboot',
  'verify',
  'done',
  /** Windows (src/patch/phases/windows): the SYSTEM task is registered; it runs under the install on record. */
  'schedule',
  /** Windows: polling the task's receipt; under the install on record too. */
  'wait',
]);
export type StepPhase = z.infer<typeof StepPhase>;

/** What to patch on each host, taken from its newest audit's findings. */
export const PatchSelection = z
  .object({
    mode: z.enum(['all', 'security', 'packages']),
    packages: z.array(z.string().trim().min(1).max(255)).max(1000).optional(),
  })
  .strict();
export type PatchSelection = z.infer<typeof PatchSelection>;

export const JobOptions = z
  .object({
    minFreeMb: z.number().int().min(0).max(1_000_000).default(100),
    lockWaitSeconds: z.number().int().min(0).max(3600).default(60),
    rebootTimeoutSeconds: z.number().int().min(10).max(7200).default(600),
    hostTimeoutSeconds: z.number().int().min(30).max(14_400).default(1800),
    /** Windows: how long the signed-in user is warned before the restart (`shutdown.exe /r /t`), so they can save their work. */
    windowsRestartDelaySeconds: z.number().int().min(0).max(7200).default(300),
    /** The credential to log in with; null = the one whose scope covers each host. */
    credentialId: Id.nullable().default(null),
  })
  .strict();
export type JobOptions = z.infer<typeof JobOptions>;

/** One package a step targets: installed → approved version. */
export const TargetPackage = z.object({
  name: z.string(),
  arch: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string(),
  security: z.boolean(),
});
export type TargetPackage = z.infer<typeof TargetPackage>;

/** One package the dry run says will change; `from` null = newly installed, `to` null = removed. */
export const PackageChange = z.object({
  name: z.string(),
  arch: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
});
export type PackageChange = z.infer<typeof PackageChange>;

export const StepPreview = z.object({
  command: z.string(),
  upgrades: z.array(PackageChange),
  newPackages: z.array(PackageChange),
  removals: z.array(PackageChange),
  /** Selected updates left out, with why (held, no longer pending, …). */
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
  ranAt: IsoTime,
  /**
   * sha256 of the host's package state when the dry run ran (src/patch/commands.ts
   * stateFingerprintCommand): the pre-check repeats the dry run only when it moved. Absent when
   * the package manager has none, or the state moved during the dry run itself.
   */
  fingerprint: z.string().optional(),
});
export type StepPreview = z.infer<typeof StepPreview>;

export const JobStep = z.object({
  id: Id,
  jobId: Id,
  hostId: Id,
  hostName: z.string(),
  status: StepStatus,
  phase: z.string().nullable(),
  packageManager: z.string().nullable(),
  packages: z.array(TargetPackage),
  preview: StepPreview.nullable(),
  before: z.record(z.string(), z.string().nullable()).nullable(),
  after: z.record(z.string(), z.string().nullable()).nullable(),
  undoRecipe: z.string().nullable(),
  errorKind: z.string().nullable(),
  errorMessage: z.string().nullable(),
  verifyAuditId: z.number().int().nullable(),
  startedAt: IsoTime.nullable(),
  finishedAt: IsoTime.nullable(),
});
export type JobStep = z.infer<typeof JobStep>;

export const PatchJob = z.object({
  id: Id,
  name: z.string(),
  status: JobStatus,
  selection: PatchSelection,
  rebootPolicy: RebootPolicy,
  onFailure: z.enum(['continue', 'stop']),
  concurrency: z.number().int(),
  options: JobOptions,
  scheduledAt: IsoTime.nullable(),
  windowStart: IsoTime.nullable(),
  windowEnd: IsoTime.nullable(),
  approvedBy: z.string().nullable(),
  approvedAt: IsoTime.nullable(),
  taskId: z.number().int().nullable(),
  message: z.string().nullable(),
  createdAt: IsoTime,
  startedAt: IsoTime.nullable(),
  finishedAt: IsoTime.nullable(),
  counts: z.record(z.string(), z.number().int()),
});
export type PatchJob = z.infer<typeof PatchJob>;

/** One line of a job's log (table `job_log`, event `job.log`, the CLI's `--log`). */
export const JobLogLine = z.object({
  id: Id,
  jobId: Id,
  stepId: z.number().int().nullable(),
  at: IsoTime,
  stream: z.enum(['stdout', 'stderr', 'info', 'error']),
  text: z.string(),
});
export type JobLogLine = z.infer<typeof JobLogLine>;

export const PatchPlanRequest = z
  .object({
    hostIds: z.array(Id).max(10_000).optional(),
    selection: PatchSelection,
    rebootPolicy: RebootPolicy.optional(),
    onFailure: z.enum(['continue', 'stop']).default('continue'),
    concurrency: z.number().int().min(1).max(128).default(16),
    name: z.string().trim().min(1).max(200).optional(),
    options: JobOptions.partial().strict().optional(),
  })
  .strict();
