import { describe, expect, it } from 'vitest';
import { buildCollectScript } from '../offline';
import { fixture } from '../testing/fixtures';
import type { RemoteExec, RemoteExecResult } from '../types';
import {
  buildSystemTaskScript,
  buildWindowsUpdateCommand,
  buildWindowsUpdateScript,
  CMD_LINE_LIMIT,
  collect,
  KNOWN_WUA_ERRORS,
  parseInstalledOn,
  parseWuaOutput,
  taskBodyOf,
  windowsFindings,
  wuaErrorMeaning,
} from './index';

const CONSTRUCTED = 'windows/constructed-wua-v2.stdout';
const noControl = (s: string | null): boolean => s !== null && [...s].every((c) => c.charCodeAt(0) >= 0x20);
const ok = (stdout: string, stderr = '', code: number | null = 0): RemoteExecResult => ({
  stdout,
  stderr,
  code,
});
const wua = (data: Record<string, unknown>): string => `PATCHDECK-WUA-JSON:${JSON.stringify(data)}\n`;
const DENIED = wua({
  ok: false,
  error: 'Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED))',
  hresult: '0x80070005',
  updates: [],
});

/** A WinRM-like exec: every PowerShell script goes to `answer`, which sees it in full. */
function psExec(
  answer: (script: string, n: number) => RemoteExecResult,
): RemoteExec & { scripts: string[]; runs: string[] } {
  const scripts: string[] = [];
  const runs: string[] = [];
  return {
    scripts,
    runs,
    run: (command) => {
      runs.push(command);
      return Promise.resolve(ok('', 'run() must not be used when runPowerShell exists', 1));
    },
    runPowerShell: (script) => {
      scripts.push(script);
      return Promise.resolve(answer(script, scripts.length));
    },
  };
}

describe('the WUA script (one script, two transports)', () => {
  it('asks for every documented field and probe', () => {
    const s = buildWindowsUpdateScript(false);
    for (const needle of [
      "Search('IsInstalled=0 and IsHidden=0')",
      '$searcher.Online=$false',
      'Identity.UpdateID',
      'Identity.RevisionNumber',
      'MaxDownloadSize',
      'LastDeploymentChangeTime',
      'InstallationBehavior.RebootBehavior',
      'MsrcSeverity',
      'CveIDs',
      'Win32_QuickFixEngineering',
      'Win32_OperatingSystem',
      'Windows NT\\CurrentVersion',
      'UBR',
      'CurrentBuild',
      'Component Based Servicing\\RebootPending',
      'Auto Update\\RebootRequired',
      'PendingFileRenameOperations',
      'ActiveComputerName',
      'Policies\\Microsoft\\Windows\\WindowsUpdate',
      'UseWUServer',
      'NoAutoUpdate',
      'AUOptions',
      'never run on Windows',
      // WUA's dates are UTC without a kind: read as UTC, not shifted as local time.
      "[datetime]::SpecifyKind($d,'Utc')",
    ])
      expect(s).toContain(needle);
    expect(buildWindowsUpdateScript(true)).toContain('$searcher.Online=$true');
    // PowerShell variables ignore case: the result object `$R` must not be overwritten.
    expect(s).not.toMatch(/\$r\b(?!\.)|\$r=/);
  });

  it('fits one cmd.exe line as the OpenSSH encoded command', () => {
    for (const online of [true, false]) {
      const command = buildWindowsUpdateCommand(online);
      expect(command.length).toBeLessThanOrEqual(CMD_LINE_LIMIT);
      const decoded = Buffer.from(command.split(' ').pop()!, 'base64').toString('utf16le');
      expect(decoded).toContain("Search('IsInstalled=0 and IsHidden=0')");
      expect(decoded).not.toContain('# Patchdeck');
    }
  });

  it('goes through runPowerShell (stdin) on WinRM and never through run()', async () => {
    const exec = psExec(() => ok(fixture(CONSTRUCTED)));
    const result = await collect(exec, { refresh: true });
    expect(exec.runs).toEqual([]);
    expect(exec.scripts).toEqual([buildWindowsUpdateScript(true)]);
    expect(result.updates).toHaveLength(3);
  });

  it('the offline collection script carries the online script, both variants, unchanged', () => {
    const offline = buildCollectScript('windows', '0123456789abcdef');
    expect(offline).toContain(buildWindowsUpdateScript(false));
    expect(offline).toContain(buildWindowsUpdateScript(true));
  });
});

