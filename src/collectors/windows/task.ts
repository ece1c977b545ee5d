/**
 * A one-off scheduled task that runs a PowerShell script as SYSTEM on a Windows PC and removes
 * itself. The Windows Update Agent denies some searches and every download and install to remote
 * sessions (Microsoft: "Using WUA From a Remote Computer"); a task running as SYSTEM on the PC is
 * the documented way round. The audit uses it for a denied search; the patch flow
 * (src/patch/phases/windows) imports it for the install.
 *
 * NEVER RUN ON WINDOWS: built from Microsoft's documentation of the ScheduledTasks module
 * (New-ScheduledTaskAction, New-ScheduledTaskPrincipal -UserId SYSTEM -LogonType ServiceAccount,
 * New-ScheduledTaskSettingsSet, Register-ScheduledTask, Start-ScheduledTask,
 * Unregister-ScheduledTask) and of System.Security.AccessControl (DirectorySecurity, Set-Acl,
 * Get-Acl); there is no Windows or PowerShell where it was written.
 *
 * Safety: ordinary users may create folders in C:\ProgramData and own what they create, so every
 * level from C:\ProgramData\Patchdeck down gets an ACL built from scratch (protected, owner
 * Administrators, FullControl for SYSTEM and Administrators and nobody else), read back and checked
 * before anything is written; the task's own folder (outputDir) is deleted and created fresh. The
 * script the task runs as SYSTEM is written only after that check passes. Names and paths are
 * validated against fixed patterns, the payload travels as base64: no untrusted text is ever
 * spliced into the PowerShell.
 */

export const TASK_ROOT = 'C:\\ProgramData\\Patchdeck';
export const TASK_FOLDER = '\\Patchdeck\\';
export const TASK_STARTED_MARK = 'PATCHDECK-TASK-STARTED:';

export interface SystemTaskSpec {
  /** The task's name: 1-100 of letters, digits, '.', '_', '-'. */
  name: string;
  /** The PowerShell the task runs as SYSTEM; `$PdOutDir` holds `outputDir` while it runs. */
  script: string;
  /** A folder under C:\ProgramData\Patchdeck (segments of letters, digits, '.', '_', '-'). */
  outputDir: string;
  /**
   * A file name in `outputDir`: when set, the script's output is written there once it finished,
   * through a temporary file and a rename, so a reader never sees half of it.
   */
  outputFile?: string;
}

const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

/** The folders from C:\ProgramData\Patchdeck down to `dir`; throws on anything else. */
export function taskFolders(dir: string): string[] {
  const prefix = `${TASK_ROOT}\\`;
  if (dir !== TASK_ROOT && !dir.startsWith(prefix))
    throw new Error(`A task folder must be under ${TASK_ROOT}.`);
  const rest = dir === TASK_ROOT ? [] : dir.slice(prefix.length).split('\\');
  if (rest.length > 4 || rest.some((s) => !SEGMENT.test(s) || s === '.' || s === '..'))
    throw new Error('A task folder may hold only letters, digits, dots, dashes and underscores.');
  const folders = [TASK_ROOT];
  for (const segment of rest) folders.push(`${folders[folders.length - 1]!}\\${segment}`);
  return folders;
}

/** A single-quoted PowerShell literal of a string already validated against the patterns above. */
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** What the task runs: the payload, its output written atomically, then the task removes itself. */
function taskBody(spec: SystemTaskSpec): string {
  const out = spec.outputFile ? `${spec.outputDir}\\${spec.outputFile}` : null;
  return [
    '# Patchdeck one-off SYSTEM task; removes itself when done.',
    "$ErrorActionPreference='Continue'",
    `$PdOutDir=${lit(spec.outputDir)}`,
    'try {',
    // Each output object as its own text (Out-String would format and could wrap long lines).
    `  $pdText = @(& { ${'\n'}${spec.script}${'\n'}} | ForEach-Object { [string]$_ }) -join [Environment]::NewLine`,
    ...(out
      ? [
          `  [IO.File]::WriteAllText(${lit(`${out}.tmp`)}, $pdText, (New-Object Text.UTF8Encoding $false))`,
          `  Move-Item -Force -LiteralPath ${lit(`${out}.tmp`)} -Destination ${lit(out)}`,
        ]
      : []),
    '} finally {',
    // Last, after the output is written: whether deleting a running task stops it is not something
    // we could try, so nothing may depend on running after this line.
    `  Unregister-ScheduledTask -TaskName ${lit(spec.name)} -TaskPath ${lit(TASK_FOLDER)} -Confirm:$false -EA 0`,
    '  Remove-Item -LiteralPath $PSCommandPath -Force -EA 0',
    '}',
  ].join('\n');
}

