import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { insertCredential, listSteps, openWorkspace, trustHostKey } from '../db';
import { ed25519HostKey, resultsDocument } from '../handoff/testing/support';
import { insertApprovedJob } from '../patch/testing/jobs';
import { createNodePlatform } from '../platform';
import { runCli } from './testing/run-cli';

// `patchdeck export ansible` and `patchdeck import ansible-results` as real processes over a real
// workspace file with an approved job on two pinned hosts.

let dir: string;
let file: string;
let jobId: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-handoff-cli-'));
  file = path.join(dir, 'ws.sqlite');
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  const db = core.requireWorkspace().db;
  jobId = insertApprovedJob(db, 2, true);
  for (const step of listSteps(db, jobId))
    trustHostKey(db, { hostId: step.hostId, ...ed25519HostKey(), actor: 'admin' });
  insertCredential(db, {
    name: 'deploy',
    username: 'deploy',
    kind: 'key',
    scope: ['*'],
    secret: Buffer.from('not-a-real-key'),
    passphrase: null,
    sudoPassword: null,
  });
  await core.closeWorkspace();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('patchdeck export ansible / import ansible-results', () => {
  it('exports the inventory and the approved job, then Patchdeck refuses to run that job', async () => {
    const out = path.join(dir, 'ansible');
    const exported = await runCli(['export', 'ansible', '--out', out, '--job', String(jobId)], {
      configDir: dir,
      workspace: file,
    });
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(
      `Wrote inventory.yml, known_hosts, ansible.cfg, README.txt, patch-job-${jobId}.yml`,
    );
    expect(exported.stdout).toContain(
      `ANSIBLE_STDOUT_CALLBACK=json ansible-playbook patch-job-${jobId}.yml > results.json`,
    );
    expect(fs.readdirSync(out).sort()).toEqual(
      ['README.txt', 'ansible.cfg', 'inventory.yml', 'known_hosts', `patch-job-${jobId}.yml`].sort(),
    );
    const resumed = await runCli(['jobs', 'resume', String(jobId)], { configDir: dir, workspace: file });
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toMatch(
      new RegExp(
        `Job ${jobId} was handed to Ansible on .*; import its results with \`patchdeck import ansible-results\``,
      ),
    );
    const again = await runCli(['export', 'ansible', '--out', out, '--job', String(jobId)], {
      configDir: dir,
      workspace: file,
    });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/is not empty/);
    // Again into a new folder: allowed, and said.
    const repeated = await runCli(
      ['export', 'ansible', '--out', path.join(dir, 'ansible-again'), '--job', String(jobId)],
      { configDir: dir, workspace: file },
    );
    expect(repeated.stderr).toBe('');
    expect(repeated.code).toBe(0);
    expect(repeated.stdout).toMatch(
      new RegExp(
        `Job ${jobId} was already handed to Ansible on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC; this export replaces that hand-off's playbook`,
      ),
    );
  });

  it('imports the results into the steps and prints each host', async () => {
    const results = path.join(dir, 'results.json');
    const verified = (v: string) => ({
      rc: 0,
      stdout: `PATCHDECK-AFTER acme-tool ${v} ii\r\nPATCHDECK-REBOOT no\r\nPATCHDECK-VERIFIED ok\r\n`,
    });
    fs.writeFileSync(
      results,
      resultsDocument(`Patchdeck job #${jobId}`, [
        { phase: 'verify', hosts: { web01: verified('1.0-1+deb12u1'), web02: verified('1.0-1') } },
      ]),
    );
    const imported = await runCli(['import', 'ansible-results', results, '--no-reaudit'], {
      configDir: dir,
      workspace: file,
    });
    expect(imported.stdout).toContain('web01: succeeded');
    expect(imported.stdout).toMatch(
      /web02: failed — Still pending after the install: acme-tool \(wanted 1\.0-1\+deb12u1, found 1\.0-1\)/,
    );
    expect(imported.stdout).toContain(`Job ${jobId}: results imported.`);
    expect(imported.code).toBe(1);
    const db = openWorkspace(file);
    try {
      expect(listSteps(db, jobId).map((s) => s.status)).toEqual(['succeeded', 'failed']);
    } finally {
      db.close();
    }
    const twice = await runCli(['import', 'ansible-results', results], { configDir: dir, workspace: file });
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toMatch(/already imported .*nothing changed/);
    // Another file does not overwrite the settled job, unless asked to.
    const corrected = path.join(dir, 'corrected.json');
    fs.writeFileSync(
      corrected,
      resultsDocument(`Patchdeck job #${jobId}`, [
        { phase: 'verify', hosts: { web01: verified('1.0-1+deb12u1'), web02: verified('1.0-1+deb12u1') } },
      ]),
    );
    const refused = await runCli(['import', 'ansible-results', corrected, '--no-reaudit'], {
      configDir: dir,
      workspace: file,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /results were already imported on .* from results\.json, which settled the job as failed; corrected\.json was not imported and nothing changed\. To replace those results with corrected\.json, import it again with --replace/,
    );
    const replaced = await runCli(['import', 'ansible-results', corrected, '--no-reaudit', '--replace'], {
      configDir: dir,
      workspace: file,
    });
    expect(replaced.stderr).toBe('');
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toMatch(
      new RegExp(`Job ${jobId}: results imported, replacing those imported on \\d{4}-`),
    );
    const after = openWorkspace(file);
    try {
      expect(listSteps(after, jobId).map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    } finally {
      after.close();
    }
  });

  it('leaves `patchdeck import FILE` (an offline collection) as it was', async () => {
    const missing = await runCli(['import', path.join(dir, 'no-such-collection.txt')], {
      configDir: dir,
      workspace: file,
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).not.toMatch(/ansible/i);
    const help = await runCli(['import', '--help'], { configDir: dir });
    expect(help.stdout).toContain('ansible-results');
  });
});
