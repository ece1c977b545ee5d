/**
 * The macOS collector: `softwareupdate --list` (with `--no-scan` unless refreshing, so an audit can
 * read the last scan's results), plus the date of the last successful scan.
 */
import { cleanField, cleanStderr, lines, runSectionScript, type ScriptSection } from '../util';
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

/**
 * Parses both listing formats: macOS ≥ 10.15 (`* Label: X` then `\tTitle: T, Version: V, Size: …,
 * Recommended: YES, Action: restart,`) and older (`   * X` then `\tT (V), 123K [recommended] [restart]`).
 */
export function parseSoftwareUpdateList(text: string): MacUpdate[] {
  const result: MacUpdate[] = [];
  const all = lines(text);
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    const modern = /^\s*\*\s+Label:\s*(\S.*?)\s*$/.exec(line);
    const legacy = modern ? null : /^\s*[*-]\s+(\S.*?)\s*$/.exec(line);
    if (!modern && !legacy) continue;
    const label = cleanField((modern ?? legacy)![1]!, 200);
    const detail = all[i + 1] ?? '';
    if (modern) {
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
    } else if (/^\s+\S/.test(detail) && !/^\s*[*-]\s/.test(detail)) {
      const parsed = /^\s*(.*?)\s*\(([^()]{1,60})\),/.exec(detail);
      result.push({
        label,
        title: cleanField(parsed?.[1] ?? detail, 200),
        version: parsed ? cleanField(parsed[2]!, 60) : null,
        recommended: /\[recommended\]/.test(detail),
        restart: /\[restart\]/.test(detail),
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
  if (!list)
    throw new CollectorError('command-failed', 'The softwareupdate audit script did not run on this host.', {
      stderr: cleanStderr(raw.stderr),
      code: raw.code,
    });
  return { ...macosResultFromSections(list, sections.get('age')?.stdout ?? ''), commands };
}

export const macosCollector = { packageManager: 'softwareupdate' as const, collect };
