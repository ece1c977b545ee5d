/**
 * The Windows collector: one PowerShell round-trip over OpenSSH asks the Windows Update Agent
 * (COM `Microsoft.Update.Session`) for `IsInstalled=0 and IsHidden=0` and prints JSON. Windows often
 * refuses WUA searches from network logons (HRESULT 0x80070005); that becomes CollectorError('refused').
 */
import { powershellEncodedCommand } from '../os';
import { cleanField, cleanStderr, normalizeSeverity, runRecorded } from '../util';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';

const MARK = 'PATCHDECK-WUA-JSON:';

/** The PowerShell script; `online` false searches the cached catalogue only (no refresh). */
export function buildWindowsUpdateScript(online: boolean): string {
  return [
    "$ErrorActionPreference='Stop'",
    '$out=[ordered]@{ok=$true;error=$null;hresult=$null;rebootRequired=$null;rebootReasons=@();lastSearch=$null;now=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds();updates=@()}',
    'try { $out.rebootRequired=[bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired } catch {}',
    "if (Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired') { $out.rebootReasons+='WindowsUpdate RebootRequired' }",
    "if (Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending') { $out.rebootReasons+='CBS RebootPending' }",
    'try { $d=(New-Object -ComObject Microsoft.Update.AutoUpdate).Results.LastSearchSuccessDate; if ($d) { $out.lastSearch=([DateTimeOffset]([datetime]$d).ToUniversalTime()).ToUnixTimeSeconds() } } catch {}',
    'try {',
    '  $searcher=(New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()',
    `  $searcher.Online=$${online ? 'true' : 'false'}`,
    "  $r=$searcher.Search('IsInstalled=0 and IsHidden=0')",
    '  $out.updates=@(foreach ($u in $r.Updates) { [ordered]@{title=[string]$u.Title;kb=@($u.KBArticleIDs|ForEach-Object{[string]$_});severity=[string]$u.MsrcSeverity;categories=@($u.Categories|ForEach-Object{[string]$_.Name});cves=@($u.CveIDs|ForEach-Object{[string]$_});bulletins=@($u.SecurityBulletinIDs|ForEach-Object{[string]$_});rebootBehavior=[int]$u.InstallationBehavior.RebootBehavior;updateId=[string]$u.Identity.UpdateID;revision=[int]$u.Identity.RevisionNumber;type=[int]$u.Type} })',
    "} catch { $e=$_.Exception; while ($e.InnerException) { $e=$e.InnerException }; $out.ok=$false; $out.error=[string]$e.Message; $out.hresult=('0x{0:X8}' -f $e.HResult) }",
    `'${MARK}' + ($out | ConvertTo-Json -Depth 5 -Compress)`,
  ].join('\n');
}

export function buildWindowsUpdateCommand(online: boolean): string {
  return powershellEncodedCommand(buildWindowsUpdateScript(online));
}

interface WuaUpdateJson {
  title?: unknown;
  kb?: unknown;
  severity?: unknown;
  categories?: unknown;
  cves?: unknown;
  bulletins?: unknown;
  rebootBehavior?: unknown;
  type?: unknown;
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
}

