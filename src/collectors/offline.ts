/**
 * Offline collection: for a host the laptop cannot reach, a script the admin runs on the host
 * itself, and the parser that turns the script's output file back into an OsInfo and a
 * CollectorResult.
 *
 * The script runs exactly the sections the online collectors run (the same ScriptSection lists,
 * framed by buildSectionScript), and the parser hands those sections to the very same
 * collectors' `collect()` through a replaying RemoteExec — one parser per package manager, whether
 * the output came over SSH or on a USB stick.
 *
 * Output file format v1 (UTF-8, LF or CRLF):
 *
 *     @@PATCHDECK-COLLECT v1 <nonce> <linux|windows> <epoch seconds> <hostname>
 *     …stdout of the sections, framed by @@PATCHDECK:<nonce>:begin:<name> / …:end:<name>:<code>…
 *     @@PATCHDECK-STDERR <nonce>
 *     …stderr of the same sections, framed the same way…
 *     @@PATCHDECK-COLLECT-END <nonce> <epoch seconds>
 *
 * The file is hostile: it is size-checked, must be valid UTF-8 without control characters, its
 * frame must be complete and well-formed, and every marker must carry the header's nonce.
 */
import {
  buildWindowsDetectCommand,
  osInfoFromPosix,
  parseOsRelease,
  parseSwVers,
  parseUname,
  parseWindowsOs,
  posixDetectSections,
  refuseOverlongDetection,
} from './os';
import { aptSections } from './apt/index';
import { dnfSections } from './dnf/index';
import { zypperSections } from './zypper/index';
import { pacmanSections } from './pacman/index';
import { apkSections } from './apk/index';
import { macosSections } from './macos/index';
import { buildWindowsUpdateScript, collect as collectWindows } from './windows/index';
import { collectorFor, packageManagerFor } from './pick';
import { buildSectionScript, newNonce, splitSections, type ScriptSection, type SectionOutput } from './util';
import {
  CollectorError,
  type CollectorResult,
  type OsInfo,
  type PackageManager,
  type RemoteExec,
} from './types';

export const COLLECT_FORMAT_VERSION = 1;
/** Larger files are refused before they are read (a real collection is well under 1 MiB). */
export const MAX_COLLECTED_BYTES = 32 * 1024 * 1024;

export type CollectScriptOs = 'linux' | 'windows';

const HEADER = '@@PATCHDECK-COLLECT';
const STDERR_MARK = '@@PATCHDECK-STDERR';
const END_MARK = '@@PATCHDECK-COLLECT-END';
const MARKER = '@@PATCHDECK';
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** A collection file that is not a complete, untampered output of our script; the message says why. */
export class CollectedOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectedOutputError';
  }
}

/** The POSIX package managers the linux script knows, in the order it probes them. */
type PosixTool = 'softwareupdate' | 'apt' | 'zypper' | 'dnf' | 'pacman' | 'apk';

interface PosixPlan {
  tool: PosixTool;
  /** sh condition true when this is the host's package manager (its own database exists). */
  probe: string;
  sections: (refresh: boolean) => ScriptSection[];
}

const RPM_DB = '{ [ -d /var/lib/rpm ] || [ -d /usr/lib/sysimage/rpm ]; }';
const has = (tool: string): string => `command -v ${tool} >/dev/null 2>&1`;

const POSIX_PLANS: readonly PosixPlan[] = [
  { tool: 'softwareupdate', probe: `${has('sw_vers')} && ${has('softwareupdate')}`, sections: macosSections },
  { tool: 'apt', probe: `[ -f /var/lib/dpkg/status ] && ${has('apt-get')}`, sections: aptSections },
  { tool: 'zypper', probe: `${RPM_DB} && ${has('zypper')}`, sections: zypperSections },
  { tool: 'dnf', probe: `${RPM_DB} && { ${has('dnf')} || ${has('yum')}; }`, sections: dnfSections },
  { tool: 'pacman', probe: `[ -d /var/lib/pacman/local ] && ${has('pacman')}`, sections: pacmanSections },
  { tool: 'apk', probe: `[ -f /lib/apk/db/installed ] && ${has('apk')}`, sections: apkSections },
];

/** Which plan serves a package manager (dnf's sections pick dnf or yum on the host). */
function planToolFor(pm: PackageManager): PosixTool | 'windows-update' {
  if (pm === 'yum') return 'dnf';
  return pm;
}

