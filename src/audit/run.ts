import type { Database } from 'better-sqlite3';
import type { Host } from '../api';
import {
  CollectorError,
  detectOs,
  pickCollector,
  windows,
  type CollectorResult,
  type OsInfo,
  type RemoteExec,
} from '../collectors';
import {
  credentialForHost,
  mayTrustOnFirstUse,
  openCredential,
  openWindowsLogin,
  type CredentialSummary,
} from '../credentials';
import { completeAudit, failAudit, startAudit, type FindingInput } from '../db';
import { winrmEndpointOf } from '../hosts';
import { listTrustedKeys, recordHostKeySighting, reviewedPinsOf, trustHostKey } from '../db';
import { recordAuditSighting } from '../db';
import { readSettings } from '../db';
import { enrichAfterAudit } from '../intel';
import type { SecretBox } from '../platform';
import { RemoteError } from '../remote';
import type { PresentedHostKey } from '../remote';
import { SshSession, WinrmSession, type RemoteSession } from '../remote';
import { errorMessage, isPatchdeckError } from '../util';
import { sanitizeText } from '../util';

/** The error kinds an audit records, each with a sentence an admin can act on. */
export type AuditErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'auth-failed'
  | 'host-key-changed'
  | 'host-key-unknown'
  | 'offline-only'
  | 'no-credential'
  | 'sudo'
  | 'unsupported-os'
  | 'package-manager-locked'
  | 'command-failed'
  | 'output-too-large'
  | 'cancelled';

export interface HostAuditOutcome {
  hostId: number;
  hostName: string;
  auditId: number | null;
  /** `skipped`: not contacted at all (an offline-only host); no audit is recorded, auditId is null. */
  status: 'succeeded' | 'failed' | 'cancelled' | 'skipped';
  updates: number;
  security: number;
  rebootRequired: boolean | null;
  errorKind: AuditErrorKind | null;
  error: string | null;
  durationMs: number;
}

export interface AuditDeps {
  db: Database;
  secrets: SecretBox;
  actor: string;
}

export interface AuditOptions {
  credential?: CredentialSummary | null;
  refresh: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  taskId?: number | null;
}

export function classifyAuditError(error: unknown): {
  kind: AuditErrorKind;
  message: string;
  stderr: string;
} {
  if (error instanceof RemoteError) {
    const kind: AuditErrorKind = error.kind.startsWith('sudo') ? 'sudo' : (error.kind as AuditErrorKind);
    return { kind, message: error.message, stderr: error.stderr };
  }
  if (error instanceof CollectorError) {
    const map: Record<CollectorError['kind'], AuditErrorKind> = {
      sudo: 'sudo',
      'package-manager-locked': 'package-manager-locked',
      'command-failed': 'command-failed',
      'unsupported-os': 'unsupported-os',
      timeout: 'timeout',
      refused: 'command-failed',
    };
    return { kind: map[error.kind], message: error.message, stderr: error.stderr };
  }
  // Opening a Windows login: a credential gone or without its password, or an account Windows
  // cannot take (src/credentials openWindowsLogin). Nothing was sent to the host.
  if (isPatchdeckError(error))
    return {
      kind: error.code === 'not-found' ? 'no-credential' : 'auth-failed',
      message: sanitizeText(error.message, { maxLength: 500 }),
      stderr: '',
    };
  return {
    kind: 'command-failed',
    message: sanitizeText(errorMessage(error), { maxLength: 500 }),
    stderr: '',
  };
}

/** A collector result as the workspace stores it: one finding per pending update. */
export function toFindings(result: CollectorResult): FindingInput[] {
  return result.updates.map((u) => ({
    kind: u.kind,
    package: u.name,
    arch: u.arch,
    installedVersion: u.installedVersion,
    availableVersion: u.availableVersion,
    repository: u.repository,
    security: u.security,
    severity: u.severity,
    vendorSeverity: u.vendorSeverity,
    advisories: u.advisories,
    held: u.held,
    rebootRequired: u.rebootRequired,
    sourcePackage: u.sourceName ?? null,
    sourceInstalledVersion: u.sourceInstalledVersion ?? null,
    sourceAvailableVersion: u.sourceAvailableVersion ?? null,
    // Windows Update findings carry their UpdateID, revision, size… (src/collectors/windows).
    ...('details' in u ? { details: (u as windows.WindowsPendingUpdate).details } : {}),
  }));
}

