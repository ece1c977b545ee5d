/**
 * The collectors' contract: given a way to run commands on a host (`RemoteExec`), return the
 * host's pending updates as the host's own package manager sees them.
 */

export interface RemoteExecOptions {
  sudo?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

export interface RemoteExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when the process died from a signal or the status is unknown. */
  code: number | null;
}

/** Implemented by the SSH layer (src/remote) and, in tests, by replays of real captures. */
export interface RemoteExec {
  run(command: string, options?: RemoteExecOptions): Promise<RemoteExecResult>;
  /**
   * Present on WinRM sessions: a PowerShell script through stdin. Windows collectors use it when
   * present, else `run(powershellEncodedCommand(script))` (OpenSSH).
   */
  runPowerShell?(script: string, options?: RemoteExecOptions): Promise<RemoteExecResult>;
}

export type Severity = 'critical' | 'important' | 'moderate' | 'low' | 'unknown';

export interface PendingUpdate {
  name: string;
  arch: string | null;
  installedVersion: string | null;
  availableVersion: string;
  repository: string | null;
  security: boolean;
  /** Normalised severity; null when the package manager says nothing about severity. */
  severity: Severity | null;
  /** The vendor's own word (e.g. `Important`, `High`), sanitised. */
  vendorSeverity: string | null;
  advisories: string[];
  held: boolean;
  phased: boolean;
  rebootRequired: boolean | null;
  kind: 'package' | 'patch' | 'kb';
  /** True when installing the updates pulls this package in although it is not installed yet. */
  newDependency?: boolean;
  /**
   * The source package this binary is built from (dpkg `${source:Package}`, rpm `%{SOURCERPM}`,
   * apk origin), and its versions for the installed and the available binary: advisories of Debian,
   * Ubuntu and the Debian tracker name source packages. Absent or null when the host did not say.
   */
  sourceName?: string | null;
  sourceInstalledVersion?: string | null;
  sourceAvailableVersion?: string | null;
}

/** One package of the host's installed set, with the source package it was built from. */
export interface InstalledPackage {
  name: string;
  arch: string | null;
  version: string;
  sourceName: string | null;
  sourceVersion: string | null;
}

/** The most installed packages an audit records (a desktop has ~3 000; more is hostile or broken). */
export const MAX_INSTALLED_PACKAGES = 20_000;

export type OsFamily = 'linux' | 'macos' | 'windows' | 'bsd' | 'unknown';

export interface OsInfo {
  family: OsFamily;
  id: string;
  versionId: string | null;
  name: string;
  prettyName: string;
  kernel: string | null;
  arch: string | null;
  idLike: string[];
  /** The host's own name as it reported it (untrusted, unvalidated); absent when not asked. */
  hostname?: string | null;
}

export type PackageManager =
  'apt' | 'dnf' | 'yum' | 'zypper' | 'pacman' | 'apk' | 'softwareupdate' | 'windows-update';

export interface CommandRecord {
  command: string;
  code: number | null;
  stderr: string;
}

export interface CollectorResult {
  packageManager: PackageManager;
  updates: PendingUpdate[];
  rebootRequired: boolean | null;
  rebootReasons: string[];
  /** Age of the package metadata the answer is based on; null when unknown. */
  metadataAgeSeconds: number | null;
  warnings: string[];
  commands: CommandRecord[];
  /** The whole installed set (at most MAX_INSTALLED_PACKAGES, with a warning); absent when not read. */
  installed?: InstalledPackage[];
}

export interface CollectOptions {
  /** Refresh package metadata first (`apt-get update`, `dnf makecache`, …); needs sudo. */
  refresh: boolean;
  /**
   * A host with no cached metadata at all may be refreshed once by the collector itself (and the
   * result says so). Live audits allow it; an offline collection replays what was collected and
   * cannot run anything more.
   */
  autoRefresh?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface Collector {
  packageManager: PackageManager;
  collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult>;
}

export type CollectorErrorKind =
  'sudo' | 'package-manager-locked' | 'command-failed' | 'unsupported-os' | 'timeout' | 'refused';

const KIND_SENTENCES: Record<CollectorErrorKind, string> = {
  sudo: 'The account could not get root privileges with sudo on this host.',
  'package-manager-locked': 'The package manager on this host is busy or locked by another process.',
  'command-failed': 'A command on this host failed.',
  'unsupported-os': 'This operating system or package manager is not supported.',
  timeout: 'The host did not answer in time.',
  refused: 'The host refused the request.',
};

/** A classified collector failure; `stderr` keeps the raw (sanitised, bounded) error text for the log. */
export class CollectorError extends Error {
  readonly kind: CollectorErrorKind;
  readonly stderr: string;
  readonly command: string | null;
  readonly code: number | null;

  constructor(
    kind: CollectorErrorKind,
    message: string | null,
    details: { stderr?: string; command?: string | null; code?: number | null } = {},
  ) {
    super(message ?? KIND_SENTENCES[kind]);
    this.name = 'CollectorError';
    this.kind = kind;
    this.stderr = details.stderr ?? '';
    this.command = details.command ?? null;
    this.code = details.code ?? null;
  }
}

export function isCollectorError(error: unknown): error is CollectorError {
  return error instanceof CollectorError;
}
