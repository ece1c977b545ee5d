/**
 * OS detection: one POSIX round-trip reads /etc/os-release, `uname -srm` and (on macOS)
 * `sw_vers`; when the far side is Windows (OpenSSH with cmd.exe or PowerShell as its shell) the
 * POSIX script fails recognisably and a second, PowerShell round-trip asks Windows itself.
 */
import { sanitizeText } from '../util';
import {
  buildSectionScript,
  cleanField,
  countOverlongLines,
  lines,
  MAX_LINE,
  runRecorded,
  runSectionScript,
  type ScriptSection,
  type SectionOutput,
} from './util';
import { CollectorError, type CommandRecord, type OsInfo, type RemoteExec } from './types';

export type OsRelease = Record<string, string>;

/** Parses os-release(5): KEY=value lines, values optionally quoted with shell-like escapes. */
export function parseOsRelease(text: string): OsRelease {
  const result: OsRelease = {};
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(key)) continue;
    let value = line.slice(eq + 1);
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\([$"\\`])/g, '$1');
    }
    result[key] = cleanField(value, 256);
  }
  return result;
}

export interface SwVers {
  productName: string | null;
  productVersion: string | null;
  productVersionExtra: string | null;
  buildVersion: string | null;
}

/** Parses `sw_vers` output ("ProductName:\tmacOS" lines; old releases say "Mac OS X"). */
export function parseSwVers(text: string): SwVers {
  const values: Record<string, string> = {};
  for (const line of lines(text)) {
    // "Key:<spaces>value": split at the first colon, no backtracking regex on the host's line.
    const trimmed = line.trimStart();
    const colon = trimmed.indexOf(':');
    if (colon <= 0 || colon > 64 || !/^[A-Za-z]+$/.test(trimmed.slice(0, colon))) continue;
    values[trimmed.slice(0, colon)] = cleanField(trimmed.slice(colon + 1), 128);
  }
  return {
    productName: values.ProductName ?? null,
    productVersion: values.ProductVersion ?? null,
    productVersionExtra: values.ProductVersionExtra ?? null,
    buildVersion: values.BuildVersion ?? null,
  };
}

export interface Uname {
  kernelName: string;
  kernelRelease: string | null;
  machine: string | null;
}

/** Parses `uname -srm` ("Linux 6.1.0-18-amd64 x86_64"). */
export function parseUname(text: string): Uname | null {
  const first = lines(text).find((l) => l.trim() !== '');
  if (first === undefined) return null;
  const parts = first.trim().split(/\s+/);
  if (parts.length === 0 || !/^[A-Za-z][A-Za-z0-9_/-]{0,63}$/.test(parts[0]!)) return null;
  const clean = (s: string | undefined): string | null => (s === undefined ? null : cleanField(s, 128));
  return {
    kernelName: parts[0]!,
    kernelRelease: clean(parts.length >= 3 ? parts.slice(1, -1).join(' ') : parts[1]),
    machine: clean(parts.length >= 3 ? parts[parts.length - 1] : undefined),
  };
}

/** What the Windows detection script prints (one JSON object). */
export interface WindowsOsJson {
  Caption?: string;
  Version?: string;
  BuildNumber?: string;
  OSArchitecture?: string;
  DisplayVersion?: string;
  UBR?: number | string;
  /** The computer name (Win32_OperatingSystem.CSName). */
  CSName?: string;
}

/** Parses the JSON our Windows detection prints (Win32_OperatingSystem fields). */
export function parseWindowsOs(text: string): OsInfo | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  let data: WindowsOsJson;
  try {
    data = JSON.parse(text.slice(start, end + 1)) as WindowsOsJson;
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const str = (v: unknown): string | null =>
    typeof v === 'string' && v.trim() !== '' ? cleanField(v, 128) : null;
  const caption = str(data.Caption) ?? 'Windows';
  const version = str(data.Version);
  const ubr = typeof data.UBR === 'number' || typeof data.UBR === 'string' ? String(data.UBR) : null;
  const display = str(data.DisplayVersion);
  const archText = str(data.OSArchitecture);
  return {
    family: 'windows',
    id: 'windows',
    versionId: version,
    name: caption.replace(/^Microsoft\s+/, ''),
    prettyName: [caption, display].filter(Boolean).join(' '),
    kernel: version !== null && ubr !== null && /^\d+$/.test(ubr) ? `${version}.${ubr}` : version,
    arch: archText === null ? null : normalizeWindowsArch(archText),
    idLike: [],
    hostname: str(data.CSName),
  };
}

function normalizeWindowsArch(text: string): string {
  if (/arm\s*64/i.test(text)) return 'arm64';
  if (/64/.test(text)) return 'x86_64';
  if (/32/.test(text)) return 'x86';
  return text;
}

