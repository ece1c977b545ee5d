import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { insertHost, readWorkspaceMeta, setSiteName } from '../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../db/testing/audits';
import { createNodePlatform } from '../platform';

// The bundle calls through a real Core (node platform, real workspace files, the real upload
// registry): a carrier other than the desktop gets the bytes back; an upload id imports them.

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bundle-core-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function coreWith(file: string): Promise<Core> {
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  return core;
}

describe('bundles.export / bundles.import', () => {
  it('returns the bundle as base64 without a path, imports it from an upload, and writes it to a path', async () => {
    const site = await coreWith(path.join(dir, 'site.sqlite'));
    const db = site.requireWorkspace().db;
    setSiteName(db, 'Harbour Clinic');
    const host = insertHost(db, { name: 'xray-pc', address: '192.0.2.40' }).id;
    recordAudit(db, host, DEBIAN_12, 'apt', [
      packageFinding({
        package: 'curl',
        arch: 'amd64',
        installedVersion: '7.88.1-10',
        availableVersion: '7.88.1-10+deb12u8',
        repository: 'main',
      }),
    ]);
    const exported = await site.call('bundles.export', {});
    expect(exported).toMatchObject({ path: null, hosts: 1 });
    expect(exported.fileName).toMatch(/^patchdeck-.+\.pdbundle$/u);
    const bytes = Buffer.from(exported.base64!, 'base64');
    expect(bytes.length).toBe(exported.bytes);

    const written = await site.call('bundles.export', {
      path: path.join(dir, 'out.pdbundle'),
      hostIds: [host],
    });
    expect(written.path).toBe(path.join(dir, 'out.pdbundle'));
    expect(fs.statSync(written.path!).size).toBe(written.bytes);
    await expect(site.call('bundles.export', { hostIds: [99999] })).rejects.toThrow(/No host with id 99999/);
    const origin = readWorkspaceMeta(db).uuid;
    await site.closeWorkspace();

    const office = await coreWith(path.join(dir, 'office.sqlite'));
    const upload = office.uploads.begin('Harbour site.pdbundle');
    fs.writeSync(upload.fd, bytes);
    fs.closeSync(upload.fd);
    office.uploads.finish(upload.id, bytes.length);
    const imported = await office.call('bundles.import', { upload: upload.id });
    expect(imported).toMatchObject({
      imported: true,
      originWorkspace: origin,
      added: { hosts: 1, audits: 1, findings: 1 },
    });
    // The upload is spent: a second claim of it fails; the file through a path is "already imported".
    await expect(office.call('bundles.import', { upload: upload.id })).rejects.toThrow();
    fs.writeFileSync(path.join(dir, 'again.pdbundle'), bytes);
    expect(await office.call('bundles.import', { path: path.join(dir, 'again.pdbundle') })).toMatchObject({
      imported: false,
    });
    await expect(office.call('bundles.import', { path: path.join(dir, 'none.pdbundle') })).rejects.toThrow(
      /cannot be read/,
    );
    await office.closeWorkspace();
  });
});
