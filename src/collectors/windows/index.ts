/**
 * The Windows collector. One PowerShell script (./script.ts) asks the Windows Update Agent (COM
 * `Microsoft.Update.Session`) for `IsInstalled=0 and IsHidden=0` and reads the OS facts, the
 * hotfix history, the pending-reboot signals and the WSUS / Group Policy settings; it prints one
 * JSON line. Over WinRM the script goes through stdin (`exec.runPowerShell`), over OpenSSH as an
 * encoded command. When Windows denies the search to the remote session (0x80070005), the same
 * script runs once more through a one-off SYSTEM task (./task.ts) that writes its output to
 * C:\ProgramData\Patchdeck\audit\<random>.json; the collector polls for it, reads it, deletes it.
 *
 * The scripts have never run on Windows (none here): see ./script.ts and ./task.ts.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseWindowsOs, powershellEncodedCommand } from '../os';
import { cleanField, cleanStderr, normalizeSeverity, runRecorded } from '../util';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type OsInfo,
  type PendingUpdate,
  type RemoteExec,
  type RemoteExecResult,
} from '../types';
import { normalizeHresult, wuaErrorMeaning } from './errors';
import { buildWindowsUpdateScript, WUA_MARK } from './script';
import { buildSystemTaskScript, TASK_FOLDER, TASK_ROOT, TASK_STARTED_MARK } from './task';

export { buildWindowsUpdateScript } from './script';
export { wuaErrorMeaning, normalizeHresult, KNOWN_WUA_ERRORS, type WuaErrorMeaning } from './errors';
export {
  buildSystemTaskScript,
  taskBodyOf,
  taskFolders,
  TASK_ROOT,
  TASK_FOLDER,
  TASK_STARTED_MARK,
  type SystemTaskSpec,
} from './task';

/** cmd.exe's longest command line: OpenSSH's default shell on Windows runs commands through it. */
export const CMD_LINE_LIMIT = 8191;

/** The script as OpenSSH sends it: comment lines and indentation dropped, to stay under cmd.exe's line. */
function compact(script: string): string {
  return script
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.trim())
    .join('\n');
}

export function buildWindowsUpdateCommand(online: boolean): string {
  return powershellEncodedCommand(compact(buildWindowsUpdateScript(online)));
}

// ---------------------------------------------------------------------------------------------
// Parsing (untrusted: bounded, every field checked)

const MAX_UPDATES = 2000;
const MAX_HOTFIXES = 300;

interface WuaUpdateJson {
  title?: unknown;
  kb?: unknown;
  severity?: unknown;
  categories?: unknown;
  cves?: unknown;
  bulletins?: unknown;
  rebootBehavior?: unknown;
  updateId?: unknown;
  revision?: unknown;
  type?: unknown;
  size?: unknown;
  released?: unknown;
}

/** IUpdate.InstallationBehavior.RebootBehavior: 0 never, 1 always, 2 can request. */
export type RebootBehavior = 'never' | 'always' | 'can-request';

/** What a Windows finding keeps beyond the common finding fields (stored as the finding's details). */
export interface WindowsUpdateDetails {
  /** IUpdateIdentity.UpdateID (a GUID, lower case): what the install task is given, exactly. */
  updateId: string | null;
  revision: number | null;
  sizeBytes: number | null;
  /** LastDeploymentChangeTime, ISO-8601. */
  releasedAt: string | null;
  rebootBehavior: RebootBehavior | null;
  categories: string[];
  updateType: 'software' | 'driver' | null;
}

export interface WindowsHotfix {
  id: string;
  description: string | null;
  /** YYYY-MM-DD when Windows gave a readable date. */
  installedOn: string | null;
}

export interface WindowsUpdatePolicy {
  /** WUServer, when Group Policy names one. */
  server: string | null;
  /** AU\UseWUServer = 1: the PC takes its updates from `server` (WSUS). */
  useWUServer: boolean;
  /** AU\NoAutoUpdate = 1: Automatic Updates switched off. */
  noAutoUpdate: boolean;
  /** AU\AUOptions (2 notify, 3 download, 4 scheduled install, 5 local admin, 7 notify install). */
  auOptions: number | null;
}