describe('parsing the constructed v2 sample (not a capture: no Windows here)', () => {
  it('reads OS facts, policy, hotfixes, reboot signals and per-update details', async () => {
    const result = await collect(
      { run: () => Promise.resolve(ok(fixture(CONSTRUCTED))) },
      { refresh: false },
    );
    expect(result.os).toMatchObject({
      family: 'windows',
      name: 'Windows 11 Pro',
      prettyName: 'Microsoft Windows 11 Pro 23H2',
      versionId: '10.0.22631',
      kernel: '10.0.22631.4751',
      arch: 'x86_64',
      hostname: 'PC-RECEPTION',
    });
    expect(result.windows).toEqual({
      caption: 'Microsoft Windows 11 Pro',
      productName: 'Windows 10 Pro',
      displayVersion: '23H2',
      version: '10.0.22631',
      build: '22631',
      ubr: 4751,
      arch: '64-bit',
      computerName: 'PC-RECEPTION',
      policy: {
        server: 'http://wsus.office.example:8530',
        useWUServer: true,
        noAutoUpdate: false,
        auOptions: 4,
      },
      hotfixes: [
        { id: 'KB5048685', description: 'Update', installedOn: '2024-12-10' },
        { id: 'KB5047621', description: 'Security Update', installedOn: '2024-11-12' },
        { id: 'KB5044033', description: 'Update', installedOn: null },
      ],
      searchedBy: 'session',
    });
    expect(result.rebootRequired).toBe(true);
    expect(result.rebootReasons).toEqual(['CBS RebootPending', 'PendingFileRenameOperations']);
    expect(result.metadataAgeSeconds).toBe(3600);
    expect(result.warnings).toEqual([
      'This PC takes its updates from the WSUS server http://wsus.office.example:8530: approvals there decide what installs.',
      'Group Policy sets Automatic Updates on this PC to download automatically and install on a schedule (AUOptions=4).',
    ]);
    expect(
      result.updates.map((u) => [u.name, u.security, u.severity, u.rebootRequired, u.repository]),
    ).toEqual([
      ['KB5050021', true, 'critical', true, 'Security Updates, Windows 11'],
      ['KB2267602', false, null, false, 'Definition Updates, Microsoft Defender Antivirus'],
      ['Intel - System - 10.1.19444.8378', false, null, true, 'Drivers'],
    ]);
    expect(result.updates[0]!.advisories).toEqual(['KB5050021', 'CVE-2025-21298', 'CVE-2025-21311']);
    expect(result.updates[0]!.details).toEqual({
      updateId: '6b2a3c4d-1e0f-4a5b-9c8d-7e6f5a4b3c2d',
      revision: 1,
      sizeBytes: 812345678,
      releasedAt: '2025-01-07T00:00:00Z',
      rebootBehavior: 'can-request',
      categories: ['Security Updates', 'Windows 11'],
      updateType: 'software',
    });
    expect(result.updates[2]!.details).toMatchObject({ rebootBehavior: 'always', updateType: 'driver' });
  });

  it('reads the v1 output of the older script too', () => {
    const data = parseWuaOutput(fixture('windows/synthetic-wua-search.stdout'))!;
    expect(data.os).toBeNull();
    expect(data.policy).toBeNull();
    expect(windowsFindings(data)[1]!.details).toMatchObject({ updateId: null, revision: null });
  });

  it('warns about switched-off Automatic Updates and a WSUS without a server name', async () => {
    const out = wua({
      ok: true,
      updates: [],
      wsus: { server: '', useWUServer: 1, noAutoUpdate: 1, auOptions: 2 },
    });
    const result = await collect({ run: () => Promise.resolve(ok(out)) }, { refresh: false });
    expect(result.warnings).toEqual([
      'This PC takes its updates from a WSUS server (Group Policy UseWUServer=1): approvals there decide what installs.',
      'Group Policy switches Automatic Updates off on this PC (NoAutoUpdate=1).',
    ]);
    const none = wua({ ok: true, updates: [], wsus: { server: 'http://x', useWUServer: 0 } });
    expect((await collect({ run: () => Promise.resolve(ok(none)) }, { refresh: false })).warnings).toEqual(
      [],
    );
  });

  it('reads hotfix dates in the forms Windows writes them', () => {
    expect(parseInstalledOn('1/5/2024')).toBe('2024-01-05');
    expect(parseInstalledOn('2024-01-05T00:00:00')).toBe('2024-01-05');
    expect(parseInstalledOn('01d3b1a2c0e4f000')).toMatch(/^20\d\d-\d\d-\d\d$/);
    for (const bad of ['', '13/40/2024', '1/1/1601', 'yesterday', 7, null, 'x'.repeat(1000)])
      expect(parseInstalledOn(bad)).toBeNull();
  });
});

