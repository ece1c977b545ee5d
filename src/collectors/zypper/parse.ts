/**
 * Pure parsers for zypper: `--xmlout list-updates` / `list-patches` (preferred), the plain-text
 * tables of the same commands, `info -t patch` (which packages a patch fixes), and exit codes.
 */
import { XMLParser } from 'fast-xml-parser';
import {
  cleanField,
  isValidArch,
  isValidPackageName,
  isValidVersion,
  lines,
  normalizeSeverity,
} from '../util';
import { CollectorError, type Severity } from '../types';

export interface ZypperPackageUpdate {
  name: string;
  arch: string | null;
  installedVersion: string | null;
  availableVersion: string;
  repository: string | null;
}

export interface ZypperPatch {
  id: string;
  category: string;
  security: boolean;
  severity: Severity | null;
  vendorSeverity: string | null;
  status: string;
  rebootRequired: boolean;
  restartPackageManager: boolean;
  summary: string;
  repository: string | null;
  issues: string[];
}

const MAX_XML = 32 * 1024 * 1024;

function xmlParser(): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    processEntities: true,
    htmlEntities: false,
    isArray: (name) => name === 'update' || name === 'issue' || name === 'message' || name === 'solvable',
  });
}

type XmlNode = Record<string, unknown>;

/** The `<stream>` element of zypper's `--xmlout` output (bounded; anything before `<?xml` is ignored). */
function streamOf(xml: string): XmlNode {
  if (xml.length > MAX_XML)
    throw new CollectorError('command-failed', 'zypper printed more XML than Patchdeck reads (32 MiB).');
  const start = xml.indexOf('<?xml');
  let doc: XmlNode;
  try {
    doc = xmlParser().parse(start >= 0 ? xml.slice(start) : xml) as XmlNode;
  } catch (error) {
    // fast-xml-parser's own errors (entity limits, malformed DOCTYPE) are the host's fault.
    throw new CollectorError('command-failed', 'zypper printed XML we could not read.', {
      stderr: cleanField(error instanceof Error ? error.message : String(error), 300),
      command: 'zypper --xmlout',
    });
  }
  if (typeof doc !== 'object' || doc === null) return {};
  const stream = doc.stream;
  return typeof stream === 'object' && stream !== null ? (stream as XmlNode) : {};
}

