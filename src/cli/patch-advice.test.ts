import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Core } from '../core';
import { completeAudit, startAudit } from '../db';
import { createNodePlatform } from '../platform';

// `patchdeck patch` as a real process: a host that no credential covers fails its dry run as
// no-credential, and the CLI says what to do in commands (the window has its own words).
const CLI = path.resolve(import.meta.dirname, 'index.ts');
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
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '-w', file, 'patch', 'web1'], {
      env: { ...process.env, PATCHDECK_CONFIG_DIR: path.join(dir, 'config') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('No credential covers web1, so it was not contacted.');
  expect(result.stderr).toContain(
    'Add one with `patchdeck credential add --name NAME --user USER … --hosts web1`',
  );
});
