import type { Finding } from '../../src/api/schemas';

/**
 * How the window shows a Windows update (a KB) where Linux shows a package. The Windows collector
 * records a KB as a finding of kind `kb`: `package` is its first KB number, `availableVersion` its
 * title, `repository` its categories joined by ", ", `vendorSeverity` the MSRC rating, and
 * `advisories` its KB, bulletin and CVE ids. A WinRM or offline Windows audit adds `details`
 * (UpdateID, size, release date, reboot behaviour, categories); what is absent is left out.
 */
type FindingLike = Pick<
  Finding,
  'kind' | 'package' | 'availableVersion' | 'repository' | 'rebootRequired'
> & {
  /** Finding.details: the Windows audit's details of a KB (absent or null for packages). */
  details?: unknown;
};

/** Optional Windows details a finding may carry (the audit of a PC over WinRM fills them). */
export interface KbDetails {
  updateId?: string | null;
  /** Bytes the download may take (WUA MaxDownloadSize). */
  sizeBytes?: number | null;
  /** When Microsoft released it (ISO date). */
  releasedAt?: string | null;
  /** WUA InstallationBehavior.RebootBehavior (0 never, 1 always, 2 can request), in words. */
  rebootBehavior?: 'never' | 'always' | 'can-request' | null;
  categories?: string[] | null;
}

export const isKb = (f: Pick<Finding, 'kind'>): boolean => f.kind === 'kb';

const REBOOT_CODES = ['never', 'always', 'can-request'] as const;
function rebootBehaviorOf(v: unknown): KbDetails['rebootBehavior'] {
  if (typeof v === 'number') return REBOOT_CODES[v] ?? null;
  return REBOOT_CODES.find((c) => c === v) ?? null;
}

/** A finding's KB details from wherever the record puts them (`details` or top-level fields). */
export function kbDetails(f: object): KbDetails {
  const record = f as Record<string, unknown>;
  const inner =
    record.details && typeof record.details === 'object' ? (record.details as Record<string, unknown>) : {};
  const pick = (name: string): unknown => (name in inner ? inner[name] : record[name]);
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
  const list = pick('categories');
  return {
    updateId: str(pick('updateId')),
    sizeBytes: num(pick('sizeBytes') ?? pick('size') ?? pick('maxDownloadSize')),
    releasedAt: str(pick('releasedAt') ?? pick('releaseDate') ?? pick('lastDeploymentChangeTime')),
    rebootBehavior: rebootBehaviorOf(pick('rebootBehavior')),
    categories: Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : null,
  };
}

/** The KB's categories (Security Updates, Critical Updates, Definition Updates, …). */
export function kbCategories(f: FindingLike & object): string[] {
  const fromDetails = kbDetails(f).categories;
  if (fromDetails && fromDetails.length) return fromDetails;
  if (!f.repository || f.repository === 'Windows Update') return [];
  return f.repository
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
}

/** Bytes in words: 312 MB, 48.2 KB. */
export function formatBytes(bytes: number | null | undefined): string | null {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return null;
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${value} bytes`
    : `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** A release date as a local date, or null. */
export function formatDate(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date.toLocaleDateString();
}

/** How installing the KB restarts the PC, in words. */
export function kbRestartText(f: FindingLike & object): string {
  const behavior = kbDetails(f).rebootBehavior;
  if (behavior === 'always') return 'needs a restart';
  if (behavior === 'can-request') return 'may ask for a restart';
  if (behavior === 'never') return 'no restart';
  if (f.rebootRequired === true) return 'needs a restart';
  if (f.rebootRequired === false) return 'no restart';
  return 'restart unknown';
}

/** The KB numbers of a finding or a step's target ("KB5034441" → "5034441"). */
export function kbNumber(name: string): string | null {
  const match = /^KB(\d{4,8})$/i.exec(name.trim());
  return match ? match[1]! : null;
}

/**
 * The undo recipe for one KB: Windows' own uninstaller. Shown for the admin to run by hand;
 * Patchdeck never runs it (not every update can be removed, and Windows says so when it cannot).
 */
export function wusaUninstall(name: string): string | null {
  const kb = kbNumber(name);
  return kb ? `wusa /uninstall /kb:${kb}` : null;
}

/** A package manager's name as the window says it; Windows Update is not a package manager. */
export function updateSourceLabel(packageManager: string | null | undefined): string | null {
  if (!packageManager) return null;
  return packageManager === 'windows-update' ? 'Windows Update' : packageManager;
}