/** A Windows result's facts as the workspace stores them with the audit; null for other hosts. */
export function toWindowsFacts(result: CollectorResult): Parameters<typeof completeAudit>[2]['windows'] {
  if (!windows.isWindowsResult(result)) return null;
  const { hotfixes, ...facts } = result.windows;
  return {
    ...facts,
    // Why the PC waits for a restart (the registry signals, or the agent's own flag): kept with the
    // audit's Windows facts so the host's page can say it, not only "needs a reboot".
    rebootReasons: result.rebootReasons,
    hotfixes: hotfixes.map((h) => ({
      hotfixId: h.id,
      description: h.description,
      installedOn: h.installedOn,
    })),
  };
}

/**
 * Opens one SSH session for a host with its pinned keys.
 *
 * The trust rule: no secret goes to a host whose key the admin has not pinned. ssh2 checks the
 * host key before it authenticates, so a host with no pinned key is refused at that point —
 * nothing of the credential has left this process — and the key it presented is recorded for
 * the admin to review (`host-key-unknown`, with the fingerprint). Only a key-only credential
 * whose trust-on-first-use setting the admin switched on pins a new host's key itself (recorded
 * in the audit log). A host created from an imported file has no connection target at all.
 */
export async function connectHost(
  deps: AuditDeps,
  host: Host,
  options: {
    credential?: CredentialSummary | null;
    timeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<RemoteSession> {
  if (host.offlineOnly) throw offlineOnlyError(host);
  const credential = credentialForHost(deps.db, host, options.credential);
  if (!credential) {
    // Not auth-failed: nothing was tried. What to do is said by each surface (src/api/advice.ts).
    throw new RemoteError('no-credential', `No credential covers ${host.name}, so it was not contacted.`);
  }
  if (credential.kind === 'windows') return connectWinrm(deps, host, credential, options);
  return connectSsh(deps, host, credential, options);
}

/** A sighting of what a refused endpoint presented, recorded for the admin's review. */
function recordPresented(
  deps: AuditDeps,
  host: Host,
  address: string,
  error: RemoteError,
): PresentedHostKey | null {
  const presented = error.details.presented as PresentedHostKey | undefined;
  if (!presented) return null;
  recordHostKeySighting(deps.db, {
    hostId: host.id,
    type: presented.type,
    fingerprint: presented.fingerprint,
    publicKey: presented.publicKey,
    source: 'connect',
    address,
  });
  return presented;
}

/**
 * Opens a WinRM session with a Windows credential (contract §6). The same trust rule as SSH, with
 * no trust on first use at all: over HTTPS only a reviewed certificate pin is accepted (checked
 * before any credential byte is sent); over HTTP the client sends the NTLM negotiate (no secret),
 * reads the names in the PC's challenge and answers only when they match a reviewed NTLM identity
 * pin. A refused endpoint's certificate or names are recorded as a sighting for review.
 */
async function connectWinrm(
  deps: AuditDeps,
  host: Host,
  credential: CredentialSummary,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<WinrmSession> {
  const address = host.address ?? host.addresses[0] ?? host.name;
  const target = winrmEndpointOf(host);
  const login = await openWindowsLogin(deps.db, deps.secrets, credential, 'ntlm');
  try {
    return await WinrmSession.connect(
      {
        host: address,
        port: target.port,
        https: target.https,
        label: host.name,
        login,
        ...(target.https
          ? { pinnedCertificates: reviewedPinsOf(deps.db, host.id, 'x509-certificate') }
          : { pinnedNtlmIdentities: reviewedPinsOf(deps.db, host.id, 'ntlm-identity') }),
        connectTimeoutMs: Math.min(options.timeoutMs, 20_000),
        maxOutputBytes: readSettings(deps.db).maxCommandOutputMiB * 1024 * 1024,
      },
      options.signal,
    );
  } catch (error) {
    if (
      error instanceof RemoteError &&
      (error.kind === 'host-key-unknown' || error.kind === 'host-key-changed')
    ) {
      const presented = recordPresented(deps, host, address, error);
      if (error.kind === 'host-key-unknown' && presented) {
        const what =
          presented.type === 'x509-certificate'
            ? `the WinRM certificate ${presented.fingerprint}`
            : `the NTLM identity ${presented.fingerprint} (the names in its NTLM challenge)`;
        throw new RemoteError(
          'host-key-unknown',
          `${host.name}'s WinRM endpoint is not trusted yet, so the ${credential.name} credential was not sent. It presents ${what}.`,
          '',
          error.details,
        );
      }
    }
    throw error;
  }
}

/** Opens one SSH session for a host with its pinned keys (see connectHost). */
async function connectSsh(
  deps: AuditDeps,
  host: Host,
  credential: CredentialSummary,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<SshSession> {
  const address = host.address ?? host.addresses[0] ?? host.name;
  // SSH keys only: a WinRM certificate or NTLM identity pin is no SSH host key.
  const allPinned = listTrustedKeys(deps.db, host.id, 'ssh');
  // A credential holding a password, sudo password or passphrase goes only to a key an admin
  // reviewed; a key pinned on first use (by a key-only credential) is good for key-only logins.
  const keyOnly = mayTrustOnFirstUse(credential);
  const pinned = keyOnly ? allPinned : allPinned.filter((k) => k.reviewed);
  const firstUse = allPinned.length === 0 && credential.trustOnFirstUse && keyOnly;
  const login = await openCredential(deps.db, deps.secrets, credential);
  let session: SshSession;
  try {
    session = await SshSession.connect(
      {
        host: address,
        port: host.sshPort,
        username: login.username,
        auth: login.auth,
        sudoPassword: login.sudoPassword,
        pinnedKeys: pinned.map((k) => ({ type: k.type, fingerprint: k.fingerprint })),
        trustOnFirstUse: firstUse,
        connectTimeoutMs: Math.min(options.timeoutMs, 20_000),
        label: host.name,
        maxOutputBytes: readSettings(deps.db).maxCommandOutputMiB * 1024 * 1024,
      },
      options.signal,
    );
  } catch (error) {
    if (
      error instanceof RemoteError &&
      (error.kind === 'host-key-unknown' || error.kind === 'host-key-changed')
    ) {
      const presented = recordPresented(deps, host, address, error);
      if (error.kind === 'host-key-unknown' && presented) {
        const why =
          allPinned.length > 0
            ? `${host.name}'s key was pinned automatically on first use and nobody has reviewed it, so the ${credential.name} credential (it holds a password or passphrase) was not sent.`
            : `${host.name} is not trusted yet, so no credential was sent.`;
        throw new RemoteError(
          'host-key-unknown',
          `${why} It presents the ${presented.type} key ${presented.fingerprint}.`,
          '',
          error.details,
        );
      }
    }
    throw error;
  }
  if (firstUse) {
    trustHostKey(deps.db, {
      reviewed: false,
      hostId: host.id,
      type: session.hostKey.type,
      fingerprint: session.hostKey.fingerprint,
      publicKey: session.hostKey.publicKey,
      actor: deps.actor,
      reason: `trust on first use (credential ${credential.name})`,
    });
  }
  return session;
}

export function offlineOnlyError(host: Host): RemoteError {
  return new RemoteError(
    'offline-only',
    `${host.name} is offline only: it came from an imported collection file and has no confirmed address.`,
  );
}

/** Audits one host over one SSH session: OS, pending updates, reboot state; records it all. */
export async function auditHost(
  deps: AuditDeps,
  host: Host,
  options: AuditOptions,
): Promise<HostAuditOutcome> {
  const started = Date.now();
  if (host.offlineOnly) {
    // Skipped, not failed: the host's imported audit stays its latest, and nothing is contacted.
    return {
      hostId: host.id,
      hostName: host.name,
      auditId: null,
      status: 'skipped',
      updates: 0,
      security: 0,
      rebootRequired: null,
      errorKind: 'offline-only',
      error: offlineOnlyError(host).message,
      durationMs: 0,
    };
  }
  const auditId = startAudit(deps.db, {
    hostId: host.id,
    taskId: options.taskId ?? null,
    refreshed: options.refresh,
    ...(isWindowsCredential(deps, host, options) ? { source: 'winrm' } : {}),
  });
  const hostTimeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, hostTimeout]) : hostTimeout;
  let session: RemoteSession | null = null;
  try {
    session = await connectHost(deps, host, { ...options, signal });
    const s = session;
    const ps = s.runPowerShell?.bind(s);
    const exec: RemoteExec = {
      run: (command, runOptions) => s.run(command, { ...runOptions, signal: runOptions?.signal ?? signal }),
      ...(ps
        ? {
            runPowerShell: (script, runOptions) =>
              ps(script, {
                ...(runOptions?.timeoutMs !== undefined ? { timeoutMs: runOptions.timeoutMs } : {}),
                signal: runOptions?.signal ?? signal,
              }),
          }
        : {}),
    };
    const collectOptions = {
      refresh: options.refresh,
      // A host with no cached metadata at all is refreshed once rather than reported as failed.
      autoRefresh: true,
      signal,
      timeoutMs: options.timeoutMs,
    };
    let os: OsInfo;
    let result: CollectorResult;
    if (s instanceof WinrmSession) {
      // Windows by transport: no detection round-trip; the WUA script reports the OS itself.
      const win = await windows.collect(exec, collectOptions);
      os = win.os ?? UNKNOWN_WINDOWS;
      result = win;
    } else {
      os = await detectOs(exec, { signal, timeoutMs: options.timeoutMs });
      result = await pickCollector(os).collect(exec, collectOptions);
    }
    const findings = toFindings(result);
    completeAudit(deps.db, auditId, {
      osId: os.id,
      osName: os.name,
      osVersion: os.versionId,
      kernel: os.kernel,
      packageManager: result.packageManager,
      metadataAgeSeconds: result.metadataAgeSeconds,
      rebootRequired: result.rebootRequired,
      warnings: result.warnings,
      durationMs: Date.now() - started,
      findings,
      windows: toWindowsFacts(result),
      ...(result.installed ? { installed: result.installed } : {}),
    });
    enrichAfterAudit(deps.db, auditId); // CVEs, tier and due date from the advisory snapshot (src/intel)
    // It answered: it was seen now, and its own hostname may name it (src/db/host-names.ts).
    recordAuditSighting(deps.db, host.id, { hostname: os.hostname ?? null });
    return {
      hostId: host.id,
      hostName: host.name,
      auditId,
      status: 'succeeded',
      updates: findings.length,
      security: findings.filter((f) => f.security).length,
      rebootRequired: result.rebootRequired,
      errorKind: null,
      error: null,
      durationMs: Date.now() - started,
    };
  } catch (error) {
    const cancelled = options.signal?.aborted === true;
    const timedOut = !cancelled && hostTimeout.aborted;
    const classified = cancelled
      ? { kind: 'cancelled' as const, message: 'Cancelled by the user.', stderr: '' }
      : timedOut
        ? {
            kind: 'timeout' as const,
            message: `${host.name}: the audit did not finish within ${Math.round(options.timeoutMs / 1000)} s.`,
            stderr: '',
          }
        : classifyAuditError(error);
    failAudit(deps.db, auditId, {
      status: cancelled ? 'cancelled' : 'failed',
      kind: classified.kind,
      message: classified.message,
      stderr: classified.stderr,
      durationMs: Date.now() - started,
    });
    return {
      hostId: host.id,
      hostName: host.name,
      auditId,
      status: cancelled ? 'cancelled' : 'failed',
      updates: 0,
      security: 0,
      rebootRequired: null,
      errorKind: classified.kind,
      error: classified.message,
      durationMs: Date.now() - started,
    };
  } finally {
    // WinRM's close deletes the shell over the network; it never throws, and nobody waits for it.
    void session?.close();
  }
}

const UNKNOWN_WINDOWS: OsInfo = {
  family: 'windows',
  id: 'windows',
  versionId: null,
  name: 'Windows',
  prettyName: 'Windows',
  kernel: null,
  arch: null,
  idLike: [],
};

/** Whether the audit will go over WinRM (its credential is a Windows account); false when none covers it. */
function isWindowsCredential(deps: AuditDeps, host: Host, options: AuditOptions): boolean {
  try {
    return credentialForHost(deps.db, host, options.credential)?.kind === 'windows';
  } catch {
    return false;
  }
}

/** Audits many hosts, `concurrency` at a time; one SSH connection per host. */
export async function auditHosts(
  deps: AuditDeps,
  hosts: Host[],
  options: AuditOptions & {
    concurrency: number;
    onHostDone?: (outcome: HostAuditOutcome, done: number) => void;
  },
): Promise<HostAuditOutcome[]> {
  const outcomes: HostAuditOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const host = hosts[next++]!;
      if (options.signal?.aborted) return;
      const outcome = await auditHost(deps, host, options);
      outcomes.push(outcome);
      options.onHostDone?.(outcome, outcomes.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, hosts.length)) }, worker));
  return outcomes;
}
