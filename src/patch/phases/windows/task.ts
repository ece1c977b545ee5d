/**
 * The PowerShell the Windows step flow sends, and the restart command.
 *
 * NEVER RUN ON WINDOWS: there is no Windows and no PowerShell where this was written. It is built
 * only from Microsoft's documentation: the Windows Update Agent API (IUpdateSession,
 * IUpdateSearcher.Search, IUpdateDownloader.Download, IUpdateInstaller.Install,
 * IInstallationResult.GetUpdateResult: ResultCode, HResult, RebootRequired; IUpdate.AcceptEula,
 * IsUninstallable, Identity), "Using WUA From a Remote Computer" (the downloader and installer are
 * denied to remote sessions, hence the task), the ScheduledTasks module (Register-ScheduledTask,
 * New-ScheduledTaskPrincipal -LogonType ServiceAccount, Start-ScheduledTask,
 * Unregister-ScheduledTask), System.Security.AccessControl (a protected folder ACL), and
 * shutdown.exe (/r /t /c /d). Its output shapes are pinned by tests against a simulated PC.
 *
 * Nothing remote-derived reaches these scripts: the job and step ids are integers, the UpdateIDs
 * are checked GUIDs, the revision an integer; the installer travels base64-encoded.
 */
import { windows } from '../../../collectors';
import { StepFailure } from '../../driver';

export const JOBS_ROOT = `${windows.TASK_ROOT}\\jobs`;
export const TASK_PATH = windows.TASK_FOLDER;

export const PRECHECK_MARK = 'PATCHDECK-PRECHECK-JSON:';
export const POLL_MARK = 'PATCHDECK-POLL-JSON:';
export const BOOT_MARK = 'PATCHDECK-BOOT-JSON:';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KB = /^KB\d{4,8}$/;

/** An approved update: its UpdateID and, when the audit recorded one, the revision approved. */
export interface ApprovedUpdate {
  kb: string;
  updateId: string;
  revision: number | null;
}

/**
 * A step's target `to` is the UpdateID, or `UpdateID.revision` when the audit knew the revision
 * (plan.ts). Anything else is refused before a script is built.
 */
export function approvedUpdate(target: { name: string; to: string }): ApprovedUpdate {
  const dot = target.to.indexOf('.');
  const id = dot < 0 ? target.to : target.to.slice(0, dot);
  const rev = dot < 0 ? null : target.to.slice(dot + 1);
  if (!KB.test(target.name) || !GUID.test(id) || (rev !== null && !/^\d{1,9}$/.test(rev)))
    throw new StepFailure(
      'not-approved',
      `Refusing the Windows update ${JSON.stringify(target.name.slice(0, 40))}: it has no valid UpdateID on record. Audit the PC again and plan again.`,
    );
  return { kb: target.name, updateId: id.toLowerCase(), revision: rev === null ? null : Number(rev) };
}

export interface TaskNames {
  /** `<jobId>-<stepId>`: the receipt's jobStep. */
  jobStep: string;
  folder: string;
  taskName: string;
}

export function taskNames(jobId: number, stepId: number): TaskNames {
  if (!Number.isSafeInteger(jobId) || !Number.isSafeInteger(stepId) || jobId < 0 || stepId < 0)
    throw new Error('job and step ids are integers');
  const jobStep = `${jobId}-${stepId}`;
  return { jobStep, folder: `${JOBS_ROOT}\\${jobStep}`, taskName: `Patchdeck-${jobStep}` };
}

/** PowerShell single-quoted text (only ever our own constants and checked ids). */
const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const HEADER = '# Patchdeck: built from Microsoft documentation; never run on Windows by its authors.';
const BOOT =
  '[DateTimeOffset]::new((Get-CimInstance Win32_OperatingSystem).LastBootUpTime).ToUnixTimeSeconds()';

/**
 * Pre-check: free space on the system drive, the pending-reboot signals (CBS RebootPending, WU
 * RebootRequired, PendingFileRenameOperations, a pending computer rename), which approved KBs
 * Windows lists as installed hotfixes, whether this step's task or receipt already exists (a
 * resumed job), and the boot time.
 */