function collectSection(lines: string): ScriptSection {
  return { name: 'collect', command: lines };
}

/**
 * Builds the script the admin runs on the unreachable host. It only reads, unless the admin asks
 * for a metadata refresh inside it (`PATCHDECK_REFRESH=1`), exactly like an online audit with
 * "refresh".
 */
export function buildCollectScript(os: CollectScriptOs, nonce: string = newNonce()): string {
  if (!/^[0-9a-f]{16,32}$/.test(nonce)) throw new Error('bad nonce');
  return os === 'windows' ? buildWindowsCollectScript(nonce) : buildPosixCollectScript(nonce);
}

function buildPosixCollectScript(nonce: string): string {
  const probe = POSIX_PLANS.map(
    (plan, i) => `${i === 0 ? 'if' : 'elif'} ${plan.probe}; then pd_collect_pm=${plan.tool}`,
  ).join('\n');
  const branches = POSIX_PLANS.flatMap((plan) =>
    [false, true].map(
      (refresh) => `${plan.tool}:${refresh ? 1 : 0})\n${buildSectionScript(plan.sections(refresh), nonce)};;`,
    ),
  ).join('\n');
  const detect = buildSectionScript(
    [
      ...posixDetectSections(),
      collectSection(`printf 'pm=%s\\nrefresh=%s\\n' "$pd_collect_pm" "$pd_refresh"`),
    ],
    nonce,
  );
  return `#!/bin/sh
# Patchdeck offline collection, format v${COLLECT_FORMAT_VERSION} (Linux, macOS and other POSIX hosts).
#
# It only reads: the OS release, then the pending updates as the host's own package manager sees
# them (apt, dnf/yum, zypper, pacman, apk or softwareupdate), against the metadata already cached.
# Run it as root on dnf/yum hosts (their cache is root's); elsewhere any user will do:
#
#     sh patchdeck-collect.sh > "patchdeck-$(uname -n).txt"
#
# PATCHDECK_REFRESH=1 sh patchdeck-collect.sh > ...  refreshes the package metadata first (as root;
# this writes the package manager's caches, nothing else). Then, on the Patchdeck machine:
#
#     patchdeck import patchdeck-<host>.txt
#
# Do not edit the output: Patchdeck refuses files whose frame markers do not match this script.
pd_refresh=0
if [ "\${PATCHDECK_REFRESH:-0}" = 1 ]; then pd_refresh=1; fi
pd_err=$(mktemp "\${TMPDIR:-/tmp}/patchdeck-collect.XXXXXX" 2>/dev/null) || pd_err=
trap 'if [ -n "$pd_err" ]; then rm -f "$pd_err"; fi' EXIT
trap 'exit 130' INT TERM
pd_host=$(uname -n 2>/dev/null | tr -cd 'A-Za-z0-9._-' | cut -c1-253)
printf '%s\\n' "${HEADER} v${COLLECT_FORMAT_VERSION} ${nonce} linux $(date +%s) \${pd_host:-unknown}"
pd_collect() {
pd_collect_pm=none
${probe}
fi
${detect}case "$pd_collect_pm:$pd_refresh" in
${branches}
*) ;;
esac
}
if [ -n "$pd_err" ]; then pd_collect 2>"$pd_err"; else pd_collect 2>/dev/null; fi
printf '\\n%s\\n' '${STDERR_MARK} ${nonce}'
if [ -n "$pd_err" ]; then cat "$pd_err"; fi
printf '\\n%s\\n' "${END_MARK} ${nonce} $(date +%s)"
`;
}

/** The detection script's PowerShell text, taken back out of the encoded command the SSH path sends. */
function windowsDetectPowerShell(): string {
  const encoded = buildWindowsDetectCommand().split(' ').pop() ?? '';
  return Buffer.from(encoded, 'base64').toString('utf16le');
}

