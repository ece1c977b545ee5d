import { z } from 'zod';
import {
  AppInfo,
  Audit,
  AuditDiff,
  AuditHotfix,
  CertificateFacts,
  Credential,
  EntityName,
  FindingExport,
  FindingExportRequest,
  FindingFacets,
  FindingGroupPage,
  FindingPage,
  FindingQuery,
  DiscoveryRequest,
  SavedNetwork,
  Scan,
  TargetCheck,
  Host,
  HostKey,
  HostKeySighting,
  HostUpdate,
  Id,
  NewCredential,
  Settings,
  Task,
  WorkspaceInfo,
  PatchJob,
  JobStep,
  JobLogLine,
  PatchPlanRequest,
  AppNotification,
} from './schemas';
import { Schedule, ScheduleInput, SchedulePatch, ScheduleRun } from './schedule-schemas';
import {
  AdvisoryBundleExport,
  AdvisoryImportRequest,
  AdvisoryStatus,
  ExceptionInput,
  Exposure,
  FeedKind,
  FindingEvidence,
  FindingExceptionRecord,
  PriorityRow,
  UnfixedCve,
} from './intel-schemas';
import {
  AnsibleExport,
  AnsibleExportRequest,
  AnsibleResultsImport,
  AnsibleResultsImportRequest,
  BundleExport,
  BundleExportRequest,
  BundleImportRequest,
  BundleImportResult,
  RecentWorkspace,
  ReportExport,
  ReportExportRequest,
  ReportPreview,
  ReportRequest,
  WorkspaceSuggestion,
} from './portable-schemas';

/**
 * The one API contract. Every call the UI can make, with zod schemas for its arguments and
 * result, and every event it can receive. The Electron preload and the browser carrier are
 * two thin carriers of this contract; the router in ./router.ts is the only dispatcher.
 *
 * Argument objects are strict: an unknown key is a bad request, not something ignored.
 */
const call = <A extends z.ZodType, R extends z.ZodType>(args: A, result: R) => ({ args, result });
const none = z.object({}).strict();
const byId = z.object({ id: Id }).strict();

