import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execOnHost, fillDisk, labStatus, labUp, resetHost, unfillDisk, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute, createTestCore, enrolLab, waitForTask } from './support';

/**
 * The hand-off to Ansible on the lab: a job planned (dry runs over SSH) and approved in Patchdeck,
 * exported, run by Debian's own ansible-playbook (json callback) against 3 Debian hosts without
 * Python, and its results imported. The hosts must end as a Patchdeck job leaves them, judged by
 * dpkg on each host (the lab's ground truth), never by what Patchdeck or Ansible say.
 */
type Env = Awaited<ReturnType<typeof createTestCore>>;

/** Every installed package of a host, `name → version`, as dpkg says (fully installed only). */
async function dpkgVersions(host: string): Promise<Record<string, string>> {
  const out = await execOnHost(host, ['dpkg-query', '-W', '-f=${Package} ${Version} ${db:Status-Abbrev}\n']);
  const versions: Record<string, string> = {};
  for (const line of out.stdout.split('\n')) {
    const [name, version, status] = line.trim().split(/\s+/);
    if (name && version && status === 'ii') versions[name] = version;
  }
  return versions;
}

function runPlaybook(
  dir: string,
  playbook: string,
  keyFile: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const tmp = fs.mkdtempSync(path.join(dir, '..', 'ansible-'));
  return new Promise((resolve, reject) => {
    const child = spawn('ansible-playbook', ['-i', 'inventory.yml', playbook, '--private-key', keyFile], {
      cwd: dir,
      env: {
        ...process.env,
        ANSIBLE_STDOUT_CALLBACK: 'json',
        ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(tmp, 'cp'),
        ANSIBLE_LOCAL_TEMP: path.join(tmp, 'local'),
        ANSIBLE_HOME: path.join(tmp, 'home'),
        ANSIBLE_NOCOLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeAsRoot('the hand-off to Ansible on the lab', () => {
  let lab: LabInventory;
  let env: Env;
  let ids: Map<string, number>;

  beforeAll(async () => {
    lab = await labUp({ hosts: 3, profile: 'several' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    assertLabRoute(lab);
    env = await createTestCore();
    ids = await enrolLab(env.core, lab);
    const { taskId } = await env.core.call('audits.start', { hostIds: [...ids.values()], refresh: true });
    expect((await waitForTask(env.core, taskId)).status).toBe('succeeded');
  });
  afterAll(async () => {
    await unfillDisk(lab.hosts[2]!.name).catch(() => undefined);
    await env?.close();
  });

  it('an approved job run by ansible-playbook on 3 hosts without Python ends exactly as Patchdeck would leave them, and its results come back into the job', async () => {
    const hosts = lab.hosts;
    expect(hosts.map((h) => h.packageManager)).toEqual(['apt', 'apt', 'apt']);
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds: hosts.map((h) => ids.get(h.name)!),
      selection: { mode: 'security' },
      rebootPolicy: 'if-required',
    });
    await waitForTask(env.core, taskId);
    await env.core.call('jobs.approve', { id: jobId });
    const planned = await env.core.call('jobs.get', { id: jobId });
    const before = new Map(
      await Promise.all(hosts.map(async (h) => [h.name, await dpkgVersions(h.name)] as const)),
    );

    const out = path.join(env.dir, 'ansible');
    const exported = await env.core.call('handoff.exportAnsible', { out, jobId });
    expect(exported.hosts).toBe(3);
    expect(exported.skipped).toEqual([]);
    expect(exported.playbook).toBe(`patch-job-${jobId}.yml`);
    // Handed off: Patchdeck itself refuses to run it now.
    await expect(env.core.call('jobs.start', { id: jobId })).rejects.toThrow(
      /was handed to Ansible on .*import its results with `patchdeck import ansible-results`/,
    );
    // The known_hosts holds exactly the keys the lab's hosts really have (pinned after checking).
    const known = fs.readFileSync(path.join(out, 'known_hosts'), 'utf8');
    for (const h of hosts) expect(known).toContain(`${h.address} ssh-`);

    assertLabRoute(lab);
    const run = await runPlaybook(out, exported.playbook!, lab.keyFile);
    const resultsFile = path.join(out, 'results.json');
    fs.writeFileSync(resultsFile, run.stdout);
    // Kept for a person to read: the exported folder and the run's results.
    const kept = path.resolve(__dirname, '../../test-results/ansible-handoff');
    fs.rmSync(kept, { recursive: true, force: true });
    fs.cpSync(out, kept, { recursive: true });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);

    const imported = await env.core.call('handoff.importAnsibleResults', { path: resultsFile });
    expect(imported.jobId).toBe(jobId);
    expect(imported.steps.map((s) => [s.host, s.status, s.message])).toEqual(
      hosts.map((h) => [h.name, 'succeeded', null]),
    );
    expect(imported.auditTaskId).not.toBeNull();
    expect((await waitForTask(env.core, imported.auditTaskId!)).status).toBe('succeeded');

    const detail = await env.core.call('jobs.get', { id: jobId });
    expect(detail.job.status).toBe('succeeded');
    lab = labStatus();
    for (const host of hosts) {
      const step = detail.steps.find((s) => s.hostName === host.name)!;
      const approved = planned.steps.find((s) => s.hostName === host.name)!.packages;
      // What a Patchdeck security job installs on this profile: the security updates, not the held one.
      expect(approved.map((p) => p.name).sort()).toEqual(
        host.pending
          .filter((p) => p.security && !p.held)
          .map((p) => p.name)
          .sort(),
      );
      const now = await dpkgVersions(host.name);
      const expected = { ...before.get(host.name)! };
      for (const p of approved) expected[p.name] = p.to;
      // Exactly the approved versions, and nothing else changed, added or removed.
      expect(now, host.name).toEqual(expected);
      // The imported step says what dpkg says.
      for (const p of approved) expect(step.after?.[p.name], `${host.name} ${p.name}`).toBe(now[p.name]);
      expect(step.status).toBe('succeeded');
      expect(step.undoRecipe).toContain('--allow-downgrades');
      // acme-firmware asked for a reboot and the policy is if-required: the host rebooted.
      expect(lab.hosts.find((h) => h.name === host.name)!.rebootRequired).toBe(false);
      const pending = (
        await env.core.call('findings.query', { hostId: ids.get(host.name)!, limit: 1000 })
      ).rows
        .filter((f) => f.installedVersion !== null)
        .map((f) => f.package)
        .sort();
      expect(pending).toEqual(
        host.pending
          .filter((p) => !p.security || p.held)
          .map((p) => p.name)
          .sort(),
      );
    }
    const log = (await env.core.call('jobs.get', { id: jobId })).log.map((l) => l.text).join('\n');
    expect(log).toMatch(/ansible reboot-wait: ok/);
    // A second import of the same run changes nothing.
    await expect(env.core.call('handoff.importAnsibleResults', { path: resultsFile })).rejects.toThrow(
      /already imported/,
    );
  });

  it("a host whose pre-check fails under Ansible (a package held since the approval, a full disk) is left untouched and its step fails with Patchdeck's own reason", async () => {
    for (const host of lab.hosts) await resetHost(host.name);
    const [ok, held, full] = lab.hosts as [
      LabInventory['hosts'][0],
      LabInventory['hosts'][0],
      LabInventory['hosts'][0],
    ];
    const { taskId: audit } = await env.core.call('audits.start', { hostIds: [...ids.values()] });
    await waitForTask(env.core, audit);
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds: [ok, held, full].map((h) => ids.get(h.name)!),
      selection: { mode: 'security' },
      rebootPolicy: 'never',
    });
    await waitForTask(env.core, taskId);
    await env.core.call('jobs.approve', { id: jobId });
    // After the approval, before the run: someone holds acme-tool on one host, another's disk fills.
    await execOnHost(held.name, ['apt-mark', 'hold', 'acme-tool']);
    await fillDisk(full.name);
    const before = new Map(
      await Promise.all([held, full].map(async (h) => [h.name, await dpkgVersions(h.name)] as const)),
    );
    const out = path.join(env.dir, `ansible-${jobId}`);
    const exported = await env.core.call('handoff.exportAnsible', { out, jobId });
    assertLabRoute(lab);
    const run = await runPlaybook(out, exported.playbook!, lab.keyFile);
    expect(run.code).not.toBe(0);
    const resultsFile = path.join(out, 'results.json');
    fs.writeFileSync(resultsFile, run.stdout);
    const imported = await env.core.call('handoff.importAnsibleResults', {
      path: resultsFile,
      reaudit: false,
    });
    expect(imported.auditTaskId).toBeNull();
    const detail = await env.core.call('jobs.get', { id: jobId });
    expect(detail.job.status).toBe('failed');
    const byName = new Map(detail.steps.map((s) => [s.hostName, s]));
    expect(byName.get(ok.name)!.status).toBe('reboot-pending');
    expect(byName.get(held.name)).toMatchObject({ status: 'failed', errorKind: 'held' });
    expect(byName.get(held.name)!.errorMessage).toMatch(/acme-tool.*never changes held packages/);
    expect(byName.get(full.name)).toMatchObject({ status: 'failed', errorKind: 'disk-full' });
    expect(byName.get(full.name)!.errorMessage).toMatch(
      /MB free \(the job needs at least 100 MB\); nothing was installed/,
    );
    // Nothing was installed where the pre-check failed; the approved versions where it passed.
    for (const h of [held, full]) expect(await dpkgVersions(h.name), h.name).toEqual(before.get(h.name));
    const approved = detail.steps.find((s) => s.hostName === ok.name)!.packages;
    const now = await dpkgVersions(ok.name);
    for (const p of approved) expect(now[p.name]).toBe(p.to);
  });
});