function buildWindowsCollectScript(nonce: string): string {
  const mark = `${MARKER}:${nonce}`;
  return `# Patchdeck offline collection, format v${COLLECT_FORMAT_VERSION} (Windows).
#
# It only reads: the Windows version, then the pending updates as the Windows Update Agent sees
# them in its cached catalogue. Run it in an elevated PowerShell (the agent refuses some searches
# from non-administrators):
#
#     powershell -NoProfile -ExecutionPolicy Bypass -File patchdeck-collect.ps1 > patchdeck-collect.txt
#
# $env:PATCHDECK_REFRESH='1' first makes the agent search online (Microsoft Update or WSUS).
# Then, on the Patchdeck machine:  patchdeck import patchdeck-collect.txt
# Do not edit the output: Patchdeck refuses files whose frame markers do not match this script.
$ErrorActionPreference = 'Continue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch {}
$pdRefresh = if ($env:PATCHDECK_REFRESH -eq '1') { 1 } else { 0 }
$pdErr = New-Object System.Collections.Generic.List[string]
$pdHost = try { [System.Net.Dns]::GetHostName() } catch { $env:COMPUTERNAME }
$pdHost = ([string]$pdHost) -replace '[^A-Za-z0-9._-]', ''
if ($pdHost -eq '') { $pdHost = 'unknown' }
function Invoke-PdSection([string]$Name, [scriptblock]$Body) {
  $code = 0
  '${mark}:begin:' + $Name
  $pdErr.Add('${mark}:begin:' + $Name)
  try { & $Body | ForEach-Object { [string]$_ } } catch { $code = 1; $pdErr.Add([string]$_) }
  '${mark}:end:' + $Name + ':' + $code
  $pdErr.Add('${mark}:end:' + $Name + ':' + $code)
}
'${HEADER} v${COLLECT_FORMAT_VERSION} ${nonce} windows ' + [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + ' ' + $pdHost
Invoke-PdSection 'collect' { 'pm=windows-update'; 'refresh=' + $pdRefresh }
Invoke-PdSection 'os' {
${windowsDetectPowerShell()}
}
if ($pdRefresh -eq 1) {
Invoke-PdSection 'wua' {
${buildWindowsUpdateScript(true)}
}
} else {
Invoke-PdSection 'wua' {
${buildWindowsUpdateScript(false)}
}
}
'${STDERR_MARK} ${nonce}'
$pdErr
'${END_MARK} ${nonce} ' + [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
`;
}

// ---------------------------------------------------------------------------------------------
// Reading the output back

export interface CollectedOutput {
  formatVersion: number;
  scriptOs: CollectScriptOs;
  /** The host's own name for itself, as the script printed it (validated). */
  hostname: string;
  /** When the script started and finished, by the host's clock (ISO-8601 UTC). */
  collectedAt: string;
  finishedAt: string;
  /** Whether the admin asked the script to refresh package metadata first. */
  refreshed: boolean;
  os: OsInfo;
  result: CollectorResult;
}

/**
 * Decodes a collection file's bytes: UTF-8 (with or without BOM), or UTF-16LE with BOM (what
 * Windows PowerShell 5.1's `>` writes). Invalid encodings are refused, not repaired.
 */
export function decodeCollectedBytes(bytes: Uint8Array): string {
  if (bytes.length > MAX_COLLECTED_BYTES) throw tooLarge(bytes.length);
  if (bytes.length === 0) throw new CollectedOutputError('The file is empty.');
  try {
    if (bytes[0] === 0xff && bytes[1] === 0xfe)
      return new TextDecoder('utf-16le', { fatal: true }).decode(bytes.subarray(2));
    if (bytes[0] === 0xfe && bytes[1] === 0xff)
      return new TextDecoder('utf-16be', { fatal: true }).decode(bytes.subarray(2));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new CollectedOutputError(
      'The file is not valid UTF-8 (or UTF-16 with a byte-order mark); it is not an untouched Patchdeck collection.',
    );
  }
}

function tooLarge(size: number): CollectedOutputError {
  return new CollectedOutputError(
    `The file is ${(size / 1024 / 1024).toFixed(1)} MiB; a Patchdeck collection is at most ${MAX_COLLECTED_BYTES / 1024 / 1024} MiB.`,
  );
}

const FORBIDDEN_CHAR =
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function lineNumberAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

interface Frame {
  sections: Map<string, SectionOutput>;
}

interface ParsedHeader {
  version: number;
  nonce: string;
  os: CollectScriptOs;
  startedEpoch: number;
  hostname: string;
}

