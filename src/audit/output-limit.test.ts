/**
 * The output limit as the workspace setting sets it, end to end: a real Core over a real workspace
 * file audits — and plans a patch for — a host played by a real SSH server on 127.0.0.1 (ssh2's)
 * that answers every command with a flood. Both record `output-too-large`, with the limit the
 * Settings page chose, instead of buffering the flood.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Core } from '../core';
import { completeAudit, startAudit } from '../db/audits';
import { trustHostKey } from '../db/host-keys';
import { createNodePlatform } from '../platform';
import { reply, startFakeSshHost, type FakeSshHost } from '../remote/testing/ssh-host';

const MiB = 1024 * 1024;
let sshHost: FakeSshHost;
let port = 0;
let keyType = '';
let fingerprint = '';
/** The most any one command managed to send (the flood is bounded so old code ends, too). */
let largestSent = 0;

beforeAll(async () => {
  // Every command answers with a flood of 64 KiB blocks, as fast as the client reads them.
  sshHost = await startFakeSshHost((_command, channel) => {
    const block = Buffer.alloc(64 * 1024, 0x42);
    let sent = 0;
    let stopped = false;
    channel.on('close', () => (stopped = true));
    channel.on('error', () => (stopped = true));
    const pump = (): void => {
      while (!stopped && sent < 12 * MiB) {
        sent += block.length;
        largestSent = Math.max(largestSent, sent);
        if (!channel.write(block)) return void channel.once('drain', pump);
      }
      if (!stopped) reply(channel);
    };
    pump();
  });
  ({ port, keyType, fingerprint } = sshHost);
});
afterAll(() => sshHost.close());

let dir: string;
let core: Core;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-output-limit-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
});
afterAll(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

it('an audit and a patch plan of a flooding host fail as output-too-large at the configured limit', async () => {
  expect((await core.call('settings.get', {})).maxCommandOutputMiB).toBe(32);
  await core.call('settings.set', { patch: { maxCommandOutputMiB: 2 } });
  const host = await core.call('hosts.add', { name: 'flooder', address: '127.0.0.1', sshPort: port });
  const db = core.requireWorkspace().db;
  trustHostKey(db, { hostId: host.id, type: keyType, fingerprint, actor: 'test', reason: 'test' });
  await core.call('credentials.add', {
    name: 'office',
    username: 'admin',
    kind: 'password',
    secret: 'office-pw-0a9f',
    scope: ['*'],
  });

  const { taskId } = await core.call('audits.start', { hostIds: [host.id] });
  await core.requireWorkspace().tasks.wait(taskId);
  const [audit] = await core.call('audits.forHost', { hostId: host.id });
  expect(audit!.status).toBe('failed');
  expect(audit!.errorKind).toBe('output-too-large');
  expect(audit!.errorMessage).toMatch(
    /^flooder: the command printed more than 2 MiB \(stdout and stderr together\); Patchdeck stopped reading/,
  );
  expect(largestSent).toBeLessThan(12 * MiB);

  // A patch plan's dry run on the same host: an audit with one finding to plan from, as a
  // successful earlier audit would have left.
  const earlier = startAudit(db, { hostId: host.id, taskId: null });
  completeAudit(db, earlier, {
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
        package: 'acme-tool',
        arch: 'all',
        installedVersion: '1.0-1',
        availableVersion: '1.0-1+deb12u1',
        repository: 'bookworm-security',
        security: true,
        severity: null,
        vendorSeverity: null,
        advisories: [],
        held: false,
        rebootRequired: false,
      },
    ],
  });
  largestSent = 0;
  const plan = await core.call('jobs.plan', {
    hostIds: [host.id],
    selection: { mode: 'all' },
    rebootPolicy: 'never',
  });
  await core.requireWorkspace().tasks.wait(plan.taskId);
  const { steps } = await core.call('jobs.get', { id: plan.jobId });
  expect(steps[0]!.status).toBe('failed');
  expect(steps[0]!.errorKind).toBe('output-too-large');
  expect(steps[0]!.errorMessage).toMatch(/^flooder: the command printed more than 2 MiB/);
  expect(largestSent).toBeLessThan(12 * MiB);
});