describe('hostile WUA output', () => {
  it('bounds huge arrays, drops wrong types and cleans control characters', () => {
    const update = {
      title: 'T\u001b[2J\u0007',
      kb: ['1234567', '$(id)', 12345],
      updateId: 'not-a-guid',
      revision: 'x',
    };
    const out = wua({
      ok: true,
      updates: Array.from({ length: 5000 }, () => update),
      hotfixes: Array.from({ length: 10_000 }, (_, i) => ({ id: `KB${i}`, installedOn: {} })),
      rebootReasons: Array.from({ length: 1000 }, () => 'CBS RebootPending'),
      os: {
        caption: 'Windows\u0000\u001b]0;pwned\u0007',
        version: '10.0.1; rm -rf',
        ubr: 'a lot',
        build: ['x'],
      },
      wsus: { server: 'http://w\u001b[31m', useWUServer: '1', auOptions: 1e9 },
    });
    const data = parseWuaOutput(out)!;
    expect(data.updates).toHaveLength(2000);
    expect(data.hotfixes).toHaveLength(300);
    expect(data.rebootReasons).toEqual(['CBS RebootPending']);
    expect(data.os).toMatchObject({ version: null, ubr: null, build: null });
    expect(data.os!.caption).toSatisfy(noControl);
    expect(data.policy).toMatchObject({ useWUServer: true, auOptions: null });
    expect(data.policy!.server).toSatisfy(noControl);
    const findings = windowsFindings(data);
    expect(findings[0]!.name).toBe('KB1234567');
    expect(findings[0]!.availableVersion).toSatisfy(noControl);
    expect(findings[0]!.details).toMatchObject({ updateId: null, revision: null, sizeBytes: null });
  });

  it('keeps only the restart reasons the script reads, by name; the agent flag alone gives its own', async () => {
    const data = parseWuaOutput(
      wua({
        ok: true,
        rebootReasons: [
          'Pending computer rename',
          'Call the helpdesk now',
          'WindowsUpdate RebootRequired',
          'CBS RebootPending',
          'PendingFileRenameOperations',
          'CBS RebootPending',
          7,
        ],
      }),
    )!;
    expect(data.rebootReasons).toEqual([
      'Pending computer rename',
      'WindowsUpdate RebootRequired',
      'CBS RebootPending',
      'PendingFileRenameOperations',
    ]);
    const onlyAgent = await collect(
      { run: () => Promise.resolve(ok(wua({ ok: true, rebootRequired: true, rebootReasons: ['Made up'] }))) },
      { refresh: false },
    );
    expect(onlyAgent.rebootRequired).toBe(true);
    expect(onlyAgent.rebootReasons).toEqual(['Microsoft.Update.SystemInfo RebootRequired']);
  });

  it('refuses what is not an object and survives wrong types everywhere', () => {
    for (const bad of ['[1,2]', 'null', '"x"', '{', '7'])
      expect(parseWuaOutput(`PATCHDECK-WUA-JSON:${bad}`)).toBeNull();
    const data = parseWuaOutput(
      wua({
        ok: true,
        updates: [1, 'x', null, [1], { title: 5, kb: 'nope' }],
        hotfixes: 'KB1',
        os: [],
        wsus: 'x',
        now: 'x',
        hresult: 42,
      }),
    )!;
    expect(data.updates).toHaveLength(1);
    expect(windowsFindings(data)).toEqual([]);
    expect(data).toMatchObject({ hotfixes: [], os: null, policy: null, now: null, hresult: '0x0000002A' });
  });
});