function parseHeader(line: string): ParsedHeader {
  if (!line.startsWith(`${HEADER} `)) {
    throw new CollectedOutputError(
      `This is not a Patchdeck collection: the first line must start with "${HEADER}" (run the script from "patchdeck collect-script" and import its output unchanged).`,
    );
  }
  const version = /^@@PATCHDECK-COLLECT v(\d{1,4})(?: |$)/.exec(line);
  if (!version) throw new CollectedOutputError('The collection header has no format version.');
  if (Number(version[1]) !== COLLECT_FORMAT_VERSION) {
    throw new CollectedOutputError(
      `The collection is format v${version[1]}; this Patchdeck reads v${COLLECT_FORMAT_VERSION} (use the script this Patchdeck prints).`,
    );
  }
  const match = /^@@PATCHDECK-COLLECT v1 ([0-9a-f]{16,32}) (linux|windows) (\d{1,12}) (\S{1,253})$/.exec(
    line,
  );
  if (!match)
    throw new CollectedOutputError(
      'The collection header is malformed (expected: version, nonce, os, time, hostname).',
    );
  const hostname = match[4]!;
  if (!HOSTNAME.test(hostname))
    throw new CollectedOutputError('The collection header names no valid hostname.');
  return {
    version: 1,
    nonce: match[1]!,
    os: match[2] as CollectScriptOs,
    startedEpoch: Number(match[3]),
    hostname,
  };
}

/**
 * Checks one stream's frame: every marker carries our nonce, each section begins and ends before
 * the next begins, names are known and appear once, and (on stdout) nothing stands between sections.
 */
function checkFrame(
  lines: readonly string[],
  firstLineNumber: number,
  nonce: string,
  allowed: ReadonlySet<string>,
  stream: 'stdout' | 'stderr',
): void {
  const begin = `${MARKER}:${nonce}:begin:`;
  const end = `${MARKER}:${nonce}:end:`;
  const seen = new Set<string>();
  let open: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `line ${firstLineNumber + i}`;
    if (!line.startsWith(MARKER)) {
      if (open === null && stream === 'stdout' && line.trim() !== '') {
        throw new CollectedOutputError(
          `Unexpected text outside any section at ${where}; the file was edited or is not one collection.`,
        );
      }
      continue;
    }
    if (line.startsWith(begin)) {
      const name = line.slice(begin.length);
      if (open !== null)
        throw new CollectedOutputError(
          `Section "${open}" never ended (${where} begins another); the file was cut or edited.`,
        );
      if (!allowed.has(name))
        throw new CollectedOutputError(`Unknown section "${name.slice(0, 40)}" at ${where}.`);
      if (seen.has(name))
        throw new CollectedOutputError(
          `Section "${name}" appears twice (${where}); the file was edited or joins two collections.`,
        );
      seen.add(name);
      open = name;
      continue;
    }
    if (line.startsWith(end)) {
      const rest = line.slice(end.length);
      const colon = rest.lastIndexOf(':');
      if (open === null || rest.slice(0, colon) !== open || !/^\d{1,3}$/.test(rest.slice(colon + 1))) {
        throw new CollectedOutputError(`Malformed or misplaced end-of-section marker at ${where}.`);
      }
      open = null;
      continue;
    }
    throw new CollectedOutputError(
      `A section marker at ${where} does not carry this collection's nonce: forged, edited or from another collection.`,
    );
  }
  if (open !== null) throw new CollectedOutputError(`Section "${open}" never ended; the file was cut short.`);
}

function splitFrame(
  text: string,
  header: ParsedHeader,
  allowed: ReadonlySet<string>,
): Frame & { finishedEpoch: number } {
  const all = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  let last = all.length - 1;
  while (last > 0 && all[last]!.trim() === '') last--;
  const endLine = all[last]!;
  const endMatch = new RegExp(`^${END_MARK} ${header.nonce} (\\d{1,12})$`).exec(endLine);
  if (!endMatch) {
    throw new CollectedOutputError(
      endLine.startsWith(END_MARK)
        ? 'The collection ends with a marker for another nonce; the file was edited or joins two collections.'
        : 'The collection is incomplete: its end marker is missing (the script was interrupted or the file was cut short).',
    );
  }
  const stderrMark = `${STDERR_MARK} ${header.nonce}`;
  const stderrAt = all.indexOf(stderrMark);
  if (stderrAt < 0 || stderrAt > last)
    throw new CollectedOutputError('The collection has no stderr part; the file was cut or edited.');
  const stdoutLines = all.slice(1, stderrAt);
  const stderrLines = all.slice(stderrAt + 1, last);
  for (const [offset, lines] of [
    [1, stdoutLines],
    [stderrAt + 1, stderrLines],
  ] as const) {
    const bad = lines.findIndex((l) => l.startsWith(HEADER) || l.startsWith(STDERR_MARK));
    if (bad >= 0)
      throw new CollectedOutputError(
        `A second collection header or stderr marker at line ${offset + bad + 1}; import one collection per file.`,
      );
  }
  checkFrame(stdoutLines, 2, header.nonce, allowed, 'stdout');
  checkFrame(stderrLines, stderrAt + 2, header.nonce, allowed, 'stderr');
  return {
    sections: splitSections(stdoutLines.join('\n'), stderrLines.join('\n'), header.nonce),
    finishedEpoch: Number(endMatch[1]),
  };
}