/** The per-audit Windows facts (stored with the audit). */
export interface WindowsFacts {
  caption: string | null;
  productName: string | null;
  displayVersion: string | null;
  version: string | null;
  build: string | null;
  ubr: number | null;
  arch: string | null;
  computerName: string | null;
  policy: WindowsUpdatePolicy | null;
  hotfixes: WindowsHotfix[];
  /** Who searched: the remote session itself or the one-off SYSTEM task. */
  searchedBy: 'session' | 'system-task';
}

export interface WuaJson {
  ok: boolean;
  error: string | null;
  hresult: string | null;
  rebootRequired: boolean | null;
  rebootReasons: string[];
  lastSearch: number | null;
  now: number | null;
  updates: WuaUpdateJson[];
  os: Omit<WindowsFacts, 'policy' | 'hotfixes' | 'searchedBy'> | null;
  policy: WindowsUpdatePolicy | null;
  hotfixes: WindowsHotfix[];
}

export interface WindowsPendingUpdate extends PendingUpdate {
  details: WindowsUpdateDetails;
}

export interface WindowsCollectorResult extends CollectorResult {
  updates: WindowsPendingUpdate[];
  windows: WindowsFacts;
  /** The OS as the script reported it (null when it could not tell): WinRM audits skip detectOs. */
  os: OsInfo | null;
}

export function isWindowsResult(result: CollectorResult): result is WindowsCollectorResult {
  return 'windows' in result && typeof (result as { windows?: unknown }).windows === 'object';
}

const asArray = (v: unknown, max: number): unknown[] =>
  Array.isArray(v) ? v.slice(0, max) : v === undefined || v === null ? [] : [v];

const strings = (v: unknown, re: RegExp, max = 50): string[] =>
  asArray(v, max).filter((x): x is string => typeof x === 'string' && x.length <= 200 && re.test(x));

const text = (v: unknown, max: number): string | null =>
  typeof v === 'string' && v.trim() !== '' ? cleanField(v, max) : null;

const int = (v: unknown, min: number, max: number): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,15}$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n >= min && n <= max ? Math.trunc(n) : null;
};

const isoOf = (unix: number | null): string | null =>
  unix === null ? null : new Date(unix * 1000).toISOString().replace('.000Z', 'Z');

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Win32_QuickFixEngineering.InstalledOn: "M/D/YYYY", ISO, or a FILETIME in hex on old systems. */
export function parseInstalledOn(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 40) return null;
  const v = value.trim();
  let y: number, m: number, d: number;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})/.exec(v);
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
  if (us) [m, d, y] = [Number(us[1]), Number(us[2]), Number(us[3])];
  else if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (/^[0-9a-f]{15,16}$/i.test(v)) {
    // 100 ns ticks since 1601-01-01.
    const ms = Number(BigInt(`0x${v}`) / 10000n) - 11644473600000;
    const at = new Date(ms);
    return Number.isFinite(ms) && at.getUTCFullYear() >= 1995 && at.getUTCFullYear() <= 2200
      ? at.toISOString().slice(0, 10)
      : null;
  } else return null;
  if (y < 1995 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31) return null;
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function parseOs(v: unknown): WuaJson['os'] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const build = typeof o.build === 'string' && /^\d{1,6}$/.test(o.build) ? o.build : null;
  const version =
    typeof o.version === 'string' && /^\d{1,3}(\.\d{1,6}){1,3}$/.test(o.version) ? o.version : null;
  return {
    caption: text(o.caption, 128),
    productName: text(o.productName, 128),
    displayVersion: text(o.displayVersion, 40),
    version,
    build,
    ubr: int(o.ubr, 0, 1_000_000),
    arch: text(o.arch, 40),
    computerName: text(o.computerName, 63),
  };
}

function parsePolicy(v: unknown): WindowsUpdatePolicy | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const p = v as Record<string, unknown>;
  return {
    server: text(p.server, 200),
    useWUServer: int(p.useWUServer, 0, 0xffffffff) === 1,
    noAutoUpdate: int(p.noAutoUpdate, 0, 0xffffffff) === 1,
    auOptions: int(p.auOptions, 0, 99),
  };
}