describe('WUA error codes as sentences', () => {
  it('knows the codes the issue names, each with its Microsoft name', () => {
    for (const code of [
      '0x8024402C',
      '0x80240438',
      '0x8024001E',
      '0x80072EE2',
      '0x80070005',
      '0x8024000C',
      '0x80244022',
      '0x8024401C',
      '0x80240022',
      '0x80070422',
    ])
      expect(KNOWN_WUA_ERRORS).toContain(code);
    expect(wuaErrorMeaning('0x80070422')!.sentence).toMatch(/service is disabled/);
    expect(wuaErrorMeaning('0x80070005')!.sentence).toMatch(/one-off SYSTEM task/);
    expect(wuaErrorMeaning('0x12345678')).toBeNull();
  });

  it('turns a failed search into the sentence of its code', async () => {
    const out = wua({
      ok: false,
      error: 'Exception from HRESULT: 0x8024402C',
      hresult: '0x8024402c',
      updates: [],
    });
    const error = await collect({ run: () => Promise.resolve(ok(out)) }, { refresh: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      kind: 'command-failed',
      message: expect.stringMatching(
        /0x8024402C, WU_E_PT_WINHTTP_NAME_NOT_RESOLVED\): Windows Update could not resolve/,
      ),
    });
    const unknown = wua({ ok: false, error: 'odd', hresult: '0x87654321', updates: [] });
    await expect(
      collect({ run: () => Promise.resolve(ok(unknown)) }, { refresh: true }),
    ).rejects.toMatchObject({
      kind: 'command-failed',
      message: 'The Windows Update search failed (0x87654321: odd).',
    });
  });
});