function toIso(epoch: number, what: string): string {
  const ms = epoch * 1000;
  if (ms < Date.UTC(2000, 0, 1))
    throw new CollectedOutputError(`The ${what} time (${epoch}) is before 2000; check the host's clock.`);
  if (ms > Date.now() + 24 * 3600 * 1000)
    throw new CollectedOutputError(
      `The ${what} time (${new Date(ms).toISOString()}) is in the future; check the host's clock.`,
    );
  return new Date(ms).toISOString();
}

function parseCollectSection(section: SectionOutput | undefined): { pm: string; refresh: boolean } {
  const text = section?.stdout ?? '';
  const pm = /^pm=([a-z-]{1,20})$/m.exec(text)?.[1];
  const refresh = /^refresh=([01])$/m.exec(text)?.[1];
  if (pm === undefined || refresh === undefined)
    throw new CollectedOutputError('The collection does not say which package manager it ran.');
  return { pm, refresh: refresh === '1' };
}

/** Re-frames recorded sections for a collector's own script: its nonce, its sections, in order. */
function frame(nonce: string, name: string, body: string, code: number | null): string {
  const begin = `\n${MARKER}:${nonce}:begin:${name}\n${body}\n`;
  return code === null ? begin : `${begin}\n${MARKER}:${nonce}:end:${name}:${code}\n`;
}

/**
 * A RemoteExec that answers a collector's one round-trip with what the script recorded on the
 * host, framed with the nonce the collector chose. Anything else it is asked is a bug.
 */
function replayPosix(sections: Map<string, SectionOutput>, names: readonly string[]): RemoteExec {
  let asked = false;
  return {
    run(command) {
      const nonce = /@@PATCHDECK:([0-9a-f]{8,32}):begin:/.exec(command)?.[1];
      if (asked || nonce === undefined)
        return Promise.reject(
          new Error('offline replay: the collector asked for a second or unframed command'),
        );
      asked = true;
      let stdout = '';
      let stderr = '';
      let code: number | null = 0;
      for (const name of names) {
        const section = sections.get(name);
        if (!section) continue;
        stdout += frame(nonce, name, section.stdout, section.code);
        stderr += frame(nonce, name, section.stderr, section.code);
        code = section.code;
      }
      return Promise.resolve({ stdout, stderr, code });
    },
  };
}

function replayOnce(output: SectionOutput): RemoteExec {
  let asked = false;
  return {
    run() {
      if (asked) return Promise.reject(new Error('offline replay: the collector asked for a second command'));
      asked = true;
      return Promise.resolve({ stdout: output.stdout, stderr: output.stderr, code: output.code });
    },
  };
}

const POSIX_DETECT_NAMES = posixDetectSections().map((s) => s.name);
const POSIX_ALLOWED = new Set<string>([
  'collect',
  ...POSIX_DETECT_NAMES,
  ...POSIX_PLANS.flatMap((p) => p.sections(true).map((s) => s.name)),
]);
const WINDOWS_ALLOWED = new Set<string>(['collect', 'os', 'wua']);

function requireSections(sections: Map<string, SectionOutput>, names: readonly string[]): void {
  const missing = names.filter((n) => !sections.has(n));
  if (missing.length > 0)
    throw new CollectedOutputError(
      `The collection is missing section${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the script was cut short or the file edited.`,
    );
}

function osLabel(os: OsInfo): string {
  return os.prettyName || os.name || os.id;
}

/**
 * Reads a collection (text already decoded; see decodeCollectedBytes) into the OS and the
 * collector result, through the same parsers the SSH audit uses. Throws CollectedOutputError for a
 * malformed or tampered file, CollectorError when the host's package manager itself failed.
 */