export function precheckScript(names: TaskNames, kbs: readonly string[]): string {
  for (const kb of kbs) if (!KB.test(kb)) throw new Error('not a KB');
  return [
    '# patchdeck:precheck',
    HEADER,
    "$ErrorActionPreference='Continue'",
    `$dir=${q(names.folder)}; $name=${q(names.taskName)}`,
    '$out=[ordered]@{v=1;freeMb=$null;rebootReasons=@();installed=@();task=$null;receipt=$false;foreignReceipt=$false;boot=$null}',
    'try { $out.freeMb=[int64]((Get-CimInstance Win32_LogicalDisk -Filter "DeviceID=\'$env:SystemDrive\'").FreeSpace/1MB) } catch {}',
    "$c='HKLM:\\SYSTEM\\CurrentControlSet\\Control'; $w='HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion'",
    'if (Test-Path "$w\\Component Based Servicing\\RebootPending") { $out.rebootReasons+=\'CBS RebootPending\' }',
    'if (Test-Path "$w\\WindowsUpdate\\Auto Update\\RebootRequired") { $out.rebootReasons+=\'WindowsUpdate RebootRequired\' }',
    'if ((Get-ItemProperty "$c\\Session Manager" -EA 0).PendingFileRenameOperations) { $out.rebootReasons+=\'PendingFileRenameOperations\' }',
    '$a=(Get-ItemProperty "$c\\ComputerName\\ActiveComputerName" -EA 0).ComputerName; $n=(Get-ItemProperty "$c\\ComputerName\\ComputerName" -EA 0).ComputerName',
    "if ($a -and $n -and $a -ne $n) { $out.rebootReasons+='Pending computer rename' }",
    `$want=@(${kbs.map(q).join(',')})`,
    'try { $out.installed=@(Get-CimInstance Win32_QuickFixEngineering -EA 0 | % { [string]$_.HotFixID } | ? { $want -contains $_ }) } catch {}',
    `$t=Get-ScheduledTask -TaskName $name -TaskPath ${q(TASK_PATH)} -EA 0`,
    'if ($t) { $out.task=[string]$t.State }',
    // A receipt counts only in a folder locked as the task's builder locks it (protected, owner and
    // entries SYSTEM/Administrators only): anyone may create folders in ProgramData, so a receipt in
    // any other folder may be someone else's, and is reported as such (the task then runs afresh).
    "$ok=@('S-1-5-18','S-1-5-32-544'); $locked=$false",
    "try { $g=Get-Acl -LiteralPath $dir; $bad=@($g.GetAccessRules($true,$true,[Security.Principal.SecurityIdentifier]) | Where-Object { $ok -notcontains $_.IdentityReference.Value -or [string]$_.AccessControlType -ne 'Allow' }); $locked=(-not $bad.Count) -and $g.AreAccessRulesProtected -and ($ok -contains $g.GetOwner([Security.Principal.SecurityIdentifier]).Value) } catch {}",
    '$has=Test-Path -LiteralPath "$dir\\receipt.json"; $out.receipt=$locked -and $has; $out.foreignReceipt=$has -and -not $locked',
    `try { $out.boot=${BOOT} } catch {}`,
    `'${PRECHECK_MARK}' + ($out | ConvertTo-Json -Compress)`,
  ].join('\n');
}

/**
 * The script the task runs as SYSTEM: search, keep exactly the approved UpdateIDs (and revision),
 * accept their EULA, download, install, write the receipt (atomically: a temporary file moved
 * over). Progress goes to progress.json as it moves. The shared task wrapper
 * (collectors/windows/task.ts) runs it and unregisters the task in its `finally`.
 */