describe('a denied search runs through a one-off SYSTEM task', () => {
  const b64 = (s: string): string => Buffer.from(`\uFEFF${s}`, 'utf8').toString('base64');

  it('registers the task, polls for its output, reads it and says so', async () => {
    let polls = 0;
    const exec = psExec((script) => {
      if (script.includes('Register-ScheduledTask')) {
        const name = /-TaskName '([^']+)'/.exec(script)![1]!;
        return ok(`PATCHDECK-TASK-STARTED:${name}\r\n`);
      }
      if (script.includes('PATCHDECK-TASK-OUTPUT')) {
        polls += 1;
        return ok(
          polls < 3 ? 'PATCHDECK-TASK-WAITING\r\n' : `PATCHDECK-TASK-OUTPUT:${b64(fixture(CONSTRUCTED))}\r\n`,
        );
      }
      return ok(DENIED);
    });
    const result = await collect(exec, { refresh: false, taskPollMs: 0 });
    expect(polls).toBe(3);
    expect(result.windows.searchedBy).toBe('system-task');
    expect(result.updates).toHaveLength(3);
    expect(result.warnings[0]).toMatch(/denied the search to the remote session.*one-off SYSTEM task/);
    const registration = exec.scripts[1]!;
    expect(registration).toMatch(/New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount/);
    expect(registration).toContain('$pdAcl.SetAccessRuleProtection($true,$false)');
    expect(registration).not.toContain('icacls');
    // Its own folder per audit, made fresh: never a shared one someone could have prepared.
    expect(registration).toMatch(
      /@\('C:\\ProgramData\\Patchdeck','C:\\ProgramData\\Patchdeck\\audit','C:\\ProgramData\\Patchdeck\\audit\\[0-9a-f]{16}'\)/,
    );
    const body = taskBodyOf(registration)!;
    expect(body).toContain(buildWindowsUpdateScript(false));
    expect(body).toMatch(
      /Move-Item -Force -LiteralPath 'C:\\ProgramData\\Patchdeck\\audit\\([0-9a-f]{16})\\\1\.json\.tmp'/,
    );
    expect(body).toMatch(
      /Unregister-ScheduledTask -TaskName 'Patchdeck-audit-[0-9a-f]{16}' -TaskPath '\\Patchdeck\\' -Confirm:\$false/,
    );
    // The poll deletes what it read, with its folder (Directory.Delete follows no junction).
    expect(exec.scripts[2]).toContain('[IO.Directory]::Delete((Split-Path -LiteralPath $f), $true)');
    expect(exec.scripts[2]).not.toContain('Remove-Item');
  });

  it('fails clearly when the task cannot start, ends without output, or is denied as SYSTEM too', async () => {
    const notStarted = psExec((s) =>
      ok(s.includes('Register-ScheduledTask') ? '' : DENIED, 'Access is denied.'),
    );
    await expect(collect(notStarted, { refresh: false, taskPollMs: 0 })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/refused.*0x80070005.*could not be started/),
    });
    const gone = psExec((s) => {
      if (s.includes('Register-ScheduledTask'))
        return ok(`PATCHDECK-TASK-STARTED:${/-TaskName '([^']+)'/.exec(s)![1]!}`);
      if (s.includes('PATCHDECK-TASK-OUTPUT')) return ok('PATCHDECK-TASK-GONE');
      return ok(DENIED);
    });
    await expect(collect(gone, { refresh: false, taskPollMs: 0 })).rejects.toMatchObject({
      kind: 'command-failed',
      message: expect.stringMatching(/ended without writing a result/),
    });
    const stillDenied = psExec((s) => {
      if (s.includes('Register-ScheduledTask'))
        return ok(`PATCHDECK-TASK-STARTED:${/-TaskName '([^']+)'/.exec(s)![1]!}`);
      if (s.includes('PATCHDECK-TASK-OUTPUT')) return ok(`PATCHDECK-TASK-OUTPUT:${b64(DENIED)}`);
      return ok(DENIED);
    });
    await expect(collect(stillDenied, { refresh: false, taskPollMs: 0 })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/even as SYSTEM/),
    });
  });

  it('does not try the task in a replay (offline collection) and says what to do', async () => {
    const runs: string[] = [];
    const exec: RemoteExec = { run: (c) => (runs.push(c), Promise.resolve(ok(DENIED))) };
    await expect(collect(exec, { refresh: false, systemTask: false })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/over WinRM, or run the offline collection script/),
    });
    expect(runs).toHaveLength(1);
  });

  it('over OpenSSH (no runPowerShell) says the task does not fit one command line', async () => {
    const runs: string[] = [];
    const exec: RemoteExec = { run: (c) => (runs.push(c), Promise.resolve(ok(DENIED))) };
    await expect(collect(exec, { refresh: false, taskPollMs: 0 })).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/cannot be sent over OpenSSH.*WinRM/),
    });
    expect(runs).toHaveLength(1);
  });
});