function updatesOf(xml: string): XmlNode[] {
  const stream = streamOf(xml);
  const status = (stream['update-status'] ?? {}) as XmlNode;
  const list = (status['update-list'] ?? {}) as XmlNode;
  const updates = list.update;
  return Array.isArray(updates) ? (updates as XmlNode[]) : [];
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/** `zypper --xmlout list-updates` → package updates. */
export function parseZypperUpdatesXml(xml: string): ZypperPackageUpdate[] {
  const result: ZypperPackageUpdate[] = [];
  for (const update of updatesOf(xml)) {
    if (str(update.kind) !== 'package') continue;
    const name = str(update.name);
    const edition = str(update.edition);
    const old = str(update['edition-old']);
    const arch = str(update.arch);
    if (!isValidPackageName(name) || !isValidVersion(edition)) continue;
    const source = (update.source ?? {}) as XmlNode;
    const alias = str(source.alias);
    result.push({
      name,
      arch: isValidArch(arch) ? arch : null,
      installedVersion: isValidVersion(old) ? old : null,
      availableVersion: edition,
      repository: alias === '' ? null : cleanField(alias, 200),
    });
  }
  return result;
}

function patchFrom(fields: {
  id: string;
  category: string;
  severity: string;
  status: string;
  reboot: boolean;
  pkgmanager: boolean;
  summary: string;
  repository: string;
  issues: string[];
}): ZypperPatch | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,199}$/.test(fields.id)) return null;
  const category = cleanField(fields.category, 40).toLowerCase();
  const vendorSeverity = cleanField(fields.severity, 40);
  const severity = normalizeSeverity(vendorSeverity);
  return {
    id: fields.id,
    category,
    security: category === 'security',
    severity: category === 'security' ? severity : severity === 'unknown' ? null : severity,
    vendorSeverity: vendorSeverity === '' || /^(none|---)$/i.test(vendorSeverity) ? null : vendorSeverity,
    status: cleanField(fields.status, 40),
    rebootRequired: fields.reboot,
    restartPackageManager: fields.pkgmanager,
    summary: cleanField(fields.summary, 300),
    repository: fields.repository === '' ? null : cleanField(fields.repository, 200),
    issues: fields.issues.filter((i) => /^[A-Za-z0-9][A-Za-z0-9_.:#-]{0,99}$/.test(i)),
  };
}

/** `zypper --xmlout list-patches` → patches (only needed ones are listed by default). */
export function parseZypperPatchesXml(xml: string): ZypperPatch[] {
  const result: ZypperPatch[] = [];
  for (const update of updatesOf(xml)) {
    if (str(update.kind) !== 'patch') continue;
    const issueList = (update['issue-list'] ?? {}) as XmlNode;
    const issues = Array.isArray(issueList.issue) ? (issueList.issue as XmlNode[]).map((i) => str(i.id)) : [];
    const source = (update.source ?? {}) as XmlNode;
    const patch = patchFrom({
      id: str(update.name),
      category: str(update.category),
      severity: str(update.severity),
      status: str(update.status),
      reboot: str(update.restart) === 'true',
      pkgmanager: str(update.pkgmanager) === 'true',
      summary: str(update.summary),
      repository: str(source.alias),
      issues,
    });
    if (patch) result.push(patch);
  }
  return result;
}

export interface ZypperInstallSummary {
  upgrades: ZypperChange[];
  newPackages: ZypperChange[];
  removals: ZypperChange[];
  /** `<message type="error">` texts (e.g. "No provider of 'x=1' found."), sanitised. */
  errors: string[];
  /** False when the XML holds no `<install-summary>` at all (zypper stopped before resolving). */
  summarised: boolean;
}

export interface ZypperChange {
  name: string;
  arch: string | null;
  from: string | null;
  to: string | null;
}

/** Which list of the preview each `<install-summary>` child feeds; unknown `to-*` lists count as upgrades. */
const SUMMARY_LISTS: Record<string, 'upgrades' | 'newPackages' | 'removals'> = {
  'to-install': 'newPackages',
  'to-remove': 'removals',
};

/**
 * `zypper --xmlout install --dry-run …`: the `<install-summary>` zypper prints before it would
 * ask "Continue?" (`to-upgrade`, `to-downgrade`, `to-install`, `to-remove`, `to-reinstall`, …,
 * each a list of `<solvable type="package" name edition edition-old arch>`).
 */
export function parseZypperInstallSummaryXml(xml: string): ZypperInstallSummary {
  const stream = streamOf(xml);
  const out: ZypperInstallSummary = {
    upgrades: [],
    newPackages: [],
    removals: [],
    errors: [],
    summarised: false,
  };
  const messages = Array.isArray(stream.message) ? (stream.message as unknown[]) : [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const node = m as XmlNode;
    if (str(node.type) === 'error') out.errors.push(cleanField(str(node['#text']), 300));
  }
  const summary = stream['install-summary'];
  if (summary === undefined) return out;
  out.summarised = true;
  if (typeof summary !== 'object' || summary === null) return out;
  for (const [tag, value] of Object.entries(summary as XmlNode)) {
    if (!tag.startsWith('to-') || typeof value !== 'object' || value === null) continue;
    const list = SUMMARY_LISTS[tag] ?? 'upgrades';
    const solvables = (value as XmlNode).solvable;
    if (!Array.isArray(solvables)) continue;
    for (const s of solvables as XmlNode[]) {
      const type = str(s.type);
      if (type !== '' && type !== 'package') continue;
      const name = str(s.name);
      const edition = str(s.edition);
      const old = str(s['edition-old']);
      const arch = str(s.arch);
      if (!isValidPackageName(name) || !isValidVersion(edition)) continue;
      out[list].push({
        name,
        arch: isValidArch(arch) ? arch : null,
        from:
          list === 'newPackages' ? null : list === 'removals' ? edition : isValidVersion(old) ? old : null,
        to: list === 'removals' ? null : edition,
      });
    }
  }
  return out;
}

/** Splits a zypper plain-text table (header, `---+---` rule, rows) into records keyed by header. */
export function parseZypperTable(text: string): Record<string, string>[] {
  const all = lines(text);
  const rows: Record<string, string>[] = [];
  for (let i = 0; i + 1 < all.length; i++) {
    if (!all[i]!.includes('|') || !/^-+(\+-+)+\s*$/.test(all[i + 1]!.trim())) continue;
    const header = all[i]!.split('|').map((h) => h.trim());
    for (let j = i + 2; j < all.length; j++) {
      const line = all[j]!;
      if (!line.includes('|')) break;
      const cells = line.split('|').map((c) => c.trim());
      if (cells.length < header.length) continue;
      const tail = cells.slice(header.length - 1).join(' | ');
      const record: Record<string, string> = {};
      header.forEach((h, k) => (record[h] = k === header.length - 1 ? tail : cells[k]!));
      rows.push(record);
    }
    break;
  }
  return rows;
}

/** Plain-text `zypper list-updates`. */
export function parseZypperUpdatesText(text: string): ZypperPackageUpdate[] {
  return parseZypperTable(text)
    .filter((r) => isValidPackageName(r.Name ?? '') && isValidVersion(r['Available Version'] ?? ''))
    .map((r) => ({
      name: r.Name!,
      arch: isValidArch(r.Arch ?? '') ? r.Arch! : null,
      installedVersion: isValidVersion(r['Current Version'] ?? '') ? r['Current Version']! : null,
      availableVersion: r['Available Version']!,
      repository: r.Repository ? cleanField(r.Repository, 200) : null,
    }));
}

/** Plain-text `zypper list-patches` (all statuses are kept; callers filter on `status`). */
export function parseZypperPatchesText(text: string): ZypperPatch[] {
  const result: ZypperPatch[] = [];
  for (const r of parseZypperTable(text)) {
    const interactive = r.Interactive ?? '';
    const patch = patchFrom({
      id: r.Name ?? '',
      category: r.Category ?? '',
      severity: r.Severity ?? '',
      status: r.Status ?? '',
      reboot: /\breboot\b/.test(interactive),
      pkgmanager: /\brestart\b/.test(interactive),
      summary: r.Summary ?? '',
      repository: r.Repository ?? '',
      issues: [],
    });
    if (patch) result.push(patch);
  }
  return result;
}

/** `zypper info -t patch ID…`: which package each patch updates (its `Conflicts : pkg < version` lines). */
export function parsePatchInfo(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string | null = null;
  let inConflicts = false;
  for (const line of lines(text)) {
    const header = /^Information for patch (\S+):$/.exec(line);
    if (header) {
      current = header[1]!;
      result.set(current, []);
      inConflicts = false;
      continue;
    }
    if (current === null) continue;
    const field = line.startsWith(' ') ? null : infoField(line);
    if (field) {
      inConflicts = field.name === 'Conflicts';
      if (!inConflicts) continue;
      const value = field.value.replace(/^\[\d+\]\s*/, '');
      if (value !== '') addConflict(result.get(current)!, value);
      continue;
    }
    if (inConflicts && line.startsWith(' ')) addConflict(result.get(current)!, line.trim());
  }
  return result;
}

/**
 * A `Name   : value` line of `zypper info`: the name is a capitalised run of letters and spaces
 * before the first colon. Split by hand; a regex with a lazy name and `\s*` before the colon
 * backtracked quadratically over a long run of spaces.
 */
function infoField(line: string): { name: string; value: string } | null {
  const colon = line.indexOf(':');
  if (colon <= 0) return null;
  const name = line.slice(0, colon).trimEnd();
  if (name === '' || name.length > 64 || !/^[A-Z][A-Za-z ]*$/.test(name)) return null;
  const rest = line.slice(colon + 1);
  return { name, value: rest.startsWith(' ') ? rest.slice(1) : rest };
}

/**
 * `pkg.arch < version`, `srcpackage:pkg < version` or `pkg < version`: the word before `<`,
 * without its `.arch` suffix. Scanned by hand, in one pass.
 */
function addConflict(list: string[], text: string): void {
  let rest = text.startsWith('srcpackage:') ? text.slice('srcpackage:'.length) : text;
  let end = 0;
  while (end < rest.length && !'<>='.includes(rest[end]!) && rest[end]!.trim() !== '') end++;
  const word = rest.slice(0, end);
  rest = rest.slice(end).trimStart();
  if (word === '' || !rest.startsWith('<')) return;
  const dot = word.lastIndexOf('.');
  const name = dot > 0 && /^[A-Za-z0-9_]+$/.test(word.slice(dot + 1)) ? word.slice(0, dot) : word;
  if (isValidPackageName(name) && !list.includes(name)) list.push(name);
}

/** zypper's exit codes (zypper(8) EXIT CODES). */
export const ZYPPER_EXIT = {
  ok: 0,
  bug: 1,
  syntax: 2,
  invalidArgs: 3,
  zyppError: 4,
  privileges: 5,
  noRepos: 6,
  locked: 7,
  commit: 8,
  updateNeeded: 100,
  securityUpdateNeeded: 101,
  rebootNeeded: 102,
  restartZypper: 103,
  capabilityNotFound: 104,
  onSignal: 105,
  reposSkipped: 106,
  rpmScriptFailed: 107,
} as const;

export function isZypperSuccess(code: number | null): boolean {
  return code === 0 || (code !== null && code >= 100 && code <= 103) || code === 106;
}

/** `zypper needs-rebooting`: 102 reboot needed, 0 not; otherwise unknown (old zypper). */
export function parseNeedsRebooting(code: number | null): boolean | null {
  if (code === 102) return true;
  if (code === 0) return false;
  return null;
}