export function installerScript(names: TaskNames, updates: readonly ApprovedUpdate[]): string {
  const want = updates.map((u) => `@{id=${q(u.updateId)};rev=${u.revision ?? -1}}`).join(',');
  return [
    `# Patchdeck installer task ${names.taskName} (runs as SYSTEM, removes itself).`,
    HEADER,
    "$ErrorActionPreference='Stop'",
    `$dir=${q(names.folder)}; $name=${q(names.taskName)}; $step=${q(names.jobStep)}`,
    `$want=@(${want})`,
    'function PdWrite($file,$obj) { $t="$dir\\$file.tmp"; [IO.File]::WriteAllText($t,($obj | ConvertTo-Json -Depth 6 -Compress)); Move-Item -Force -LiteralPath $t -Destination "$dir\\$file" }',
    "function PdProgress($stage) { PdWrite 'progress.json' ([ordered]@{version=1;jobStep=$step;stage=$stage;at=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds()}) }",
    "function PdHex($h) { '0x{0:X8}' -f [int]$h }",
    "$R=[ordered]@{version=1;jobStep=$step;finishedAt=$null;rebootRequired=$false;resultCode=2;hresult='0x00000000';error=$null;updates=@()}",
    'try {',
    "  PdProgress 'searching'",
    '  $ses=New-Object -ComObject Microsoft.Update.Session',
    "  $ses.ClientApplicationID='Patchdeck'",
    "  $found=$ses.CreateUpdateSearcher().Search('IsInstalled=0')",
    '  $coll=New-Object -ComObject Microsoft.Update.UpdateColl',
    '  foreach ($w in $want) {',
    '    $u=$null; foreach ($c in $found.Updates) { if ($c.Identity.UpdateID -eq $w.id -and ($w.rev -lt 0 -or $c.Identity.RevisionNumber -eq $w.rev)) { $u=$c } }',
    '    if ($u) { if (-not $u.EulaAccepted) { $u.AcceptEula() }; [void]$coll.Add($u) }',
    "    else { $R.updates+=[ordered]@{updateId=$w.id;kb=@();title='';resultCode=0;hresult='0x80240024';rebootRequired=$false;uninstallable=$false} }",
    '  }',
    '  if ($coll.Count -gt 0) {',
    "    PdProgress 'downloading'",
    '    $dl=$ses.CreateUpdateDownloader(); $dl.Updates=$coll; [void]$dl.Download()',
    "    PdProgress 'installing'",
    '    $ins=$ses.CreateUpdateInstaller(); $ins.Updates=$coll; $res=$ins.Install()',
    '    $R.resultCode=[int]$res.ResultCode; $R.hresult=PdHex $res.HResult; $R.rebootRequired=[bool]$res.RebootRequired',
    '    for ($i=0; $i -lt $coll.Count; $i++) { $u=$coll.Item($i); $x=$res.GetUpdateResult($i)',
    '      $R.updates+=[ordered]@{updateId=[string]$u.Identity.UpdateID;revision=[int]$u.Identity.RevisionNumber;kb=@($u.KBArticleIDs | % { [string]$_ });title=[string]$u.Title;resultCode=[int]$x.ResultCode;hresult=PdHex $x.HResult;rebootRequired=[bool]$x.RebootRequired;uninstallable=[bool]$u.IsUninstallable} }',
    '  }',
    '} catch { $e=$_.Exception; while ($e.InnerException) { $e=$e.InnerException }; $R.resultCode=4; $R.hresult=PdHex $e.HResult; $R.error=[string]$e.Message }',
    '$R.finishedAt=[DateTimeOffset]::UtcNow.ToUnixTimeSeconds()',
    "PdWrite 'receipt.json' $R",
    "PdProgress 'done'",
  ].join('\n');
}

/**
 * Over the admin's session: the shared SYSTEM task builder (collectors/windows/task.ts) locks the
 * job folder to SYSTEM and Administrators (inheritance cut), writes the installer into it, and
 * registers and starts the one-off task as SYSTEM; it prints TASK_STARTED_MARK + the name.
 */
export function scheduleScript(names: TaskNames, updates: readonly ApprovedUpdate[]): string {
  return [
    '# patchdeck:schedule',
    HEADER,
    windows.buildSystemTaskScript({
      name: names.taskName,
      script: installerScript(names, updates),
      outputDir: names.folder,
    }),
  ].join('\n');
}

