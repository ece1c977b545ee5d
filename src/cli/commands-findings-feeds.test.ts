import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { Core } from '../core';
import { insertHost } from '../db';
import { packageFinding, recordAudit, type AuditedSystem } from '../db/testing/audits';
import { enrichCurrentFindings } from '../intel/enrich';
import { addAdvisory, addEpss, addSource, dateAudit } from '../intel/testing/snapshot';
import { createNodePlatform } from '../platform';
import { systemClock } from '../util';
import { runCli } from './testing/run-cli';

// `patchdeck findings --kev` / `--epss` over a workspace whose snapshot has advisories and EPSS
// scores but no KEV catalogue, then over one with neither: a filter whose feed was never imported
// says so and names the command, instead of a bare "nothing matches".

const ALMA_9: AuditedSystem = { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' };
let dir: string;

async function workspace(name: string, withEpss: boolean): Promise<string> {
  const file = path.join(dir, `${name}.sqlite`);
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  const db = core.requireWorkspace().db;
  const osv = addSource(db, { feed: 'osv', publisher: 'AlmaLinux' });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2023:6077',
    cves: ['CVE-2023-39325', 'CVE-2023-44487'],
    severity: 'medium',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'toolbox', nameKind: 'binary', fixed: '0.0.99.3-10.el9_2' },
    ],
  });
  if (withEpss) {
    const epss = addSource(db, { feed: 'epss', publisher: 'FIRST' });
    addEpss(db, epss, 'CVE-2023-44487', 0.99999, 0.99997);
  }
  const id = recordAudit(db, insertHost(db, { name: 'web1' }).id, ALMA_9, 'dnf', [
    packageFinding({
      package: 'toolbox',
      arch: 'x86_64',
      installedVersion: '0.0.99.3-9.el9_2',
      availableVersion: '0.0.99.3-10.el9_2',
      repository: 'baseos',
    }),
  ]);
  dateAudit(db, id, '2024-01-01T00:00:00.000Z');
  enrichCurrentFindings(db, { clock: systemClock, settings: DEFAULT_SETTINGS });
  await core.closeWorkspace();
  return file;
}

let epssOnly: string;
let bare: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-findings-feeds-'));
  epssOnly = await workspace('epss-only', true);
  bare = await workspace('bare', false);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const patchdeck = (file: string, ...args: string[]) =>
  runCli(args, { workspace: file, configDir: path.join(dir, 'config') });

describe('patchdeck findings with a filter whose feed is missing', () => {
  it(
    '--kev without a KEV catalogue names what is missing and the command',
    { timeout: 120_000 },
    async () => {
      const kev = await patchdeck(epssOnly, 'findings', '--kev');
      expect(kev.code).toBe(0);
      expect(kev.stdout).toBe('No pending updates match these filters.\n');
      expect(kev.stderr).toContain('--kev: no KEV catalogue is imported');
      expect(kev.stderr).toContain('`patchdeck advisories import FILE`');
      expect(kev.stderr).toContain('`patchdeck advisories status`');
      expect(kev.stderr).not.toContain('EPSS');
      // EPSS is imported here: no note for it, and the score is truncated, never rounded up to 1.
      const epss = await patchdeck(epssOnly, 'findings', '--epss', '0.5');
      expect(epss.stdout).toMatch(/toolbox .*medium .*CVE-2023-39325 CVE-2023-44487 .*0\.999 /);
      expect(epss.stdout).not.toContain('1.000');
      expect(epss.stderr).toBe('');
    },
  );

  it('--epss without EPSS scores says so too, and in JSON', { timeout: 120_000 }, async () => {
    const none = await patchdeck(bare, 'findings', '--epss', '0.1');
    expect(none.stdout).toBe('No pending updates match these filters.\n');
    expect(none.stderr).toContain('--epss: no EPSS scores are imported');
    expect(none.stderr).toContain('`patchdeck advisories update --feed epss`');
    const both = await patchdeck(bare, 'findings', '--kev', '--epss', '0.1');
    expect(both.stderr).toContain('--kev: no KEV catalogue is imported');
    expect(both.stderr).toContain('--epss: no EPSS scores are imported');
    const json = await patchdeck(bare, '--json', 'findings', '--kev');
    expect(JSON.parse(json.stdout)).toEqual([]);
    expect(json.stderr).toContain('--kev: no KEV catalogue is imported');
  });
});