export async function parseCollectedOutput(input: string): Promise<CollectedOutput> {
  if (input.length > MAX_COLLECTED_BYTES || Buffer.byteLength(input, 'utf8') > MAX_COLLECTED_BYTES)
    throw tooLarge(Buffer.byteLength(input, 'utf8'));
  const text = (input.startsWith('\uFEFF') ? input.slice(1) : input).replace(/^(?:[ \t]*\r?\n)+/, '');
  if (text.trim() === '') throw new CollectedOutputError('The file is empty.');
  const forbidden = FORBIDDEN_CHAR.exec(text);
  if (forbidden) {
    const code = forbidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new CollectedOutputError(
      `The file holds a control or invalid character (U+${code}) at line ${lineNumberAt(text, forbidden.index)}; it is binary, corrupted or edited.`,
    );
  }
  const firstBreak = text.indexOf('\n');
  const headerLine = (firstBreak < 0 ? text : text.slice(0, firstBreak)).replace(/\r$/, '');
  if (headerLine.length > 512)
    throw new CollectedOutputError(
      'This is not a Patchdeck collection: its first line is not a collection header.',
    );
  const header = parseHeader(headerLine);
  const collectedAt = toIso(header.startedEpoch, 'collection');
  const { sections, finishedEpoch } = splitFrame(
    text,
    header,
    header.os === 'windows' ? WINDOWS_ALLOWED : POSIX_ALLOWED,
  );
  const finishedAt = toIso(Math.max(finishedEpoch, header.startedEpoch), 'finishing');
  const base = {
    formatVersion: header.version,
    scriptOs: header.os,
    hostname: header.hostname,
    collectedAt,
    finishedAt,
  };

  if (header.os === 'windows') {
    requireSections(sections, ['collect', 'os', 'wua']);
    const { pm, refresh } = parseCollectSection(sections.get('collect'));
    if (pm !== 'windows-update')
      throw new CollectedOutputError('The Windows collection names an unexpected package manager.');
    const os = parseWindowsOs(sections.get('os')!.stdout);
    if (os === null)
      throw new CollectedOutputError(
        'The Windows collection has no readable OS section (the version query failed on the host).',
      );
    // A replay cannot run the SYSTEM-task fallback: a denied search in the file stays refused.
    const result = await collectWindows(replayOnce(sections.get('wua')!), { refresh, systemTask: false });
    return { ...base, refreshed: refresh, os, result };
  }

  requireSections(sections, ['collect', ...POSIX_DETECT_NAMES]);
  refuseOverlongDetection(sections, (message) => new CollectedOutputError(message));
  const { pm: ranText, refresh } = parseCollectSection(sections.get('collect'));
  const swText = sections.get('sw-vers')!.stdout;
  const os = osInfoFromPosix(
    parseOsRelease(sections.get('os-release')!.stdout),
    parseUname(sections.get('uname')!.stdout),
    swText.trim() === '' ? null : parseSwVers(swText),
  );
  const ran = POSIX_PLANS.find((p) => p.tool === ranText);
  if (ranText !== 'none' && !ran)
    throw new CollectedOutputError('The collection names an unknown package manager.');
  let packageManager: PackageManager;
  const warnings: string[] = [];
  try {
    packageManager = packageManagerFor(os);
  } catch (error) {
    // An OS we do not know by name, but the script found its package database: trust that.
    if (!ran || !(error instanceof CollectorError)) throw error;
    packageManager = ran.tool;
    warnings.push(
      `${osLabel(os)} is not a known ${ran.tool} system; read its updates with ${ran.tool} because that is the package database the host has`,
    );
  }
  if (!ran)
    throw new CollectorError(
      'unsupported-os',
      `The script found no supported package manager on ${header.hostname} (${osLabel(os)}).`,
    );
  if (planToolFor(packageManager) !== ran.tool) {
    throw new CollectedOutputError(
      `${osLabel(os)} uses ${packageManager}, but the script found and ran ${ran.tool}; Patchdeck cannot vouch for that answer.`,
    );
  }
  const planned = ran.sections(refresh);
  const names = planned.map((s) => s.name);
  requireSections(
    sections,
    planned.filter((s) => !s.optional).map((s) => s.name),
  );
  const result = await collectorFor(packageManager).collect(replayPosix(sections, names), { refresh });
  return {
    ...base,
    refreshed: refresh,
    os,
    result: { ...result, warnings: [...warnings, ...result.warnings] },
  };
}