/** The task was started: the builder's last line names it. */
export function scheduled(stdout: string, names: TaskNames): boolean {
  return stdout
    .split(/\r?\n/)
    .some((line) => line.trim() === `${windows.TASK_STARTED_MARK}${names.taskName}`);
}

/** One poll: the progress and receipt texts (as they are on disk), the task's state, the boot time. */
export function pollScript(names: TaskNames): string {
  return [
    '# patchdeck:poll',
    HEADER,
    "$ErrorActionPreference='Continue'",
    `$dir=${q(names.folder)}; $name=${q(names.taskName)}`,
    '$out=[ordered]@{v=1;progress=$null;receipt=$null;task=$null;lastResult=$null;boot=$null}',
    'if (Test-Path "$dir\\progress.json") { $out.progress=[IO.File]::ReadAllText("$dir\\progress.json") }',
    'if (Test-Path "$dir\\receipt.json") { $out.receipt=[IO.File]::ReadAllText("$dir\\receipt.json") }',
    `$t=Get-ScheduledTask -TaskName $name -TaskPath ${q(TASK_PATH)} -EA 0`,
    'if ($t) { $out.task=[string]$t.State; $out.lastResult=[int64]($t | Get-ScheduledTaskInfo).LastTaskResult }',
    `try { $out.boot=${BOOT} } catch {}`,
    `'${POLL_MARK}' + ($out | ConvertTo-Json -Compress)`,
  ].join('\n');
}

/** The boot time alone (the restart's wait). */
export function bootScript(): string {
  return ['# patchdeck:boot', `'${BOOT_MARK}' + (${BOOT})`].join('\n');
}

/** Why the PC restarts: a restart already pending before the install, or the updates just installed. */
/** Why the PC restarts: a reboot pending before the install, updates installed, or a reboot job of its own. */
export type RestartReason = 'pending' | 'installed' | 'requested';

/** The restart message the signed-in user sees; shutdown.exe takes 512 characters at most. */
export function restartMessage(delaySeconds: number, reason: RestartReason): string {
  const delay = Math.max(0, Math.trunc(delaySeconds));
  // Never promise more time than there is: 90 s is "1 minute and 30 seconds", not "2 minutes".
  const minutes = Math.floor(delay / 60);
  const seconds = delay % 60;
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const when =
    delay === 0
      ? 'now'
      : minutes === 0
        ? `in ${unit(seconds, 'second')}`
        : seconds === 0
          ? `in ${unit(minutes, 'minute')}`
          : `in ${unit(minutes, 'minute')} and ${unit(seconds, 'second')}`;
  // With no notice there is no time to save anything: the message does not ask for it.
  const restarts = delay === 0 ? 'It restarts now.' : `It restarts ${when}: please save your work.`;
  return reason === 'pending'
    ? `Windows must finish installing earlier updates on this PC before Patchdeck can install new ones. ${restarts}`
    : reason === 'installed'
      ? `Patchdeck installed Windows updates on this PC. ${restarts}`
      : `Your administrator restarts this PC with Patchdeck. ${restarts}`;
}

/** Windows' own restart with a warning and a delay; /d p:2:17 records it as planned (operating system: hot fix). */
export function restartCommand(delaySeconds: number, reason: RestartReason): string {
  const delay = Math.max(0, Math.min(7200, Math.trunc(delaySeconds)));
  return `shutdown.exe /r /t ${delay} /c "${restartMessage(delay, reason)}" /d p:2:17`;
}

/** Calls off a restart still in its warning delay (exit 0; 1116 when no restart is pending). */
export const ABORT_RESTART_COMMAND = 'shutdown.exe /a';

/** Finds a marker line and parses its JSON; null when absent or malformed. Bounded: one lastIndexOf, one JSON.parse. */
export function markedJson(stdout: string, mark: string): unknown {
  const at = stdout.lastIndexOf(mark);
  if (at < 0) return null;
  const end = stdout.indexOf('\n', at);
  try {
    return JSON.parse(stdout.slice(at + mark.length, end < 0 ? undefined : end).trim()) as unknown;
  } catch {
    return null;
  }
}
