import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { insertCredential, insertHost, setSiteName } from '../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../db/testing/audits';
import { createNodePlatform } from '../platform';
import { runCli } from './testing/run-cli';

// `patchdeck bundle export` and `patchdeck bundle import` as real processes over real workspace files.

let dir: string;
let site: string;
let office: string;

async function workspace(file: string, fill: (core: Core) => void): Promise<void> {
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  fill(core);
  await core.closeWorkspace();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bundle-cli-'));
  site = path.join(dir, 'site.sqlite');
  office = path.join(dir, 'office.sqlite');
  await workspace(site, (core) => {
    const db = core.requireWorkspace().db;
    setSiteName(db, 'Lakeside Vets');
    insertCredential(db, {
      name: 'deploy',
      username: 'deploy',
      kind: 'key',
      scope: ['*'],
      secret: Buffer.from('sealed-bytes-of-a-key'),
      passphrase: null,
      sudoPassword: null,
    });
    for (const name of ['surgery-1', 'front-desk']) {
      const id = insertHost(db, { name, address: name === 'surgery-1' ? '192.0.2.21' : '192.0.2.22' }).id;
      recordAudit(db, id, DEBIAN_12, 'apt', [
        packageFinding({
          package: 'openssl',
          arch: 'amd64',
          installedVersion: '3.0.11-1',
          availableVersion: '3.0.15-1',
          repository: 'main',
        }),
      ]);
    }
  });
  await workspace(office, (core) => {
    insertHost(core.requireWorkspace().db, { name: 'front-desk', address: '198.51.100.9' });
  });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('patchdeck bundle export / import', () => {
  it('exports a site, imports it at the office (matching a known host by name), and a second import changes nothing', async () => {
    const out = path.join(dir, 'lakeside.pdbundle');
    const exported = await runCli(['bundle', 'export', '--out', out], { configDir: dir, workspace: site });
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(
      new RegExp(
        `^Wrote ${out} \\(2 host\\(s\\), \\d+ bytes, sha256 [0-9a-f]{64}\\); it holds no secret\\.\\n$`,
        'u',
      ),
    );
    expect(fs.readFileSync(out).includes('sealed-bytes-of-a-key')).toBe(false);

    const imported = await runCli(['bundle', 'import', out], { configDir: dir, workspace: office });
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(
      /^Imported the bundle from Lakeside Vets \(made [^)]+\): added 1 host, 2 audits, 2 findings\.\n/u,
    );
    expect(imported.stdout).toMatch(/matched front-desk to host 1 \(by name\)\n/u);

    const again = await runCli(['--json', 'bundle', 'import', out], { configDir: dir, workspace: office });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      imported: false,
      originSite: 'Lakeside Vets',
      added: {},
    });

    const hosts = await runCli(['--json', 'hosts', 'list'], { configDir: dir, workspace: office });
    expect((JSON.parse(hosts.stdout) as { name: string }[]).map((h) => h.name).sort()).toEqual([
      'front-desk',
      'surgery-1',
    ]);
  });

  it('refuses a bundle from the same workspace and a damaged one, with a sentence and a failing exit status', async () => {
    const out = path.join(dir, 'own.pdbundle');
    expect(
      (
        await runCli(['bundle', 'export', '--out', out, '--hosts', 'surgery-1'], {
          configDir: dir,
          workspace: site,
        })
      ).code,
    ).toBe(0);
    const own = await runCli(['bundle', 'import', out], { configDir: dir, workspace: site });
    expect(own.code).not.toBe(0);
    expect(own.stderr).toContain('this bundle came from this workspace; nothing was imported.');

    const bytes = fs.readFileSync(out);
    const cut = path.join(dir, 'cut.pdbundle');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const damaged = await runCli(['bundle', 'import', cut], { configDir: dir, workspace: office });
    expect(damaged.code).not.toBe(0);
    expect(damaged.stderr).toMatch(
      /cut\.pdbundle was refused: it is (not a readable bundle|damaged or truncated).*nothing was imported\./u,
    );
  });
});
