import { describe, expect, it } from 'vitest';
import {
  collect,
  isZypperSuccess,
  parseNeedsRebooting,
  parseZypperInstallSummaryXml,
  parseZypperTable,
  ZYPPER_EXIT,
  parsePatchInfo,
  parseZypperPatchesText,
  parseZypperPatchesXml,
  parseZypperUpdatesText,
  parseZypperUpdatesXml,
  zypperFindings,
} from './index';
import { fixture, fixturePath } from '../testing/fixtures';
import { loadRecording, replayExec, sectionExec } from '../testing/exec';
import { patchesFor, pendingFor } from '../../../test/lab/recipe';

describe('zypper XML (real, throwaway root)', () => {
  it('parses list-updates and list-patches', () => {
    const updates = parseZypperUpdatesXml(fixture('zypper/lab.list-updates.xml'));
    expect(updates.map((u) => [u.name, u.installedVersion, u.availableVersion, u.repository])).toEqual([
      ['pd-kernel', '5.14.0-1', '5.14.0-2', 'pdlab'],
      ['pd-lib', '2.0-1', '2.1-1', 'pdlab'],
      ['pd-plain', '3.0-1', '3.0-2', 'pdlab'],
      ['pd-tool', '1.0-1', '1.1-1', 'pdlab'],
    ]);
    const patches = parseZypperPatchesXml(fixture('zypper/lab.list-patches.xml'));
    expect(patches.map((p) => [p.id, p.category, p.severity, p.rebootRequired, p.issues])).toEqual([
      ['PDSA-2024:0001', 'security', 'important', false, ['CVE-2024-0001']],
      ['PDSA-2024:0002', 'security', 'critical', true, ['CVE-2024-0002', 'CVE-2024-0003']],
      ['PDBA-2024:0003', 'bugfix', null, false, []],
    ]);
  });

  it('maps patches to packages through info -t patch', () => {
    const info = parsePatchInfo(fixture('zypper/lab.info-t-patch.stdout'));
    expect(Object.fromEntries(info)).toEqual({
      'PDSA-2024:0001': ['pd-tool'],
      'PDSA-2024:0002': ['pd-kernel'],
      'PDBA-2024:0003': ['pd-lib'],
    });
  });

  it('agrees between the XML and the plain-text tables of the same run', () => {
    expect(parseZypperUpdatesText(fixture('zypper/lab.list-updates.stdout'))).toEqual(
      parseZypperUpdatesXml(fixture('zypper/lab.list-updates.xml')),
    );
    const text = parseZypperPatchesText(fixture('zypper/lab.list-patches.stdout'));
    expect(text.map((p) => [p.id, p.security, p.severity, p.rebootRequired])).toEqual([
      ['PDBA-2024:0003', false, null, false],
      ['PDSA-2024:0001', true, 'important', false],
      ['PDSA-2024:0002', true, 'critical', true],
    ]);
  });
});