describe('buildSystemTaskScript (shared with the patch flow)', () => {
  it('refuses names and folders that could smuggle PowerShell', () => {
    const base = {
      name: 'Patchdeck-x',
      script: 'Write-Output 1',
      outputDir: 'C:\\ProgramData\\Patchdeck\\jobs\\1-2',
    };
    expect(() => buildSystemTaskScript(base)).not.toThrow();
    for (const bad of [
      { name: "x'; Remove-Item C:\\ -Recurse; '" },
      { name: '' },
      { outputDir: 'C:\\Users\\Public\\Patchdeck' },
      { outputDir: 'C:\\ProgramData\\Patchdeck\\..\\..\\Windows' },
      { outputDir: "C:\\ProgramData\\Patchdeck\\a'b" },
      { outputFile: '..' },
      { outputFile: 'a\\b.json' },
    ])
      expect(() => buildSystemTaskScript({ ...base, ...bad })).toThrow();
  });

  it('carries the payload as base64 and protects every folder level before writing it', () => {
    const payload = "Write-Output 'it''s $PdOutDir'";
    const script = buildSystemTaskScript({
      name: 'Patchdeck-7-9',
      script: payload,
      outputDir: 'C:\\ProgramData\\Patchdeck\\jobs\\7-9',
    });
    expect(script).not.toContain(payload);
    expect(taskBodyOf(script)).toContain(payload);
    expect(script).toContain(
      "@('C:\\ProgramData\\Patchdeck','C:\\ProgramData\\Patchdeck\\jobs','C:\\ProgramData\\Patchdeck\\jobs\\7-9')",
    );
    expect(script.trimEnd().split('\n').pop()).toBe("'PATCHDECK-TASK-STARTED:' + 'Patchdeck-7-9'");
  });

  it('builds each folder ACL from scratch and checks it before writing the script or registering the task', () => {
    const script = buildSystemTaskScript({
      name: 'Patchdeck-7-9',
      script: 'Write-Output 1',
      outputDir: 'C:\\ProgramData\\Patchdeck\\jobs\\7-9',
    });
    // No icacls /grant:r (it keeps every other account's entries), nothing by account name.
    expect(script).not.toMatch(/icacls|\/grant|NT AUTHORITY|BUILTIN/i);
    const at = (text: string): number => {
      const i = script.indexOf(text);
      expect(i, text).toBeGreaterThanOrEqual(0);
      return i;
    };
    const steps = [
      '$pdAcl=New-Object Security.AccessControl.DirectorySecurity',
      '$pdAcl.SetAccessRuleProtection($true,$false)',
      "$pdAcl.SetOwner((New-Object Security.Principal.SecurityIdentifier 'S-1-5-32-544'))",
      "foreach ($pdSid in $pdOk) { $pdAcl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule((New-Object Security.Principal.SecurityIdentifier $pdSid),'FullControl','ContainerInherit,ObjectInherit','None','Allow'))) }",
      "foreach ($pdDir in @('C:\\ProgramData\\Patchdeck','C:\\ProgramData\\Patchdeck\\jobs','C:\\ProgramData\\Patchdeck\\jobs\\7-9')) {",
      // The step's own folder: deleted if it was there, then created fresh (New-Item without -Force).
      '  if ($pdDir -eq $pdLeaf -and (Test-Path -LiteralPath $pdDir)) { [IO.Directory]::Delete($pdDir, $true) }',
      '  if ($pdDir -eq $pdLeaf -or -not (Test-Path -LiteralPath $pdDir)) { New-Item -ItemType Directory -Path $pdDir | Out-Null }',
      '  Set-Acl -LiteralPath $pdDir -AclObject $pdAcl',
      '  $pdGot=Get-Acl -LiteralPath $pdDir',
      '$pdOk -notcontains $_.IdentityReference.Value',
      '$pdOk -notcontains $pdGot.GetOwner([Security.Principal.SecurityIdentifier]).Value) { throw',
      "[IO.File]::WriteAllText('C:\\ProgramData\\Patchdeck\\jobs\\7-9\\Patchdeck-7-9.ps1'",
      'Register-ScheduledTask ',
    ];
    const positions = steps.map(at);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(script).toContain("$pdOk=@('S-1-5-18','S-1-5-32-544')");
    expect(script).toContain("$pdLeaf='C:\\ProgramData\\Patchdeck\\jobs\\7-9'");
    expect(script).toContain('-not $pdGot.AreAccessRulesProtected');
    expect(script).not.toMatch(/New-Item[^\n]*-Force/);
    // The root itself is never the task's own folder (it would be deleted with every job in it).
    expect(() =>
      buildSystemTaskScript({ name: 'x', script: '', outputDir: 'C:\\ProgramData\\Patchdeck' }),
    ).toThrow();
  });
});
