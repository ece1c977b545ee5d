/**
 * The macOS collector: `softwareupdate --list` (with `--no-scan` unless refreshing, so an audit can
 * read the last scan's results), plus the date of the last successful scan.
 */
import {
  cleanField,
  cleanStderr,
  lines,
  overlongLineWarnings,
  runSectionScript,
  scriptDidNotRun,
  type ScriptSection,
} from '../util';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';

export interface MacUpdate {
  label: string;
  title: string;
  version: string | null;
  recommended: boolean | null;
  restart: boolean;
}

/** `* Label: X` (macOS ≥ 10.15) → X; null otherwise. No regex: the line is the host's. */
function modernLabel(line: string): string | null {
  const rest = bulletRest(line, false);
  if (rest === null || !rest.startsWith('Label:')) return null;
  const label = rest.slice('Label:'.length).trim();
  return label === '' ? null : label;
}

/**
 * What follows a list bullet (`*`, or `-` too when `dash`) and at least one space; null when the
 * line is no bullet item.
 */
function bulletRest(line: string, dash: boolean): string | null {
  const trimmed = line.trim();
  const bullet = trimmed[0];
  if (bullet !== '*' && !(dash && bullet === '-')) return null;
  const after = trimmed.slice(1);
  if (after.trimStart().length === after.length) return null;
  const rest = after.trim();
  return rest === '' ? null : rest;
}

/** Whether a line starts a new bullet item (`*` or `-`, then a space). */
function startsWithBullet(line: string): boolean {
  const trimmed = line.trimStart();
  return (trimmed[0] === '*' || trimmed[0] === '-') && trimmed.length > 1 && trimmed[1]!.trim() === '';
}

/**
 * The legacy detail line `\tTitle (Version), 123K [recommended]`: the title before the first
 * parenthesis that holds 1–60 characters and is followed by "),". Each candidate is checked
 * with bounded look-ahead, so the line is read in linear time.
 */
function legacyTitleVersion(detail: string): { title: string; version: string } | null {
  for (let open = detail.indexOf('('); open >= 0; open = detail.indexOf('(', open + 1)) {
    let close = open + 1;
    while (close < detail.length && close - open <= 61 && detail[close] !== '(' && detail[close] !== ')')
      close++;
    const length = close - open - 1;
    if (detail[close] === ')' && length >= 1 && length <= 60 && detail[close + 1] === ',')
      return { title: detail.slice(0, open).trim(), version: detail.slice(open + 1, close) };
  }
  return null;
}

/**
 * Parses both listing formats: macOS ≥ 10.15 (`* Label: X` then `\tTitle: T, Version: V, Size: …,
 * Recommended: YES, Action: restart,`) and older (`   * X` then `\tT (V), 123K [recommended] [restart]`).
 */
export function parseSoftwareUpdateList(text: string): MacUpdate[] {
  const result: MacUpdate[] = [];
  const all = lines(text);
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    const modern = modernLabel(line);
    const legacy = modern === null ? bulletRest(line, true) : null;
    if (modern === null && legacy === null) continue;
    const label = cleanField((modern ?? legacy)!, 200);
    const detail = all[i + 1] ?? '';
    if (modern !== null) {
      const fields = new Map<string, string>();
      for (const part of detail.trim().split(/,\s*/)) {
        const colon = part.indexOf(':');
        if (colon > 0) fields.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
      }
      const recommended = fields.get('Recommended');
      result.push({
        label,
        title: cleanField(fields.get('Title') ?? label, 200),
        version: fields.has('Version') ? cleanField(fields.get('Version')!, 60) : null,
        recommended: recommended === undefined ? null : recommended === 'YES',
        restart: /restart/i.test(fields.get('Action') ?? ''),
      });
      i++;
    } else if (/^\s+\S/.test(detail) && !startsWithBullet(detail)) {
      const parsed = legacyTitleVersion(detail);
      result.push({
        label,
        title: cleanField(parsed?.title ?? detail, 200),
        version: parsed ? cleanField(parsed.version, 60) : null,
        recommended: detail.includes('[recommended]'),
        restart: detail.includes('[restart]'),
      });
      i++;
    }
  }
  return result;
}

/** Apple does not flag security content; its security releases say so in the title. */
export function isMacSecurityUpdate(title: string): boolean {
  return /Security (?:Update|Response|Improvement)|Rapid Security Response|XProtect|MRT|Gatekeeper/i.test(
    title,
  );
}

export function macosSections(refresh: boolean): ScriptSection[] {
  return [
    { name: 'list', command: `softwareupdate --list${refresh ? '' : ' --no-scan'}` },
    {
      name: 'age',
      command:
        'date +%s; defaults read /Library/Preferences/com.apple.SoftwareUpdate LastSuccessfulDate 2>/dev/null; true',
    },
  ];
}

function ageFrom(text: string): number | null {
  const [nowText, dateText] = lines(text).map((l) => l.trim());
  const now = Number(nowText);
  const when = dateText
    ? Date.parse(
        dateText.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/, '$1T$2$3:$4'),
      )
    : NaN;
  return Number.isFinite(now) && Number.isFinite(when) ? Math.max(0, Math.round(now - when / 1000)) : null;
}

export function macosResultFromSections(
  list: { stdout: string; stderr: string },
  age: string,
): Omit<CollectorResult, 'commands'> {
  const items = parseSoftwareUpdateList(list.stdout);
  const warnings: string[] = [];
  if (items.length === 0 && !/No new software available/.test(`${list.stdout}\n${list.stderr}`)) {
    throw new CollectorError(
      'command-failed',
      'softwareupdate printed neither updates nor "No new software available".',
      { stderr: cleanStderr(list.stderr), command: 'softwareupdate --list' },
    );
  }
  const updates: PendingUpdate[] = items.map((u) => ({
    name: u.label,
    arch: null,
    installedVersion: null,
    availableVersion: u.version ?? u.title,
    repository: 'Apple Software Update',
    security: isMacSecurityUpdate(u.title) || isMacSecurityUpdate(u.label),
    severity: null,
    vendorSeverity: null,
    advisories: [],
    held: false,
    phased: false,
    rebootRequired: u.restart,
    kind: 'patch',
  }));
  return {
    packageManager: 'softwareupdate',
    updates,
    // macOS has no pending-reboot flag to read; only updates announce that they need one.
    rebootRequired: null,
    rebootReasons: [],
    metadataAgeSeconds: ageFrom(age),
    warnings,
  };
}

export async function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const { sections, raw } = await runSectionScript(
    exec,
    macosSections(options.refresh),
    { ...options, sudo: false },
    commands,
  );
  const list = sections.get('list');
  if (!list) throw scriptDidNotRun('softwareupdate', raw);
  const result = macosResultFromSections(list, sections.get('age')?.stdout ?? '');
  return { ...result, warnings: [...overlongLineWarnings(sections), ...result.warnings], commands };
}

export const macosCollector = { packageManager: 'softwareupdate' as const, collect };