describe('zypper on the lab zypper host (real zypper 1.14.42, SUSE-style updateinfo)', () => {
  // Expected values are the lab's ground truth from its recipe, not written out here.
  const pending = pendingFor('zypper');
  const patches = patchesFor('zypper');
  // Parsed inside each test, never while the file is collected: a parser that throws must fail
  // a test, not stop the file from loading.
  const labFindings = () =>
    zypperFindings(
      parseZypperUpdatesXml(fixture('zypper/lab-host.list-updates.xml')),
      parseZypperPatchesXml(fixture('zypper/lab-host.list-patches.xml')),
      parsePatchInfo(fixture('zypper/lab-host.info-t-patch.stdout')),
    );

  it('finds exactly the pending package updates, with the patches that ship them', () => {
    const findings = labFindings();
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(
      findings
        .filter((f) => f.kind === 'package')
        .map((f) => ({
          name: f.name,
          installed: f.installedVersion,
          available: f.availableVersion,
          repository: f.repository,
          security: f.security,
          severity: f.vendorSeverity,
          advisories: f.advisories.filter((a) => !a.startsWith('CVE-')),
          rebootRequired: f.rebootRequired,
        }))
        .sort(byName),
    ).toEqual(
      pending
        .map((p) => ({
          name: p.name,
          installed: p.installed,
          available: p.available,
          repository: p.repository,
          security: p.security,
          severity: p.severity,
          advisories: p.advisories,
          rebootRequired: p.rebootRequired,
        }))
        .sort(byName),
    );
  });

  it('counts what the host will update: one finding per pending package, security as the ground truth says', () => {
    const findings = labFindings();
    // zypper lists each change twice (the package and the patch that ships it); counting both
    // made 10 updates / 6 security of the lab's 5 / 3.
    expect(findings).toHaveLength(pending.length);
    expect(findings.filter((f) => f.security)).toHaveLength(pending.filter((p) => p.security).length);
    expect(findings.filter((f) => f.kind !== 'package')).toEqual([]);
    expect(findings.every((f) => f.installedVersion !== null)).toBe(true);
  });

  it('shows each needed patch once, on the packages it updates, with its severity and reboot hint (epoch-seconds issued dates parse)', () => {
    const findings = labFindings();
    for (const patch of patches) {
      const rows = findings.filter((f) => f.advisories.includes(patch.id));
      expect(
        rows.map((f) => f.name),
        patch.id,
      ).toEqual(patch.packages.filter((n) => pending.some((p) => p.name === n)));
      for (const row of rows) {
        expect(row.security, patch.id).toBe(patch.security);
        expect(row.vendorSeverity, patch.id).toBe(patch.severity);
        expect(row.rebootRequired, patch.id).toBe(patch.rebootSuggested);
        expect(row.repository, patch.id).toBe(patch.repository);
      }
    }
    expect(Object.fromEntries(parsePatchInfo(fixture('zypper/lab-host.info-t-patch.stdout')))).toEqual(
      Object.fromEntries(patches.map((p) => [p.id, p.packages])),
    );
  });

  it('agrees between the XML and the plain-text tables of the same host', () => {
    const text = parseZypperUpdatesText(fixture('zypper/lab-host.list-updates.stdout'));
    const xml = parseZypperUpdatesXml(fixture('zypper/lab-host.list-updates.xml'));
    // The table names the repository by its name, the XML by its alias.
    expect(text.map((u) => ({ ...u, repository: null }))).toEqual(
      xml.map((u) => ({ ...u, repository: null })),
    );
    const textPatches = parseZypperPatchesText(fixture('zypper/lab-host.list-patches.stdout'));
    expect(textPatches.map((p) => [p.id, p.security, p.vendorSeverity, p.rebootRequired])).toEqual(
      patches.map((p) => [p.id, p.security, p.severity, p.rebootSuggested]),
    );
  });
});

describe('zypper plain text (real SLES 12, GoogleCloudPlatform/osconfig)', () => {
  it('parses list-updates', () => {
    const updates = parseZypperUpdatesText(fixture('zypper/sles-12-1.zypper-list-updates.stdout'));
    expect(updates).toHaveLength(21);
    expect(updates[0]).toEqual({
      name: 'autofs',
      arch: 'x86_64',
      installedVersion: '5.1.3-3.14.1',
      availableVersion: '5.1.3-3.17.1',
      repository: 'SLES12-SP5-Updates',
    });
  });

  it('parses list-patches with categories, severities, statuses and reboot flags', () => {
    const patches = parseZypperPatchesText(fixture('zypper/sles-12-1.zypper-list-patches.stdout'));
    expect(patches).toHaveLength(63);
    const needed = patches.filter((p) => p.status === 'needed');
    expect(needed).toHaveLength(15);
    expect(needed.filter((p) => p.security)).toHaveLength(12);
    expect(patches.find((p) => p.id === 'SUSE-SLE-Module-Public-Cloud-12-2017-995')).toMatchObject({
      security: true,
      severity: 'critical',
      rebootRequired: true,
    });
    expect(patches.find((p) => p.id === 'SUSE-SLE-Module-Containers-12-2020-1664')).toMatchObject({
      rebootRequired: true,
    });
    const findings = zypperFindings([], patches, new Map());
    expect(findings.filter((f) => f.kind === 'patch')).toHaveLength(15);
  });
});

