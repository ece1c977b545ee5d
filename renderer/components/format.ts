import type { Finding } from '../../src/api/schemas';

/** Local date and time, or a dash when there is none. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? word : many}`;
}

/**
 * A finding's versions in words: `old → new`; a package with no installed version is a new
 * dependency (`new → 1.2`); a patch or KB has no installed version of its own, only its id.
 */
export function findingVersionText(
  f: Pick<Finding, 'installedVersion' | 'availableVersion' | 'kind'>,
): string {
  if (f.installedVersion !== null) return `${f.installedVersion} → ${f.availableVersion}`;
  return f.kind === 'package' ? `new → ${f.availableVersion}` : f.availableVersion;
}