export const calls = {
  'app.info': call(none, AppInfo),

  'workspace.create': call(z.object({ path: z.string().trim().min(1).max(4096) }).strict(), WorkspaceInfo),
  'workspace.open': call(z.object({ path: z.string().trim().min(1).max(4096) }).strict(), WorkspaceInfo),
  'workspace.current': call(none, WorkspaceInfo.nullable()),
  // Into the backups folder next to the workspace only: the UI never names a file to write.
  'workspace.backup': call(
    none,
    z.object({ path: z.string(), schemaVersion: z.number().int(), bytes: z.number().int() }),
  ),

  'hosts.list': call(z.object({ inventoryOnly: z.boolean().optional() }).strict(), z.array(Host)),
  'hosts.get': call(byId, Host),
  'hosts.update': call(z.object({ id: Id, patch: HostUpdate }).strict(), Host),
  'hosts.remove': call(byId, z.object({ removed: z.boolean() })),
  'hosts.add': call(
    z
      .object({
        name: z.string().trim().min(1).max(253),
        address: z.string().trim().min(1).max(253).optional(),
        sshPort: z.number().int().min(1).max(65535).optional(),
      })
      .strict(),
    Host,
  ),
  /**
   * Reads the host's SSH key (no login) and, with `pin`, trusts it; `replace` re-trusts a changed
   * key. `fingerprint` is the one the admin reviewed: the key is pinned only if the host still
   * presents exactly that one (without it, `pin` trusts what the host presents now).
   * `channel: 'winrm'` reads the PC's WinRM identity instead (its certificate over HTTPS, the
   * NTLM names it announces over HTTP); SSH and WinRM pins never replace each other.
   */
  'hosts.trust': call(
    z
      .object({
        id: Id,
        pin: z.boolean().default(true),
        replace: z.boolean().default(false),
        fingerprint: z
          .string()
          .regex(/^(SHA256:[A-Za-z0-9+/]{43}|ntlm:[A-Z0-9._-]{1,255}\/[A-Z0-9._ -]{0,64})$/)
          .optional(),
        channel: z.enum(['ssh', 'winrm']).default('ssh'),
      })
      .strict(),
    z.object({
      type: z.string(),
      fingerprint: z.string(),
      pinned: z.boolean(),
      changed: z.boolean(),
      /** A WinRM certificate's own description (untrusted text, for the review). */
      certificate: CertificateFacts.optional(),
    }),
  ),
  /** Keys seen (by a scan, a probe or a refused audit) that nobody has trusted yet, for review. */
  'hosts.pendingKeys': call(
    z.object({ hostIds: z.array(Id).max(100_000).optional() }).strict(),
    z.array(HostKeySighting),
  ),
  /**
   * Pins the reviewed keys in one step ("trust these 18 keys"). Each entry names the host and the
   * exact fingerprint shown; a key no longer awaiting review refuses the whole call, nothing pinned.
   * A host whose key changed needs `replace`.
   */
  'hosts.trustKeys': call(
    z
      .object({
        keys: z
          .array(z.object({ hostId: Id, fingerprint: z.string().min(1).max(330) }).strict())
          .min(1)
          .max(10_000),
        replace: z.boolean().default(false),
      })
      .strict(),
    z.object({ pinned: z.number().int(), hostIds: z.array(Id) }),
  ),
  'hosts.keys': call(byId, z.array(HostKey)),

  'credentials.list': call(none, z.array(Credential)),
  /** Secrets go in once; no call ever returns them. */
  'credentials.add': call(NewCredential, Credential),
  'credentials.remove': call(byId, z.object({ removed: z.boolean() })),
  /**
   * Desktop app: the Platform's open-file dialog picks a private key file; the core reads and
   * checks it and answers an id for credentials.add (`keyFileId`). The key itself never comes back.
   */
  'credentials.chooseKeyFile': call(
    none,
    z.object({ cancelled: z.boolean(), fileId: z.string().nullable(), fileName: z.string().nullable() }),
  ),
  'credentials.test': call(
    z.object({ id: Id, hostId: Id }).strict(),
    z.object({ ok: z.boolean(), message: z.string(), sudo: z.boolean().nullable() }),
  ),

  'audits.start': call(
    z
      .object({
        hostIds: z.array(Id).max(100_000).optional(),
        credentialId: Id.optional(),
        refresh: z.boolean().optional(),
      })
      .strict(),
    z.object({ taskId: Id, hosts: z.number().int() }),
  ),
  'audits.forHost': call(
    z.object({ hostId: Id, limit: z.number().int().min(1).max(500).optional() }).strict(),
    z.array(Audit),
  ),
  'audits.latest': call(none, z.array(Audit)),
  'audits.diff': call(z.object({ auditId: Id }).strict(), AuditDiff),
  /** The hotfixes a Windows audit listed as installed (empty for other audits). */
  'audits.hotfixes': call(z.object({ auditId: Id }).strict(), z.array(AuditHotfix)),
  /**
   * An offline collection (the output of `patchdeck collect-script`'s script) becomes an audit of
   * the host it names (found by name, else created), or of `hostId`/`host`. `text` is the decoded
   * file; `base64` its raw bytes, so that the core checks the encoding itself.
   */
  'audits.import': call(
    z
      .object({
        text: z
          .string()
          .min(1)
          .max(32 * 1024 * 1024)
          .optional(),
        base64: z
          .string()
          .min(1)
          .max(Math.ceil((32 * 1024 * 1024) / 3) * 4)
          .regex(/^[A-Za-z0-9+/]*={0,2}$/)
          .optional(),
        hostId: Id.optional(),
        host: z.string().trim().min(1).max(253).optional(),
      })
      .strict()
      .refine((a) => (a.text === undefined) !== (a.base64 === undefined), {
        message: 'give exactly one of text or base64',
      })
      .refine((a) => a.hostId === undefined || a.host === undefined, {
        message: 'give hostId or host, not both',
      }),
    z.object({
      audit: Audit,
      hostId: Id,
      hostName: z.string(),
      hostCreated: z.boolean(),
      collectedHostname: z.string(),
      collectedAt: z.string(),
    }),
  ),
  'findings.query': call(FindingQuery, FindingPage),
  'findings.groups': call(FindingQuery, FindingGroupPage),
  'findings.facets': call(none, FindingFacets),
  // In the desktop app the core asks where to save (the Platform dialog) and writes the file;
  // elsewhere it returns the CSV for the caller to save. The UI never names a path.
  'findings.exportCsv': call(FindingExportRequest, FindingExport),

  // Issue 13: the advisory snapshot, evidence, due dates and exceptions (src/intel).
  /** Each current feed file with its age, and warnings when one is stale or missing. */
  'advisories.status': call(none, AdvisoryStatus),
  /** Imports feed files or folders, or an advisory bundle (a task: progress, cancel). No paths and no files: the desktop asks with a dialog. */
  'advisories.import': call(AdvisoryImportRequest, z.object({ taskId: Id })),
  /** Fetches the feeds from their publishers (or the advisoryMirror setting), then imports them (a task). */
  'advisories.update': call(
    z
      .object({
        feeds: z.array(FeedKind).min(1).optional(),
        /** This run only, over the advisoryMirror setting (the CLI's --mirror). */
        mirror: z.string().min(1).max(500).optional(),
      })
      .strict(),
    z.object({ taskId: Id }),
  ),
  /** Writes the current snapshot as one dated bundle (zip + manifest with sha256s). */
  'advisories.exportBundle': call(
    z.object({ path: z.string().min(1).max(4096).optional() }).strict(),
    AdvisoryBundleExport,
  ),
  /** Why a finding fixes which CVEs, its tier, due date and exception: every record it rests on. */
  'findings.evidence': call(z.object({ findingId: Id }).strict(), FindingEvidence),
  /** CVEs affecting installed packages that have no fix yet (no due date). */
  'findings.unfixed': call(
    z.object({ hostId: Id.optional(), limit: z.number().int().min(1).max(5000).default(500) }).strict(),
    z.object({ total: z.number().int(), rows: z.array(UnfixedCve) }),
  ),
  /** "Patch these first": packages in risk order (tier, EPSS, age, hosts). */
  'findings.priorities': call(
    z.object({ limit: z.number().int().min(1).max(200).default(10) }).strict(),
    z.array(PriorityRow),
  ),
  /** The dashboard's figures: exposure by tier, overdue, due this week, trend, most exposed hosts. */
  'dashboard.exposure': call(none, Exposure),
  'exceptions.list': call(
    z.object({ includeInactive: z.boolean().optional(), hostId: Id.optional() }).strict(),
    z.array(FindingExceptionRecord),
  ),
  /** Accepts or defers a finding, CVE, package or host × package until a date; written to the audit log. */
  'exceptions.add': call(ExceptionInput, FindingExceptionRecord),
  'exceptions.remove': call(
    z.object({ id: Id, reason: z.string().trim().max(2000).optional() }).strict(),
    z.object({ removed: z.boolean() }),
  ),

  'discovery.check': call(
    z
      .object({
        targets: z.string().max(100_000),
        exclude: z.string().max(100_000).optional(),
        force: z.boolean().optional(),
      })
      .strict(),
    TargetCheck,
  ),
  'discovery.start': call(
    DiscoveryRequest,
    z.object({ taskId: Id, scanId: Id, addresses: z.number().int() }),
  ),
  /** The machine's own IPv4 subnets, as a suggestion; never scanned without the admin's start. */
  'discovery.propose': call(
    none,
    z.array(z.object({ cidr: z.string(), interfaceName: z.string(), address: z.string() })),
  ),
  'scans.list': call(none, z.array(Scan)),
  'scans.results': call(z.object({ scanId: Id }).strict(), z.array(Host.extend({ wasNew: z.boolean() }))),
  'networks.list': call(none, z.array(SavedNetwork)),
  'networks.save': call(
    z
      .object({
        name: z.string().trim().min(1).max(64),
        targets: z.string().trim().min(1).max(100_000),
        exclude: z.string().max(100_000).optional(),
        ports: z.string().max(2000).optional(),
      })
      .strict(),
    SavedNetwork,
  ),
  'networks.remove': call(byId, z.object({ removed: z.boolean() })),

  'settings.get': call(none, Settings),
  'settings.set': call(z.object({ patch: Settings.partial().strict() }).strict(), Settings),

  'tasks.list': call(z.object({ active: z.boolean().optional() }).strict(), z.array(Task)),
  'tasks.cancel': call(byId, z.object({ cancelled: z.boolean() })),

  /** Plans a patch job from each host's newest audit and starts a dry run per host (a task). */
  'jobs.plan': call(PatchPlanRequest, z.object({ jobId: Id, taskId: Id, hosts: z.number().int() })),
  /** Records who approved the job's dry-run preview (the operator name) in the audit log. */
  'jobs.approve': call(byId, PatchJob),
  /** Runs an approved job now, at a time, or inside a maintenance window. */
  'jobs.start': call(
    z
      .object({
        id: Id,
        at: z.iso.datetime({ offset: true }).optional(),
        window: z
          .object({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }) })
          .strict()
          .optional(),
      })
      .strict(),
    PatchJob,
  ),
  'jobs.list': call(
    z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
    z.array(PatchJob),
  ),
  'jobs.get': call(
    z
      .object({
        id: Id,
        logAfter: z.number().int().min(0).optional(),
        logLimit: z.number().int().min(1).max(20_000).optional(),
      })
      .strict(),
    z.object({ job: PatchJob, steps: z.array(JobStep), log: z.array(JobLogLine) }),
  ),
  /** Running: finishes the current command on each host safely and skips the rest. Not started: cancels. */
  'jobs.cancel': call(byId, PatchJob),
  /** Deletes a draft nobody approved (the wizard's Discard): it leaves no job in the history. */
  'jobs.discard': call(
    z.object({ id: Id, planTaskId: Id.optional() }).strict(),
    z.object({ discarded: z.boolean() }),
  ),
  /** Re-audits the hosts an interrupted job had not finished and runs only what is still missing. */
  'jobs.resume': call(byId, PatchJob),
  /** Same, for the hosts that failed; a host whose reboot failed reboots again (its updates are in). */
  'jobs.rerunFailed': call(byId, PatchJob),
  /** Reboot now: the job's hosts whose updates wait for a reboot (or whose reboot failed), or only `hostIds`. */
  'jobs.reboot': call(z.object({ id: Id, hostIds: z.array(Id).max(10_000).optional() }).strict(), PatchJob),
  /** Reboots hosts outside a patch job, now or at a time, as a job of its own; a re-audit follows each. */
  'hosts.reboot': call(
    z
      .object({ hostIds: z.array(Id).min(1).max(10_000), at: z.iso.datetime({ offset: true }).optional() })
      .strict(),
    PatchJob,
  ),

  /** Recurring discovery and audits, with each one's next run, last run and missed runs. */
  'schedules.list': call(none, z.array(Schedule)),
  'schedules.create': call(ScheduleInput, Schedule),
  /** A new time, or switching a schedule back on, counts from now (time switched off is not missed). */
  'schedules.update': call(z.object({ id: Id, patch: SchedulePatch }).strict(), Schedule),
  'schedules.remove': call(byId, z.object({ removed: z.boolean() })),
  /** An extra run now, as an ordinary task; the schedule's own times stay as they are. */
  'schedules.runNow': call(byId, ScheduleRun),
  /** The schedule's runs, newest first, missed-run reports included. */
  'schedules.runs': call(
    z.object({ id: Id, limit: z.number().int().min(1).max(500).optional() }).strict(),
    z.array(ScheduleRun),
  ),

  // Issue 14: reports (src/reports), the portable audit bundle (src/portable), workspaces as
  // clients (src/workspaces) and the hand-off to Ansible (src/handoff).
  /** The report as the self-contained HTML an export writes, for the Reports page's preview. */
  'reports.preview': call(ReportRequest, ReportPreview),
  /** Writes the report as HTML, PDF, CSV or JSON (desktop: a save dialog; browser: bytes back). */
  'reports.export': call(ReportExportRequest, ReportExport),
  /** One file with the chosen hosts' audits, findings, jobs, audit log and advisory snapshot; never a secret. */
  'bundles.export': call(BundleExportRequest, BundleExport),
  /** Merges a bundle into this workspace (hosts by identity), all or nothing; the same bundle twice changes nothing. */
  'bundles.import': call(BundleImportRequest, BundleImportResult),
  /** Workspaces opened on this machine, newest first, with their site names. */
  'workspaces.recent': call(none, z.array(RecentWorkspace)),
  /** Names the open workspace's client site (shown in the switcher and on reports). */
  'workspaces.setSite': call(
    z.object({ siteName: z.string().trim().max(200) }).strict(),
    z.object({ siteName: z.string() }),
  ),
  /** The workspace that knows this network's gateway MAC, if another one does. Only a suggestion. */
  'workspaces.suggestion': call(none, WorkspaceSuggestion),
  /** Writes an Ansible inventory, known_hosts and (for an approved job) a playbook to a folder. */
  'handoff.exportAnsible': call(AnsibleExportRequest, AnsibleExport),
  /** Reads an ansible-playbook JSON result into the job's steps, then re-audits its hosts. */
  'handoff.importAnsibleResults': call(AnsibleResultsImportRequest, AnsibleResultsImport),
} as const;