describe('zypper collect()', () => {
  it('replays the real refresh run in one sudo round-trip', async () => {
    const exec = replayExec(loadRecording(fixturePath('zypper/lab-refresh.collect.json')).runs);
    const result = await collect(exec, { refresh: true });
    expect(exec.asked).toHaveLength(1);
    expect(exec.asked[0]!.options.sudo).toBe(true);
    const packages = result.updates.filter((u) => u.kind === 'package');
    expect(packages.map((u) => [u.name, u.security, u.severity, u.rebootRequired])).toEqual([
      ['pd-kernel', true, 'critical', true],
      ['pd-lib', false, null, false],
      ['pd-plain', false, null, null],
      ['pd-tool', true, 'important', false],
    ]);
    // Each of the three patches ships one of these packages: shown on it, not counted again.
    expect(result.updates).toHaveLength(4);
    expect(result.updates.find((u) => u.name === 'pd-kernel')!.advisories).toContain('PDSA-2024:0002');
    expect(result.warnings.filter((w) => /patch/.test(w))).toEqual([]);
    expect(result.rebootRequired).toBe(false);
  });

  it('replays the cached run without sudo', async () => {
    const exec = replayExec(loadRecording(fixturePath('zypper/lab-cached.collect.json')).runs);
    const result = await collect(exec, { refresh: false });
    expect(exec.asked[0]!.options.sudo).toBe(false);
    expect(exec.asked[0]!.command).toContain('--no-refresh --xmlout list-updates');
    expect(result.updates.map((u) => u.name)).toEqual(['pd-kernel', 'pd-lib', 'pd-plain', 'pd-tool']);
  });

  it('lists a needed patch on its own, with a warning, only when zypper did not say which packages it updates', async () => {
    const exec = sectionExec(() => [
      { name: 'updates', stdout: fixture('zypper/lab.list-updates.xml'), code: 0 },
      { name: 'patches', stdout: fixture('zypper/lab.list-patches.xml'), code: 0 },
      { name: 'patchinfo', stdout: '', code: 123 },
      { name: 'reboot', stdout: 'exit=0\n', code: 0 },
    ]);
    const result = await collect(exec, { refresh: false });
    expect(result.updates.filter((u) => u.kind === 'patch').map((u) => u.name)).toEqual([
      'PDSA-2024:0001',
      'PDSA-2024:0002',
      'PDBA-2024:0003',
    ]);
    expect(result.warnings).toContain(
      '3 needed patches update none of the listed package updates (or zypper did not say which packages): listed as patches of their own',
    );
  });

  it('classifies the real lock (exit 7) and reads the reboot hint (exit 102)', async () => {
    const locked = sectionExec(() => [
      { name: 'updates', stdout: fixture('zypper/locked.list-updates.stdout'), code: 7 },
    ]);
    await expect(collect(locked, { refresh: false })).rejects.toMatchObject({
      kind: 'package-manager-locked',
    });
    const reboot = sectionExec(() => [
      { name: 'updates', stdout: fixture('zypper/lab.list-updates.xml'), code: 0 },
      { name: 'patches', stdout: fixture('zypper/lab.list-patches.xml'), code: 0 },
      { name: 'patchinfo', stdout: fixture('zypper/lab.info-t-patch.stdout'), code: 0 },
      { name: 'reboot', stdout: 'exit=102\n', code: 0 },
    ]);
    const result = await collect(reboot, { refresh: false });
    expect(result.rebootRequired).toBe(true);
    const failed = sectionExec(() => [
      { name: 'updates', stdout: '', stderr: 'Unexpected exception.', code: 4 },
    ]);
    await expect(collect(failed, { refresh: false })).rejects.toMatchObject({ kind: 'command-failed' });
  });

  it('survives hostile XML and tables', () => {
    expect(
      parseZypperUpdatesXml(
        '<stream><update-status><update-list><update kind="package" name="$(reboot)" edition="1" arch="x"/><update kind="package" name="ok" edition="1.0" arch="x86_64" edition-old="0.9"><source alias="r\u001b[31m"/></update></update-list></update-status></stream>',
      ),
    ).toEqual([
      {
        name: 'ok',
        arch: 'x86_64',
        installedVersion: '0.9',
        availableVersion: '1.0',
        repository: 'r\\x1b[31m',
      },
    ]);
    expect(() => parseZypperUpdatesXml('<stream><unclosed')).not.toThrow(RangeError);
    expect(parseZypperUpdatesText(`a | b\n---+---\n${'|'.repeat(100_000)}\n`)).toEqual([]);
  });
});

