import { describe, expect, it } from 'vitest';
import {
  collect,
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
  const findings = zypperFindings(
    parseZypperUpdatesXml(fixture('zypper/lab-host.list-updates.xml')),
    parseZypperPatchesXml(fixture('zypper/lab-host.list-patches.xml')),
    parsePatchInfo(fixture('zypper/lab-host.info-t-patch.stdout')),
  );

  it('finds exactly the pending package updates, with the patches that ship them', () => {
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
    // zypper lists each change twice (the package and the patch that ships it); counting both
    // made 10 updates / 6 security of the lab's 5 / 3.
    expect(findings).toHaveLength(pending.length);
    expect(findings.filter((f) => f.security)).toHaveLength(pending.filter((p) => p.security).length);
    expect(findings.filter((f) => f.kind !== 'package')).toEqual([]);
    expect(findings.every((f) => f.installedVersion !== null)).toBe(true);
  });

  it('shows each needed patch once, on the packages it updates, with its severity and reboot hint (epoch-seconds issued dates parse)', () => {
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