const strings = (v: unknown, re: RegExp): string[] =>
  (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter(
    (x): x is string => typeof x === 'string' && re.test(x),
  );

/** Finds our marker line and parses the JSON after it; null when absent or malformed. */
export function parseWuaOutput(stdout: string): WuaJson | null {
  const at = stdout.lastIndexOf(MARK);
  if (at < 0) return null;
  const end = stdout.indexOf('\n', at);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(stdout.slice(at + MARK.length, end < 0 ? undefined : end)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const updates = Array.isArray(data.updates)
    ? data.updates
    : data.updates && typeof data.updates === 'object'
      ? [data.updates]
      : [];
  return {
    ok: data.ok !== false,
    error: typeof data.error === 'string' ? cleanField(data.error, 500) : null,
    hresult:
      typeof data.hresult === 'string' && /^0x[0-9A-F]{8}$/i.test(data.hresult)
        ? data.hresult.toUpperCase().replace('0X', '0x')
        : null,
    rebootRequired: typeof data.rebootRequired === 'boolean' ? data.rebootRequired : null,
    rebootReasons: strings(data.rebootReasons, /^[A-Za-z ]{1,60}$/),
    lastSearch: typeof data.lastSearch === 'number' ? data.lastSearch : null,
    now: typeof data.now === 'number' ? data.now : null,
    updates: updates.filter((u): u is WuaUpdateJson => typeof u === 'object' && u !== null),
  };
}

export function windowsFindings(data: WuaJson): PendingUpdate[] {
  const findings: PendingUpdate[] = [];
  for (const u of data.updates) {
    const title = typeof u.title === 'string' ? cleanField(u.title, 300) : '';
    const kbs = strings(u.kb, /^\d{4,8}$/).map((k) => `KB${k}`);
    const categories = strings(u.categories, /^[\w .()-]{1,80}$/);
    const vendorSeverity =
      typeof u.severity === 'string' && u.severity.trim() !== '' ? cleanField(u.severity, 40) : null;
    const security = categories.some((c) => /^Security Updates$/i.test(c)) || vendorSeverity !== null;
    if (title === '' && kbs.length === 0) continue;
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
          ...strings(u.cves, /^CVE-\d{4}-\d{4,7}$/),
        ]),
      ],
      held: false,
      phased: false,
      rebootRequired: typeof u.rebootBehavior === 'number' ? u.rebootBehavior > 0 : null,
      kind: 'kb',
    });
  }
  return findings;
}

const REFUSED_SENTENCE =
  'Windows refused the Windows Update search from this remote session (0x80070005, access denied). The Windows Update Agent does not serve network logons on this host; run the offline collection script on it, or use a scheduled task.';

export async function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const display = `powershell: Microsoft.Update.Session search IsInstalled=0 and IsHidden=0 (Online=${options.refresh ? 'true' : 'false'})`;
  const raw = await runRecorded(
    exec,
    buildWindowsUpdateCommand(options.refresh),
    { ...options, sudo: false },
    commands,
    display,
  );
  const data = parseWuaOutput(raw.stdout);
  if (data === null) {
    if (/0x80070005|E_ACCESSDENIED/.test(raw.stderr.slice(0, 16384)))
      throw new CollectorError('refused', REFUSED_SENTENCE, {
        stderr: cleanStderr(raw.stderr),
        command: display,
        code: raw.code,
      });
    throw new CollectorError('command-failed', 'The Windows Update search printed no result.', {
      stderr: cleanStderr(raw.stderr),
      command: display,
      code: raw.code,
    });
  }
  if (!data.ok) {
    const stderr = cleanStderr(`${data.hresult ?? ''} ${data.error ?? ''}\n${raw.stderr}`);
    if (data.hresult === '0x80070005' || /E_ACCESSDENIED|Access is denied/i.test(data.error ?? ''))
      throw new CollectorError('refused', REFUSED_SENTENCE, { stderr, command: display, code: raw.code });
    if (data.hresult === '0x8024402C' || data.hresult === '0x80072EE7')
      throw new CollectorError('command-failed', 'Windows Update could not reach its update server.', {
        stderr,
        command: display,
        code: raw.code,
      });
    throw new CollectorError(
      'command-failed',
      `The Windows Update search failed (${data.hresult ?? 'unknown error'}).`,
      { stderr, command: display, code: raw.code },
    );
  }
  const rebootRequired =
    data.rebootRequired === true || data.rebootReasons.length > 0 ? true : data.rebootRequired;
  return {
    packageManager: 'windows-update',
    updates: windowsFindings(data),
    rebootRequired,
    rebootReasons:
      data.rebootReasons.length > 0
        ? data.rebootReasons
        : rebootRequired
          ? ['Microsoft.Update.SystemInfo RebootRequired']
          : [],
    metadataAgeSeconds:
      data.now !== null && data.lastSearch !== null ? Math.max(0, data.now - data.lastSearch) : null,
    warnings: [],
    commands,
  };
}

export const windowsCollector = { packageManager: 'windows-update' as const, collect };