describe('zypper XML the host mangled (found by npm run fuzz)', () => {
  it('refuses it with a CollectorError from the parser itself, not a bare library error', () => {
    // fast-xml-parser throws plain Errors ("readTagExp returned undefined", "CDATA is not
    // closed", "External entities are not supported"); the pure parsers let them escape.
    for (const xml of [
      '<a',
      '<a><![CDATA[x</a>',
      '<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><a>&a;</a>',
    ]) {
      for (const parse of [parseZypperUpdatesXml, parseZypperPatchesXml]) {
        expect(() => parse(xml)).toThrow(
          expect.objectContaining({ name: 'CollectorError', kind: 'command-failed' }) as Error,
        );
      }
    }
  });
});

describe('zypper with exactly one pending update (real, lab host after installing four of five)', () => {
  it('reports the one update and the one patch, from the XML and from the tables alike', () => {
    // One <update> is one element, not a list: it must still be read as one update.
    const updates = parseZypperUpdatesXml(fixture('zypper/lab-host-one.list-updates.xml'));
    expect(updates).toEqual([
      {
        name: 'acme-agent',
        arch: 'noarch',
        installedVersion: '3.0-1.el9',
        availableVersion: '3.1-1.el9',
        repository: 'repo-update',
      },
    ]);
    const text = parseZypperUpdatesText(fixture('zypper/lab-host-one.list-updates.stdout'));
    expect(text).toEqual([{ ...updates[0], repository: 'openSUSE Leap 15.5 - Update (lab)' }]);
    const patches = parseZypperPatchesXml(fixture('zypper/lab-host-one.list-patches.xml'));
    expect(patches).toEqual([
      {
        id: 'openSUSE-SLE-15.5-2026-106',
        category: 'recommended',
        security: false,
        severity: 'low',
        vendorSeverity: 'low',
        status: 'needed',
        rebootRequired: false,
        restartPackageManager: false,
        summary: 'Recommended update for acme-agent',
        repository: 'repo-update',
        issues: [],
      },
    ]);
    const textPatches = parseZypperPatchesText(fixture('zypper/lab-host-one.list-patches.stdout'));
    expect(textPatches).toEqual([{ ...patches[0], repository: 'openSUSE Leap 15.5 - Update (lab)' }]);
  });

  it('audits the host as one pending update, not as up to date', async () => {
    const exec = sectionExec(() => [
      { name: 'updates', stdout: fixture('zypper/lab-host-one.list-updates.xml'), code: 0 },
      { name: 'patches', stdout: fixture('zypper/lab-host-one.list-patches.xml'), code: 0 },
      { name: 'patchinfo', stdout: '', code: 0 },
      { name: 'reboot', stdout: 'exit=0\n', code: 0 },
    ]);
    const result = await collect(exec, { refresh: false });
    expect(result.updates.filter((u) => u.kind === 'package').map((u) => u.name)).toEqual(['acme-agent']);
    expect(result.rebootRequired).toBe(false);
  });
});