function parseHotfixes(v: unknown): WindowsHotfix[] {
  const out: WindowsHotfix[] = [];
  for (const h of asArray(v, MAX_HOTFIXES)) {
    if (typeof h !== 'object' || h === null) continue;
    const r = h as Record<string, unknown>;
    if (typeof r.id !== 'string' || !/^[A-Za-z0-9-]{1,40}$/.test(r.id.trim())) continue;
    out.push({
      id: r.id.trim().toUpperCase(),
      description: text(r.description, 80),
      installedOn: parseInstalledOn(r.installedOn),
    });
  }
  return out;
}

/**
 * The pending-restart signals the script reads (./script.ts), by the names it prints: the CBS and
 * Windows Update registry keys, PendingFileRenameOperations and a computer rename. Anything else a
 * PC prints there is dropped (the names are shown in the window, in words).
 */
export const WINDOWS_REBOOT_REASONS = [
  'WindowsUpdate RebootRequired',
  'CBS RebootPending',
  'PendingFileRenameOperations',
  'Pending computer rename',
] as const;
/** The reason the collector gives when only the agent's SystemInfo.RebootRequired says so. */
export const AGENT_REBOOT_REASON = 'Microsoft.Update.SystemInfo RebootRequired';

const KNOWN_REBOOT_REASONS = new Set<string>(WINDOWS_REBOOT_REASONS);

/** Finds our marker line and parses the JSON after it; null when absent or malformed. */
export function parseWuaOutput(stdout: string): WuaJson | null {
  const at = stdout.lastIndexOf(WUA_MARK);
  if (at < 0) return null;
  const end = stdout.indexOf('\n', at);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(stdout.slice(at + WUA_MARK.length, end < 0 ? undefined : end)) as Record<
      string,
      unknown
    >;
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  return {
    ok: data.ok !== false,
    error: typeof data.error === 'string' ? cleanField(data.error, 500) : null,
    hresult: normalizeHresult(data.hresult),
    rebootRequired: typeof data.rebootRequired === 'boolean' ? data.rebootRequired : null,
    rebootReasons: [
      ...new Set(
        strings(data.rebootReasons, /^[A-Za-z ]{1,60}$/, 10).filter((r) => KNOWN_REBOOT_REASONS.has(r)),
      ),
    ],
    lastSearch: int(data.lastSearch, 0, 1e11),
    now: int(data.now, 0, 1e11),
    updates: asArray(data.updates, MAX_UPDATES).filter(
      (u): u is WuaUpdateJson => typeof u === 'object' && u !== null && !Array.isArray(u),
    ),
    os: parseOs(data.os),
    policy: parsePolicy(data.wsus),
    hotfixes: parseHotfixes(data.hotfixes),
  };
}

const REBOOT_BEHAVIOR: Record<number, RebootBehavior> = { 0: 'never', 1: 'always', 2: 'can-request' };

export function windowsFindings(data: WuaJson): WindowsPendingUpdate[] {
  const findings: WindowsPendingUpdate[] = [];
  for (const u of data.updates) {
    const title = typeof u.title === 'string' ? cleanField(u.title, 300) : '';
    const kbs = [...new Set(strings(u.kb, /^\d{4,8}$/, 10))].map((k) => `KB${k}`);
    const categories = strings(u.categories, /^[\w .()-]{1,80}$/, 20);
    const vendorSeverity =
      typeof u.severity === 'string' && u.severity.trim() !== '' ? cleanField(u.severity, 40) : null;
    const security = categories.some((c) => /^Security Updates$/i.test(c)) || vendorSeverity !== null;
    if (title === '' && kbs.length === 0) continue;
    const rebootCode = int(u.rebootBehavior, 0, 2);
    const updateId =
      typeof u.updateId === 'string' && GUID.test(u.updateId) ? u.updateId.toLowerCase() : null;
    const typeCode = int(u.type, 1, 2);
    findings.push({
      name: kbs[0] ?? title,
      arch: null,
      installedVersion: null,
      availableVersion: title || kbs[0]!,
      repository: categories.length > 0 ? categories.join(', ') : 'Windows Update',
      security,
      severity: normalizeSeverity(vendorSeverity) ?? (security ? 'unknown' : null),
      vendorSeverity,
      advisories: [
        ...new Set([
          ...kbs,
          ...strings(u.bulletins, /^MS\d{2}-\d{3}$/),
          ...strings(u.cves, /^CVE-\d{4}-\d{4,7}$/, 500),
        ]),
      ],
      held: false,
      phased: false,
      rebootRequired: rebootCode === null ? null : rebootCode > 0,
      kind: 'kb',
      details: {
        updateId,
        revision: updateId === null ? null : int(u.revision, 0, 1_000_000_000),
        sizeBytes: int(u.size, 0, 1e13),
        releasedAt: isoOf(int(u.released, 0, 1e11)),
        rebootBehavior: rebootCode === null ? null : REBOOT_BEHAVIOR[rebootCode]!,
        categories,
        updateType: typeCode === 1 ? 'software' : typeCode === 2 ? 'driver' : null,
      },
    });
  }
  return findings;
}