export const events = {
  /** A task started, progressed or finished. */
  'task.changed': Task,
  /** Rows of an entity changed; the UI refetches what it shows. */
  'entity.changed': z.object({ entity: EntityName, ids: z.array(z.number().int()).optional() }),
  /** A discovery scan found (or re-found) a host: results stream in as they arrive. */
  'discovery.host': z.object({ scanId: Id, hostId: Id, address: z.string(), isNew: z.boolean() }),
  /** A patch job's status changed. */
  'job.changed': PatchJob,
  /** One host's step of a patch job changed (status or phase). */
  'job.step': JobStep,
  /** A line of a patch job's log, as it happens. */
  'job.log': JobLogLine,
  /**
   * Work finished or a host needs a reboot, and the setting asks to be told. Sent only where the
   * platform has no notifications of its own (browser mode), which shows it with the Notification API.
   */
  notification: AppNotification,
} as const;

export type Calls = typeof calls;
export type Method = keyof Calls;
export type CallArgs<M extends Method> = z.input<Calls[M]['args']>;
export type ParsedArgs<M extends Method> = z.output<Calls[M]['args']>;
export type CallResult<M extends Method> = z.output<Calls[M]['result']>;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export interface ApiErrorShape {
  code: string;
  /** The sentence the user reads. */
  message: string;
  /**
   * Facts a program may act on, as plain JSON (never a secret): for `bad-request` from argument
   * validation, `{ issues: [{ path, message }] }`. Absent when there is nothing more to say.
   */
  details?: unknown;
}
/** What crosses a carrier for each call: a value or an error, never a thrown class instance. */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: ApiErrorShape };

type Namespace = Method extends `${infer NS}.${string}` ? NS : never;
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "every key optional" test
type ArgsParam<M extends Method> = {} extends CallArgs<M> ? [args?: CallArgs<M>] : [args: CallArgs<M>];

/** The shape of `window.patchdeck`: `api.hosts.list()`, `api.on('task.changed', cb)`. */
export type PatchdeckApi = {
  [NS in Namespace]: {
    [M in Method as M extends `${NS}.${infer F}` ? F : never]: (
      ...args: ArgsParam<M>
    ) => Promise<CallResult<M>>;
  };
} & {
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

/**
 * What the Electron preload exposes as `window.patchdeck`: the same named functions, resolving
 * with the envelope itself (contextBridge keeps plain data whole, but of a thrown Error only its
 * message), which renderer/api.ts turns into values and ApiErrors.
 */
export type PatchdeckBridge = {
  [NS in Namespace]: {
    [M in Method as M extends `${NS}.${infer F}` ? F : never]: (
      ...args: ArgsParam<M>
    ) => Promise<Envelope<CallResult<M>>>;
  };
} & {
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

export const methodNames = Object.keys(calls) as Method[];
export const eventNames = Object.keys(events) as EventName[];

export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(calls, value);
}
export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(events, value);
}