describe('zypper exit codes (zypper(8) EXIT CODES)', () => {
  it('counts only 0, 100-103 and 106 as a run that worked', () => {
    const worked = [];
    for (let code = 0; code <= 255; code++) if (isZypperSuccess(code)) worked.push(code);
    expect(worked).toEqual([0, 100, 101, 102, 103, 106]);
    expect(isZypperSuccess(null)).toBe(false);
    expect(ZYPPER_EXIT).toMatchObject({
      ok: 0,
      bug: 1,
      syntax: 2,
      invalidArgs: 3,
      zyppError: 4,
      privileges: 5,
      noRepos: 6,
      locked: 7,
      commit: 8,
      restartZypper: 103,
      reposSkipped: 106,
    });
  });

  it('fails the audit on each error exit 1-8 instead of reading an empty list as up to date', async () => {
    const outputs: Record<number, string> = {
      2: fixture('zypper/lab-host.unknown-command.stdout'),
      5: fixture('zypper/lab-host.install-not-root.stdout'),
      7: fixture('zypper/locked.list-updates.stdout'),
    };
    for (let code = 1; code <= 8; code++) {
      const exec = sectionExec(() => [
        { name: 'updates', stdout: outputs[code] ?? '', code },
        { name: 'patches', stdout: '', code: 0 },
      ]);
      const error = await collect(exec, { refresh: false }).catch((e: unknown) => e);
      expect(error, `exit ${code}`).toMatchObject({
        name: 'CollectorError',
        kind: code === 7 ? 'package-manager-locked' : code === 5 ? 'sudo' : 'command-failed',
      });
    }
    // The same for list-patches: a failed patch listing is no "no patches".
    const patchesFailed = sectionExec(() => [
      { name: 'updates', stdout: fixture('zypper/lab-host-one.list-updates.xml'), code: 0 },
      { name: 'patches', stdout: fixture('zypper/lab-host.unknown-command.stdout'), code: 2 },
    ]);
    await expect(collect(patchesFailed, { refresh: false })).rejects.toMatchObject({
      kind: 'command-failed',
      message: 'zypper list-patches failed on this host (exit 2).',
    });
  });

  it('reads needs-rebooting: 102 reboot, 0 none, anything else unknown', () => {
    expect(parseNeedsRebooting(ZYPPER_EXIT.rebootNeeded)).toBe(true);
    expect(parseNeedsRebooting(0)).toBe(false);
    expect(parseNeedsRebooting(1)).toBeNull();
    expect(parseNeedsRebooting(null)).toBeNull();
  });
});

describe('zypper install --dry-run summaries (real, lab host)', () => {
  it('reads upgrades with both versions, new packages and errors', () => {
    const security = parseZypperInstallSummaryXml(fixture('zypper/lab-host.dry-run-security.xml'));
    expect(security).toEqual({
      upgrades: [
        { name: 'acme-daemon', arch: 'noarch', from: '1:2.0-1.el9', to: '1:2.0-2.el9_3' },
        { name: 'acme-firmware', arch: 'noarch', from: '20230210-1.el9', to: '20240210-1.el9' },
        { name: 'acme-tool', arch: 'noarch', from: '1.0-1.el9', to: '1.1-1.el9' },
      ],
      newPackages: [],
      removals: [],
      errors: [],
      summarised: true,
    });
    const all = parseZypperInstallSummaryXml(fixture('zypper/lab-host.dry-run-all.xml'));
    expect(all.upgrades.map((c) => c.name).sort()).toEqual([
      'acme-agent',
      'acme-daemon',
      'acme-firmware',
      'acme-lib',
      'acme-tool',
    ]);
    expect(all.newPackages).toEqual([
      expect.objectContaining({ name: 'acme-agent-plugins', from: null, arch: 'noarch' }),
    ]);
    expect(all.newPackages[0]!.to).toMatch(/^\d/);
    const noProvider = parseZypperInstallSummaryXml(fixture('zypper/lab-host.dry-run-no-provider.xml'));
    expect(noProvider.summarised).toBe(false);
    expect(noProvider.upgrades).toEqual([]);
    expect(noProvider.errors).toEqual(["No provider of 'acme-tool=9.9-1' found."]);
    const nothing = parseZypperInstallSummaryXml(fixture('zypper/lab-host.dry-run-installed.xml'));
    expect(nothing).toEqual({ upgrades: [], newPackages: [], removals: [], errors: [], summarised: true });
  });

  it('files removals under removals with the old version, and skips what is no package', () => {
    const xml = [
      "<?xml version='1.0'?>",
      '<stream><message type="error">Problem: x</message><message type="info">ok</message>',
      '<install-summary><to-remove><solvable type="package" name="old-lib" edition="1.0-1" arch="x86_64"/></to-remove>',
      '<to-downgrade><solvable type="package" name="acme-tool" edition="1.0-1" edition-old="1.1-1" arch="bogus arch"/>',
      '<solvable type="patch" name="p" edition="1"/><solvable name="bad;name" edition="1"/></to-downgrade>',
      '<other><solvable type="package" name="ignored" edition="1"/></other></install-summary></stream>',
    ].join('');
    expect(parseZypperInstallSummaryXml(xml)).toEqual({
      upgrades: [{ name: 'acme-tool', arch: null, from: '1.1-1', to: '1.0-1' }],
      newPackages: [],
      removals: [{ name: 'old-lib', arch: 'x86_64', from: '1.0-1', to: null }],
      errors: ['Problem: x'],
      summarised: true,
    });
  });

  it('splits a table only after its header rule, keeping pipes inside the last column', () => {
    expect(
      parseZypperTable(
        'noise | here\nA | B | C\n--+---+--\n1 | 2 | x | y\nshort | row\n\nafter | table | z\n',
      ),
    ).toEqual([{ A: '1', B: '2', C: 'x | y' }]);
  });
});