const AU_OPTIONS: Record<number, string> = {
  2: 'notify before downloading',
  3: 'download automatically and notify before installing',
  4: 'download automatically and install on a schedule',
  5: 'let local administrators choose',
  7: 'download automatically, notify before installing and before restarting',
};

/** What the admin must know about how the PC is managed (shown with the audit). */
export function policyWarnings(policy: WindowsUpdatePolicy | null): string[] {
  if (policy === null) return [];
  const warnings: string[] = [];
  if (policy.useWUServer)
    warnings.push(
      policy.server
        ? `This PC takes its updates from the WSUS server ${policy.server}: approvals there decide what installs.`
        : 'This PC takes its updates from a WSUS server (Group Policy UseWUServer=1): approvals there decide what installs.',
    );
  if (policy.noAutoUpdate)
    warnings.push('Group Policy switches Automatic Updates off on this PC (NoAutoUpdate=1).');
  else if (policy.auOptions !== null)
    warnings.push(
      `Group Policy sets Automatic Updates on this PC to ${AU_OPTIONS[policy.auOptions] ?? `option ${policy.auOptions}`} (AUOptions=${policy.auOptions}).`,
    );
  return warnings;
}

/** OsInfo from the script's facts, through the same parser the detection command's JSON goes through. */
export function windowsOsOf(os: WuaJson['os']): OsInfo | null {
  if (os === null || (os.caption === null && os.productName === null && os.version === null)) return null;
  return parseWindowsOs(
    JSON.stringify({
      // ProductName says "Windows 10" on Windows 11; the CIM caption is right when present.
      Caption: os.caption ?? os.productName ?? undefined,
      Version: os.version ?? (os.build ? `10.0.${os.build}` : undefined),
      DisplayVersion: os.displayVersion ?? undefined,
      UBR: os.ubr ?? undefined,
      OSArchitecture: os.arch ?? undefined,
      CSName: os.computerName ?? undefined,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Running it

export interface WindowsCollectOptions extends CollectOptions {
  /** Run a denied search through a one-off SYSTEM task (live audits); false for replays. Default true. */
  systemTask?: boolean;
  /** How often to look for the task's output (default 5 s) and for how long (default 10 min). */
  taskPollMs?: number;
  taskTimeoutMs?: number;
}

/** Runs a PowerShell script: through stdin on WinRM, as an encoded command on OpenSSH. */
async function runScript(
  exec: RemoteExec,
  script: string,
  options: CollectOptions,
  commands: CollectorResult['commands'],
  display: string,
): Promise<RemoteExecResult> {
  const ps = exec.runPowerShell?.bind(exec);
  const via: RemoteExec = ps ? { run: (_command, o) => ps(script, o) } : exec;
  return runRecorded(
    via,
    ps ? script : powershellEncodedCommand(compact(script)),
    { ...options, sudo: false },
    commands,
    display,
  );
}

const deniedIn = (data: WuaJson | null, stderr: string): boolean =>
  data === null
    ? /0x80070005|E_ACCESSDENIED/.test(stderr.slice(0, 16384))
    : !data.ok &&
      (data.hresult === '0x80070005' || /E_ACCESSDENIED|Access is denied/i.test(data.error ?? ''));

const REFUSED_SENTENCE =
  'Windows refused the Windows Update search from this remote session (0x80070005, access denied)';

function failure(data: WuaJson, raw: RemoteExecResult, display: string, how: string): CollectorError {
  const stderr = cleanStderr(`${data.hresult ?? ''} ${data.error ?? ''}\n${raw.stderr}`);
  const meaning = wuaErrorMeaning(data.hresult);
  const details = { stderr, command: display, code: raw.code };
  if (meaning && data.hresult !== '0x80070005')
    return new CollectorError(
      'command-failed',
      `The Windows Update search ${how}failed (${data.hresult}, ${meaning.name}): ${meaning.sentence}`,
      details,
    );
  if (data.hresult === '0x80070005' || deniedIn(data, ''))
    return new CollectorError('refused', `${REFUSED_SENTENCE}${how ? `, even ${how.trim()}` : ''}.`, details);
  return new CollectorError(
    'command-failed',
    `The Windows Update search ${how}failed (${data.hresult ?? 'unknown error'}${data.error ? `: ${data.error}` : ''}).`,
    details,
  );
}

const OUTPUT_MARK = 'PATCHDECK-TASK-OUTPUT:';
const WAITING_MARK = 'PATCHDECK-TASK-WAITING';
const GONE_MARK = 'PATCHDECK-TASK-GONE';

/** The poll: prints the output file (base64) and deletes its folder, or says the task is still running or gone. */
export function buildTaskPollScript(name: string, file: string): string {
  const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  return [
    `$f=${lit(file)}`,
    `if (Test-Path -LiteralPath $f) { '${OUTPUT_MARK}' + [Convert]::ToBase64String([IO.File]::ReadAllBytes($f)); [IO.Directory]::Delete((Split-Path -LiteralPath $f), $true) }`,
    `elseif (Get-ScheduledTask -TaskName ${lit(name)} -TaskPath ${lit(TASK_FOLDER)} -EA 0) { '${WAITING_MARK}' }`,
    `else { '${GONE_MARK}' }`,
  ].join('\n');
}

/** Runs the search through a one-off SYSTEM task and waits for its output. */
async function searchThroughTask(
  exec: RemoteExec,
  options: WindowsCollectOptions,
  commands: CollectorResult['commands'],
): Promise<{ data: WuaJson; raw: RemoteExecResult; display: string }> {
  const id = randomBytes(8).toString('hex');
  const name = `Patchdeck-audit-${id}`;
  // Its own folder, created fresh by the task builder (never a shared one someone could prepare).
  const dir = `${TASK_ROOT}\\audit\\${id}`;
  const file = `${dir}\\${id}.json`;
  const registration = buildSystemTaskScript({
    name,
    script: buildWindowsUpdateScript(options.refresh),
    outputDir: dir,
    outputFile: `${id}.json`,
  });
  const display = `powershell: register one-off SYSTEM task ${TASK_FOLDER}${name} (Windows Update search)`;
  const notStarted = (why: string, raw?: RemoteExecResult): CollectorError =>
    new CollectorError('refused', `${REFUSED_SENTENCE}, and ${why}`, {
      stderr: cleanStderr(raw?.stderr ?? ''),
      command: display,
      code: raw?.code ?? null,
    });
  if (!exec.runPowerShell && powershellEncodedCommand(compact(registration)).length > CMD_LINE_LIMIT)
    throw notStarted(
      'a one-off SYSTEM task cannot be sent over OpenSSH (the script is longer than one command line): audit the PC over WinRM, or run the offline collection script on it.',
    );
  const started = await runScript(exec, registration, options, commands, display);
  if (!started.stdout.includes(`${TASK_STARTED_MARK}${name}`))
    throw notStarted('the one-off SYSTEM task Patchdeck registers to run it could not be started.', started);
  const poll = buildTaskPollScript(name, file);
  const pollDisplay = `powershell: read ${file}`;
  const deadline = Date.now() + (options.taskTimeoutMs ?? 600_000);
  for (;;) {
    await sleep(options.taskPollMs ?? 5000, undefined, options.signal ? { signal: options.signal } : {});
    const raw = await runScript(exec, poll, options, commands, pollDisplay);
    const at = raw.stdout.indexOf(OUTPUT_MARK);
    if (at >= 0) {
      const b64 = /^[A-Za-z0-9+/=]*/.exec(raw.stdout.slice(at + OUTPUT_MARK.length))![0];
      const output = Buffer.from(b64, 'base64')
        .toString('utf8')
        .replace(/^\uFEFF/, '');
      const data = parseWuaOutput(output);
      if (data === null)
        throw new CollectorError(
          'command-failed',
          'The one-off SYSTEM task ran the Windows Update search but wrote no result.',
          {
            stderr: cleanStderr(output),
            command: display,
          },
        );
      return { data, raw, display };
    }
    if (raw.stdout.includes(GONE_MARK))
      throw new CollectorError(
        'command-failed',
        'The one-off SYSTEM task that runs the Windows Update search ended without writing a result.',
        { stderr: cleanStderr(raw.stderr), command: display, code: raw.code },
      );
    if (!raw.stdout.includes(WAITING_MARK))
      throw new CollectorError(
        'command-failed',
        "Patchdeck could not read the one-off SYSTEM task's result.",
        {
          stderr: cleanStderr(raw.stderr),
          command: pollDisplay,
          code: raw.code,
        },
      );
    if (Date.now() > deadline)
      throw new CollectorError(
        'timeout',
        `The one-off SYSTEM task running the Windows Update search did not finish within ${Math.round((options.taskTimeoutMs ?? 600_000) / 60_000)} min.`,
        { command: display },
      );
  }
}

export async function collect(
  exec: RemoteExec,
  options: WindowsCollectOptions,
): Promise<WindowsCollectorResult> {
  const commands: CollectorResult['commands'] = [];
  let display = `powershell: Microsoft.Update.Session search IsInstalled=0 and IsHidden=0 (Online=${options.refresh ? 'true' : 'false'})`;
  let raw = await runScript(exec, buildWindowsUpdateScript(options.refresh), options, commands, display);
  let data = parseWuaOutput(raw.stdout);
  let searchedBy: WindowsFacts['searchedBy'] = 'session';
  const warnings: string[] = [];
  if (deniedIn(data, raw.stderr)) {
    if (options.systemTask === false) {
      throw new CollectorError(
        'refused',
        `${REFUSED_SENTENCE}. The Windows Update Agent does not serve network logons on this host; audit it over WinRM, or run the offline collection script in an elevated PowerShell on it.`,
        { stderr: cleanStderr(`${data?.error ?? ''}\n${raw.stderr}`), command: display, code: raw.code },
      );
    }
    ({ data, raw, display } = await searchThroughTask(exec, options, commands));
    searchedBy = 'system-task';
    warnings.push(
      'Windows denied the search to the remote session, so Patchdeck ran it through a one-off SYSTEM task.',
    );
  }
  if (data === null)
    throw new CollectorError('command-failed', 'The Windows Update search printed no result.', {
      stderr: cleanStderr(raw.stderr),
      command: display,
      code: raw.code,
    });
  if (!data.ok) throw failure(data, raw, display, searchedBy === 'system-task' ? 'as SYSTEM ' : '');
  const rebootRequired =
    data.rebootRequired === true || data.rebootReasons.length > 0 ? true : data.rebootRequired;
  const os = data.os;
  return {
    packageManager: 'windows-update',
    updates: windowsFindings(data),
    rebootRequired,
    rebootReasons:
      data.rebootReasons.length > 0 ? data.rebootReasons : rebootRequired ? [AGENT_REBOOT_REASON] : [],
    metadataAgeSeconds:
      data.now !== null && data.lastSearch !== null ? Math.max(0, data.now - data.lastSearch) : null,
    warnings: [...warnings, ...policyWarnings(data.policy)],
    commands,
    windows: {
      caption: os?.caption ?? null,
      productName: os?.productName ?? null,
      displayVersion: os?.displayVersion ?? null,
      version: os?.version ?? null,
      build: os?.build ?? null,
      ubr: os?.ubr ?? null,
      arch: os?.arch ?? null,
      computerName: os?.computerName ?? null,
      policy: data.policy,
      hotfixes: data.hotfixes,
      searchedBy,
    },
    os: windowsOsOf(os),
  };
}

export const windowsCollector = { packageManager: 'windows-update' as const, collect };
