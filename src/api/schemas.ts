import { z } from 'zod';

/**
 * Domain records as they cross the API. The database repositories return these shapes;
 * the renderer receives them. Secrets never appear in any of them.
 */

export const IsoTime = z.string();
export const Id = z.number().int().positive();

export const TaskStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']);
export const Task = z.object({
  id: Id,
  kind: z.string(),
  title: z.string(),
  status: TaskStatus,
  progressDone: z.number().int().nonnegative(),
  progressTotal: z.number().int().nonnegative().nullable(),
  message: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: IsoTime,
  startedAt: IsoTime.nullable(),
  finishedAt: IsoTime.nullable(),
});
export type Task = z.infer<typeof Task>;

export const OsFamily = z.enum(['linux', 'macos', 'windows', 'bsd', 'network', 'unknown']);
export const ManagementChannel = z.enum(['ssh', 'winrm']);

export const Host = z.object({
  id: Id,
  name: z.string(),
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
};

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
]);