/** Builds OsInfo from the three POSIX pieces; pure. */
export function osInfoFromPosix(osRelease: OsRelease, uname: Uname | null, swVers: SwVers | null): OsInfo {
  const kernelName = uname?.kernelName ?? '';
  const kernel = uname?.kernelRelease ?? null;
  const arch = uname?.machine ?? null;
  if (kernelName === 'Darwin' || (swVers?.productVersion ?? null) !== null) {
    const productName = swVers?.productName ?? 'macOS';
    const version = swVers?.productVersion ?? null;
    return {
      family: 'macos',
      id: 'macos',
      versionId: version,
      name: productName,
      prettyName: [
        productName,
        version,
        swVers?.productVersionExtra ?? null,
        swVers?.buildVersion ? `(${swVers.buildVersion})` : null,
      ]
        .filter(Boolean)
        .join(' '),
      kernel,
      arch,
      idLike: [],
    };
  }
  const bsd = /BSD$|^DragonFly$/i.test(kernelName);
  const id = (osRelease.ID ?? (kernelName !== '' ? kernelName : 'unknown')).toLowerCase();
  const name = osRelease.NAME ?? (kernelName !== '' ? kernelName : 'Unknown');
  const versionId = osRelease.VERSION_ID ?? null;
  return {
    family: bsd ? 'bsd' : kernelName === 'Linux' || osRelease.ID !== undefined ? 'linux' : 'unknown',
    id: sanitizeText(id, { maxLength: 64 }),
    versionId,
    name,
    prettyName: osRelease.PRETTY_NAME ?? [name, versionId].filter(Boolean).join(' '),
    kernel,
    arch,
    idLike: (osRelease.ID_LIKE ?? '')
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => /^[a-z0-9._-]{1,64}$/.test(w)),
  };
}

export function posixDetectSections(): ScriptSection[] {
  return [
    {
      name: 'os-release',
      command:
        'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null || cat /var/run/os-release',
    },
    { name: 'uname', command: 'uname -srm' },
    { name: 'sw-vers', command: 'if command -v sw_vers >/dev/null 2>&1; then sw_vers; fi' },
  ];
}

/**
 * The detection sections are a few short lines on every real host; one longer than MAX_LINE
 * would be dropped unread and the OS guessed from the rest, so it is refused instead.
 */
export function refuseOverlongDetection(
  sections: ReadonlyMap<string, SectionOutput>,
  refuse: (message: string) => Error,
): void {
  for (const { name } of posixDetectSections()) {
    const section = sections.get(name);
    if (section && countOverlongLines(section.stdout) > 0)
      throw refuse(
        `The ${name} output holds a line longer than ${MAX_LINE / 1024} KiB, which no real host prints; Patchdeck does not guess the operating system from it.`,
      );
  }
}

/** The POSIX detection command (one round-trip). */
export function buildPosixDetectScript(nonce: string): string {
  return buildSectionScript(posixDetectSections(), nonce);
}

const WINDOWS_DETECT_PS = [
  "$ErrorActionPreference='Stop'",
  '$o=Get-CimInstance -ClassName Win32_OperatingSystem',
  "$k=Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' -ErrorAction SilentlyContinue",
  '[pscustomobject]@{Caption=$o.Caption;Version=$o.Version;BuildNumber=$o.BuildNumber;OSArchitecture=$o.OSArchitecture;DisplayVersion=$k.DisplayVersion;UBR=$k.UBR;CSName=$o.CSName} | ConvertTo-Json -Compress',
].join('; ');

/**
 * Wraps a PowerShell script so that it runs the same whether the OpenSSH default shell is cmd.exe
 * or PowerShell: -EncodedCommand is base64 of UTF-16LE, so no shell quoting is involved at all.
 */
export function powershellEncodedCommand(script: string): string {
  const encoded = Buffer.from(script, 'utf16le').toString('base64');
  return `powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${encoded}`;
}

export function buildWindowsDetectCommand(): string {
  return powershellEncodedCommand(WINDOWS_DETECT_PS);
}

export interface DetectOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  commands?: CommandRecord[];
}

/**
 * The host's own name, for naming it in the workspace (an SSH audit only: the offline collection
 * carries its hostname in its header). `uname -n` is POSIX, unlike `hostname`.
 */
const HOSTNAME_SECTION: ScriptSection = { name: 'hostname', command: 'uname -n' };

/** The first line of `uname -n`, or null; whether it is a usable name is the workspace's call. */
export function parseHostname(text: string): string | null {
  const end = text.indexOf('\n');
  const line = (end < 0 ? text : text.slice(0, end)).trim();
  return line === '' || line.length > 253 ? null : line;
}

/** Detects the host's OS, in one round-trip on POSIX hosts and two on Windows. */
export async function detectOs(exec: RemoteExec, options: DetectOptions = {}): Promise<OsInfo> {
  const record = options.commands ?? [];
  const runOptions = { refresh: false, sudo: false, signal: options.signal, timeoutMs: options.timeoutMs };
  const { sections, raw: posix } = await runSectionScript(
    exec,
    [...posixDetectSections(), HOSTNAME_SECTION],
    runOptions,
    record,
  );
  if (sections.size > 0) {
    refuseOverlongDetection(sections, (message) => new CollectorError('command-failed', message));
    const osRelease = parseOsRelease(sections.get('os-release')?.stdout ?? '');
    const uname = parseUname(sections.get('uname')?.stdout ?? '');
    const swText = sections.get('sw-vers')?.stdout ?? '';
    const swVers = swText.trim() === '' ? null : parseSwVers(swText);
    return {
      ...osInfoFromPosix(osRelease, uname, swVers),
      hostname: parseHostname(sections.get('hostname')?.stdout ?? ''),
    };
  }
  // No markers came back: the remote shell is not POSIX. Ask PowerShell.
  const win = await runRecorded(
    exec,
    buildWindowsDetectCommand(),
    runOptions,
    record,
    'powershell: Get-CimInstance Win32_OperatingSystem',
  );
  const info = parseWindowsOs(win.stdout);
  if (info !== null) return info;
  throw new CollectorError('unsupported-os', 'Could not tell which operating system this host runs.', {
    stderr: `${posix.stderr.slice(0, 2000)}\n${win.stderr.slice(0, 2000)}`,
    code: win.code,
  });
}