/**
 * The PowerShell that registers and starts the task (run it over the session, elevated); it prints
 * `PATCHDECK-TASK-STARTED:<name>` when the task was started. Throws on a bad name or folder.
 */
export function buildSystemTaskScript(spec: SystemTaskSpec): string {
  if (!NAME.test(spec.name))
    throw new Error('A task name may hold only letters, digits, dots, dashes and underscores.');
  if (spec.outputFile !== undefined && (!NAME.test(spec.outputFile) || /^\.+$/.test(spec.outputFile)))
    throw new Error('A task output file name may hold only letters, digits, dots, dashes and underscores.');
  const folders = taskFolders(spec.outputDir);
  if (folders.length < 2) throw new Error(`A task folder must be a folder inside ${TASK_ROOT}.`);
  const file = `${spec.outputDir}\\${spec.name}.ps1`;
  return [
    "$ErrorActionPreference='Stop'",
    // The folder ACL built from scratch (SIDs, not names, which Windows translates): protected (no
    // inherited entries), owner Administrators, FullControl for SYSTEM and Administrators only.
    "$pdOk=@('S-1-5-18','S-1-5-32-544')",
    '$pdAcl=New-Object Security.AccessControl.DirectorySecurity',
    '$pdAcl.SetAccessRuleProtection($true,$false)',
    "$pdAcl.SetOwner((New-Object Security.Principal.SecurityIdentifier 'S-1-5-32-544'))",
    "foreach ($pdSid in $pdOk) { $pdAcl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule((New-Object Security.Principal.SecurityIdentifier $pdSid),'FullControl','ContainerInherit,ObjectInherit','None','Allow'))) }",
    `$pdLeaf=${lit(spec.outputDir)}`,
    `foreach ($pdDir in @(${folders.map(lit).join(',')})) {`,
    // The job's or audit's own folder is made fresh (anything there before may be someone else's);
    // Directory.Delete does not follow a junction inside it.
    '  if ($pdDir -eq $pdLeaf -and (Test-Path -LiteralPath $pdDir)) { [IO.Directory]::Delete($pdDir, $true) }',
    '  if ($pdDir -eq $pdLeaf -or -not (Test-Path -LiteralPath $pdDir)) { New-Item -ItemType Directory -Path $pdDir | Out-Null }',
    '  $pdItem=Get-Item -LiteralPath $pdDir -Force',
    "  if (-not $pdItem.PSIsContainer -or ($pdItem.Attributes -band [IO.FileAttributes]::ReparsePoint)) { throw ('Not a plain folder: ' + $pdDir) }",
    '  Set-Acl -LiteralPath $pdDir -AclObject $pdAcl',
    // Read back: stop (nothing written, no task) if anyone else has any entry or owns the folder.
    '  $pdGot=Get-Acl -LiteralPath $pdDir',
    "  $pdBad=@($pdGot.GetAccessRules($true,$true,[Security.Principal.SecurityIdentifier]) | Where-Object { $pdOk -notcontains $_.IdentityReference.Value -or [string]$_.AccessControlType -ne 'Allow' })",
    "  if ($pdBad.Count -or -not $pdGot.AreAccessRulesProtected -or $pdOk -notcontains $pdGot.GetOwner([Security.Principal.SecurityIdentifier]).Value) { throw ('Could not lock ' + $pdDir + ' to SYSTEM and Administrators') }",
    '}',
    `[IO.File]::WriteAllText(${lit(file)}, [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('${b64(taskBody(spec))}')), (New-Object Text.UTF8Encoding $true))`,
    `$pdAction=New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ${lit(`-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "${file}"`)}`,
    "$pdPrincipal=New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest",
    '$pdSettings=New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -ExecutionTimeLimit (New-TimeSpan -Hours 4)',
    `Register-ScheduledTask -TaskName ${lit(spec.name)} -TaskPath ${lit(TASK_FOLDER)} -Action $pdAction -Principal $pdPrincipal -Settings $pdSettings -Force | Out-Null`,
    `Start-ScheduledTask -TaskName ${lit(spec.name)} -TaskPath ${lit(TASK_FOLDER)}`,
    `'${TASK_STARTED_MARK}' + ${lit(spec.name)}`,
  ].join('\n');
}

/** Decodes the payload a registration script carries (for tests: what the task will run). */
export function taskBodyOf(registration: string): string | null {
  const m = /FromBase64String\('([A-Za-z0-9+/=]{1,1000000})'\)/.exec(registration);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : null;
}
