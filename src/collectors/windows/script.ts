/**
 * The Windows Update audit script: ONE PowerShell script for both transports (WinRM streams it
 * through stdin with `runPowerShell`; OpenSSH sends it as `-EncodedCommand`), and the offline
 * collection embeds it too (src/collectors/offline.ts).
 *
 * NEVER RUN ON WINDOWS: there is no Windows and no PowerShell where this was written. It is built
 * only from Microsoft's documentation of the Windows Update Agent API (IUpdateSession,
 * IUpdateSearcher.Search, IUpdate: Title, KBArticleIDs, MsrcSeverity, Categories, CveIDs,
 * SecurityBulletinIDs, InstallationBehavior.RebootBehavior, MaxDownloadSize,
 * LastDeploymentChangeTime, Identity (IUpdateIdentity: UpdateID, RevisionNumber); ISystemInfo
 * RebootRequired), of Win32_OperatingSystem and Win32_QuickFixEngineering, and of the registry
 * values named below. Its output shape is pinned by the parser's tests on constructed samples.
 *
 * PowerShell variables ignore case: `$R` is the result object; no other variable may be `$r`.
 * It prints one line: `PATCHDECK-WUA-JSON:` then compressed JSON (see WuaJson in ./index.ts).
 * Every probe but the search itself is best effort (a failed probe leaves its field null/empty).
 * Kept short on purpose: over OpenSSH with cmd.exe as the default shell, the encoded command must
 * stay under cmd.exe's 8191-character line (a test checks it).
 */

export const WUA_MARK = 'PATCHDECK-WUA-JSON:';

const CURRENT_VERSION = "'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'";
const POLICY = "'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate'";

/** The PowerShell script; `online` false searches the cached catalogue only (no refresh). */
export function buildWindowsUpdateScript(online: boolean): string {
  return [
    '# Patchdeck Windows Update audit: built from Microsoft documentation, never run on Windows by its authors.',
    "$ErrorActionPreference='Stop'",
    '$R=[ordered]@{v=2;ok=$true;error=$null;hresult=$null;rebootRequired=$null;rebootReasons=@();lastSearch=$null;now=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds();os=$null;wsus=$null;hotfixes=@();updates=@()}',
    // WUA's dates (LastSearchSuccessDate, LastDeploymentChangeTime) are UTC but come without a kind.
    "function PdTime($d) { try { if ($d) { return ([DateTimeOffset][datetime]::SpecifyKind($d,'Utc')).ToUnixTimeSeconds() } } catch {}; $null }",
    'function PdReg($p) { Get-ItemProperty -Path $p -EA 0 }',
    "$c='HKLM:\\SYSTEM\\CurrentControlSet\\Control'",
    `$k=PdReg ${CURRENT_VERSION}; $o=Get-CimInstance Win32_OperatingSystem -EA 0`,
    '$R.os=[ordered]@{caption=[string]$o.Caption;productName=[string]$k.ProductName;displayVersion=[string]$k.DisplayVersion;version=[string]$o.Version;build=[string]$k.CurrentBuild;ubr=$k.UBR;arch=[string]$o.OSArchitecture;computerName=[string]$o.CSName}',
    'try { $R.rebootRequired=[bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired } catch {}',
    "$w='HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion'",
    'if (Test-Path "$w\\WindowsUpdate\\Auto Update\\RebootRequired") { $R.rebootReasons+=\'WindowsUpdate RebootRequired\' }',
    'if (Test-Path "$w\\Component Based Servicing\\RebootPending") { $R.rebootReasons+=\'CBS RebootPending\' }',
    'if ((PdReg "$c\\Session Manager").PendingFileRenameOperations) { $R.rebootReasons+=\'PendingFileRenameOperations\' }',
    '$a=(PdReg "$c\\ComputerName\\ActiveComputerName").ComputerName; $n=(PdReg "$c\\ComputerName\\ComputerName").ComputerName',
    "if ($a -and $n -and $a -ne $n) { $R.rebootReasons+='Pending computer rename' }",
    `$p=PdReg ${POLICY}; $au=PdReg '${POLICY.slice(1, -1)}\\AU'`,
    'if ($p -or $au) { $R.wsus=[ordered]@{server=[string]$p.WUServer;useWUServer=$au.UseWUServer;noAutoUpdate=$au.NoAutoUpdate;auOptions=$au.AUOptions} }',
    'try { $R.hotfixes=@(Get-CimInstance Win32_QuickFixEngineering | select -First 300 | % { [ordered]@{id=[string]$_.HotFixID;description=[string]$_.Description;installedOn=[string]$_.InstalledOn} }) } catch {}',
    'try { $R.lastSearch=PdTime (New-Object -ComObject Microsoft.Update.AutoUpdate).Results.LastSearchSuccessDate } catch {}',
    'try {',
    '  $searcher=(New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()',
    `  $searcher.Online=$${online ? 'true' : 'false'}`,
    "  $found=$searcher.Search('IsInstalled=0 and IsHidden=0')",
    '  $R.updates=@(foreach ($u in $found.Updates) { [ordered]@{title=[string]$u.Title;kb=@($u.KBArticleIDs|%{[string]$_});severity=[string]$u.MsrcSeverity;categories=@($u.Categories|%{[string]$_.Name});cves=@($u.CveIDs|%{[string]$_});rebootBehavior=[int]$u.InstallationBehavior.RebootBehavior;updateId=[string]$u.Identity.UpdateID;revision=[int]$u.Identity.RevisionNumber;type=[int]$u.Type;size=[int64]$u.MaxDownloadSize;released=(PdTime $u.LastDeploymentChangeTime)} })',
    "} catch { $e=$_.Exception; while ($e.InnerException) { $e=$e.InnerException }; $R.ok=$false; $R.error=[string]$e.Message; $R.hresult=('0x{0:X8}' -f $e.HResult) }",
    `'${WUA_MARK}' + ($R | ConvertTo-Json -Depth 5 -Compress)`,
  ].join('\n');
}