describe('zypper patch details and XML edges', () => {
  it('reads a patch that conflicts with several packages (SLES layout: "Conflicts : [N]" then one per line)', () => {
    // Synthetic, in the layout of SLES 12/15 `zypper info -t patch` (the lab's patches each
    // name one package on the Conflicts line itself).
    const info = [
      'Loading repository data...',
      '',
      'Information for patch SUSE-SLE-SERVER-12-SP4-2019-2974:',
      '----------------------------------------',
      'Name        : SUSE-SLE-SERVER-12-SP4-2019-2974',
      'Summary     : Recommended update for irqbalance',
      'Description :',
      '    This update fixes: irqbalance < everything (bsc#1)',
      'Provides    : patch:SUSE-SLE-SERVER-12-SP4-2019-2974 = 1',
      'Conflicts   : [5]',
      '    irqbalance.src < 1.1.0-9.3.1',
      '    irqbalance.x86_64 < 1.1.0-9.3.1',
      '    srcpackage:common-package < 1.1.0-9.3.1',
      '    kernel-default.x86_64 = 4.12',
      '    libfoo.so.1 < 2',
      'Obsoletes   : old-thing < 1',
      '    old-other < 1',
      '',
      'Information for patch SUSE-2:',
      'Conflicts   : vim<9.0',
      'Information for patch SUSE-3:',
      'Conflicts   : [0]',
    ].join('\n');
    expect(Object.fromEntries(parsePatchInfo(info))).toEqual({
      'SUSE-SLE-SERVER-12-SP4-2019-2974': ['irqbalance', 'common-package', 'libfoo.so'],
      'SUSE-2': ['vim'],
      'SUSE-3': [],
    });
    // Lines before the first patch header belong to no patch.
    expect(parsePatchInfo('Conflicts   : pd-tool < 1\n').size).toBe(0);
  });

  it('keeps only valid patch ids and issue ids, and reads "none" or "---" severities as none', () => {
    const xml = [
      "banner from a login script <noise>\n<?xml version='1.0'?>",
      '<stream><update-status><update-list>',
      '<update kind="patch" name="-bad id" category="security" severity="critical"/>',
      '<update kind="patch" name="P-1" category="Security" severity="none" status="needed" restart="true" pkgmanager="true"><summary>S</summary>',
      '<source alias=""/><issue-list><issue id="CVE-2024-1"/><issue id="$(id)"/></issue-list></update>',
      '<update kind="patch" name="P-2" category="optional" severity="---"/>',
      '<update kind="patch" name="P-3" category="feature" severity="moderate"><source alias="SLES-Updates"/></update>',
      '<update kind="package" name="pkg" edition="1.1"/>',
      '</update-list></update-status></stream>',
    ].join('\n');
    expect(parseZypperPatchesXml(xml)).toEqual([
      {
        id: 'P-1',
        category: 'security',
        security: true,
        severity: 'unknown',
        vendorSeverity: null,
        status: 'needed',
        rebootRequired: true,
        restartPackageManager: true,
        summary: 'S',
        repository: null,
        issues: ['CVE-2024-1'],
      },
      expect.objectContaining({ id: 'P-2', security: false, severity: null, vendorSeverity: null }),
      expect.objectContaining({
        id: 'P-3',
        severity: 'moderate',
        vendorSeverity: 'moderate',
        repository: 'SLES-Updates',
      }),
    ]);
    expect(parseZypperUpdatesXml(xml)).toEqual([
      { name: 'pkg', arch: null, installedVersion: null, availableVersion: '1.1', repository: null },
    ]);
    // No <stream>, or nothing in it: no updates rather than an error.
    expect(parseZypperUpdatesXml("<?xml version='1.0'?><other/>")).toEqual([]);
    expect(parseZypperUpdatesXml("<?xml version='1.0'?><stream>text</stream>")).toEqual([]);
    expect(parseZypperInstallSummaryXml('<stream><install-summary>x</install-summary></stream>')).toEqual({
      upgrades: [],
      newPackages: [],
      removals: [],
      errors: [],
      summarised: true,
    });
  });

  it('refuses XML beyond 32 MiB before parsing it', () => {
    const big = `<stream>${' '.repeat(32 * 1024 * 1024)}</stream>`;
    expect(() => parseZypperUpdatesXml(big)).toThrow(
      expect.objectContaining({ name: 'CollectorError', kind: 'command-failed' }) as Error,
    );
  });

  it('reads one lone error message and says why unreadable XML was refused', () => {
    expect(
      parseZypperInstallSummaryXml(
        '<stream><message type="error">Repository &apos;x&apos; is invalid.</message></stream>',
      ).errors,
    ).toEqual(["Repository 'x' is invalid."]);
    const error = (() => {
      try {
        parseZypperUpdatesXml('<stream><a><![CDATA[x</a>');
      } catch (e) {
        return e as { message: string; stderr: string; command: string };
      }
      return null;
    })();
    expect(error).toMatchObject({
      message: 'zypper printed XML we could not read.',
      command: 'zypper --xmlout',
    });
    expect(error!.stderr).not.toBe('');
  });

  it('keeps table rows with a valid name and version only', () => {
    const table = [
      'S | Repository | Name | Current Version | Available Version | Arch',
      '--+------------+------+-----------------+-------------------+-----',
      'v | Updates    | ok   | 1.0-1           | 1.1-1             | x86_64',
      'v | Updates    | $(x) | 1.0-1           | 1.1-1             | x86_64',
      'v | Updates    | nover | 1.0-1          | ;id               | x86_64',
      'v |            | bare |                 | 2                 | ???',
    ].join('\n');
    expect(parseZypperUpdatesText(table)).toEqual([
      {
        name: 'ok',
        arch: 'x86_64',
        installedVersion: '1.0-1',
        availableVersion: '1.1-1',
        repository: 'Updates',
      },
      { name: 'bare', arch: null, installedVersion: null, availableVersion: '2', repository: null },
    ]);
    const patches = [
      'Repository | Name | Category | Severity | Interactive | Status | Summary',
      '-----------+------+----------+----------+-------------+--------+--------',
      'Updates    | P-9  | security | important | reboot, restart | needed | Fix it',
      'Updates    | P-10 | bugfix   | low      | ---         | applied | Other',
    ].join('\n');
    expect(parseZypperPatchesText(patches)).toEqual([
      expect.objectContaining({
        id: 'P-9',
        security: true,
        severity: 'important',
        rebootRequired: true,
        restartPackageManager: true,
        summary: 'Fix it',
        repository: 'Updates',
        status: 'needed',
      }),
      expect.objectContaining({
        id: 'P-10',
        rebootRequired: false,
        restartPackageManager: false,
        status: 'applied',
      }),
    ]);
  });
});
