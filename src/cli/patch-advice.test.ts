import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Core } from '../core';
import { completeAudit, startAudit } from '../db';
import { createNodePlatform } from '../platform';
import { runCli } from './testing/run-cli';

// `patchdeck patch` as a real process: a host that no credential covers fails its dry run as
// no-credential, and the CLI says what to do in commands (the window has its own words).
let dir: string;
let file: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-patch-advice-'));
  file = path.join(dir, 'ws.sqlite');
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  const host = await core.call('hosts.add', { name: 'web1', address: '127.0.0.1', sshPort: 9 });
  await core.call('credentials.add', { name: 'db only', username: 'root', kind: 'agent', scope: ['db9'] });
  const db = core.requireWorkspace().db;
  completeAudit(db, startAudit(db, { hostId: host.id, taskId: null }), {
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 0,
    rebootRequired: false,
    warnings: [],
    durationMs: 1,
    findings: [
      {
        kind: 'package',
        package: 'openssl',
        arch: 'amd64',
        installedVersion: '3.0.1',
        availableVersion: '3.0.2',
        repository: 'security',
        security: true,
        severity: 'high',
        vendorSeverity: null,
        advisories: [],
        held: false,
        rebootRequired: null,
      },
    ],
  });
  await core.closeWorkspace();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('patch names the credential command for a host no credential covers', async () => {
  const result = await runCli(['patch', 'web1'], { workspace: file, configDir: path.join(dir, 'config') });
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('No credential covers web1, so it was not contacted.');
  expect(result.stderr).toContain(
    'Add one with `patchdeck credential add --name NAME --user USER … --hosts web1`',
  );
});
