import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../api/event-bus';
import {
  getJob,
  insertCredential,
  insertHost,
  listAuditLog,
  listJobLog,
  listSteps,
  trustHostKey,
  updateHost,
  updateJob,
  updateStep,
} from '../db';
import { ACME_SECURITY_UPDATE, insertTestJob } from '../db/testing/jobs';
import { continueJob, planDigest, startJob } from '../patch';
import { insertApprovedJob, memoryPatchService, type MemoryPatchService } from '../patch/testing/jobs';
import { systemClock } from '../util';
import { exportAnsible, importAnsibleResults, type HandoffServiceDeps } from './service';
import { ansibleTool, ed25519HostKey, itWithAnsible, resultsDocument } from './testing/support';

/** Secrets put into the credentials table: none of them may reach any written file. */
const SECRETS = [
  'hunter2-ssh-password',
  'sudo-pw-7731',
  'key-passphrase-0912',
  'BEGIN OPENSSH PRIVATE KEY-abc',
];

let env: MemoryPatchService;
let dir: string;
let reaudits: number[][];

function deps(): HandoffServiceDeps {
  return {
    db: env.db,
    tasks: env.tasks,
    events: new EventBus(),
    clock: systemClock,
    actor: 'admin',
    version: 'test',
    startReaudit: (ids) => {
      reaudits.push(ids);
      return 4242;
    },
  };
}

/** web01, web02 (approved job), each with a pinned ed25519 key, covered by a key credential. */
function workspaceWithJob(): number {
  const jobId = insertApprovedJob(env.db, 2, true);
  for (const step of listSteps(env.db, jobId)) {
    const key = ed25519HostKey();
    trustHostKey(env.db, { hostId: step.hostId, ...key, actor: 'admin' });
    updateHost(env.db, step.hostId, { tags: ['Web Servers', 'office'] });
  }
  insertCredential(env.db, {
    name: 'deploy',
    username: 'deploy',
    kind: 'key',
    scope: ['*'],
    secret: Buffer.from(SECRETS[3]!),
    passphrase: Buffer.from(SECRETS[2]!),
    sudoPassword: Buffer.from(SECRETS[1]!),
  });
  return jobId;
}

function filesOf(out: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]));
}

/** An audit entry as a portable bundle's import writes it: another workspace's record. */
function importedEntry(action: string, jobId: number, details: object): void {
  env.db
    .prepare(
      `INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details) VALUES (?, 'someone-else', ?, 'patch_job', ?, ?)`,
    )
    .run(
      new Date().toISOString(),
      action,
      String(jobId),
      JSON.stringify({
        ...details,
        importedFrom: { workspace: 'other-ws', site: 'Other site', entryId: 7, entityId: jobId },
      }),
    );
}

const rowCounts = (): Record<string, number> =>
  Object.fromEntries(
    ['job_steps', 'job_log', 'audit_log', 'patch_jobs'].map((t) => [
      t,
      (env.db.prepare(`SELECT count(*) n FROM ${t}`).get() as { n: number }).n,
    ]),
  );

beforeEach(() => {
  env = memoryPatchService();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-handoff-'));
  reaudits = [];
});
afterEach(async () => {
  await env.tasks.shutdown();
  env.db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('export ansible: the inventory', () => {
  it('writes hosts with address, port and user, groups from tags, pinned keys only, and leaves out what it cannot reach with why', async () => {
    workspaceWithJob();
    insertHost(env.db, { name: 'nokey', address: '10.0.0.9' });
    insertHost(env.db, { name: 'offline', offlineOnly: true });
    const result = await exportAnsible(deps(), { out: path.join(dir, 'out') });
    expect(result.hosts).toBe(2);
    expect(result.playbook).toBeNull();
    expect(result.skipped.map((s) => s.name).sort()).toEqual(['nokey', 'offline']);
    expect(result.skipped.find((s) => s.name === 'nokey')!.reason).toMatch(/no pinned SSH host key/);
    const files = filesOf(result.dir);
    expect(Object.keys(files).sort()).toEqual(['README.txt', 'ansible.cfg', 'inventory.yml', 'known_hosts']);
    expect(files['inventory.yml']).toContain('"web01":');
    expect(files['inventory.yml']).toContain('ansible_user: !unsafe "deploy"');
    expect(files['inventory.yml']).toContain('"tag_web_servers":');
    expect(files['inventory.yml']).not.toContain('nokey');
    const keys = files['known_hosts']!.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(keys).toHaveLength(2);
    expect(keys.every((l) => /^127\.0\.0\.1 ssh-ed25519 [A-Za-z0-9+/=]+$/.test(l))).toBe(true);
    expect(files['ansible.cfg']).toMatch(/UserKnownHostsFile=\.\/known_hosts/);
    expect(files['ansible.cfg']).toMatch(/StrictHostKeyChecking=yes/);
    expect(files['ansible.cfg']).toMatch(/host_key_checking = True/);
    expect(files['README.txt']).toMatch(/Ansible Vault/);
    expect(files['README.txt']).toMatch(/ssh-agent/);
  });

  it('puts a Windows PC under `windows` with WinRM over NTLM and its account name, never its password', async () => {
    workspaceWithJob();
    const pc = insertHost(env.db, { name: 'OFFICE-PC3', address: '10.0.0.30' });
    env.db.prepare(`UPDATE hosts SET os_family = 'windows' WHERE id = ?`).run(pc.id);
    const account = insertCredential(env.db, {
      name: 'office',
      username: 'OFFICE\\patcher',
      kind: 'windows',
      scope: [],
      secret: Buffer.from(SECRETS[0]!),
      passphrase: null,
      sudoPassword: null,
    });
    updateHost(env.db, pc.id, { credentialId: account.id });
    const result = await exportAnsible(deps(), { out: path.join(dir, 'out') });
    const inventory = fs.readFileSync(path.join(result.dir, 'inventory.yml'), 'utf8');
    expect(inventory).toContain('"OFFICE-PC3":');
    expect(inventory).toContain('ansible_user: !unsafe "OFFICE\\\\patcher"');
    expect(inventory).toContain('ansible_port: 5985');
    expect(inventory).toMatch(
      /"windows":\n {6}vars:\n {8}ansible_connection: winrm\n {8}ansible_winrm_transport: ntlm/,
    );
    expect(inventory).not.toMatch(/ansible_(become_)?pass(word)?\s*:/);
    expect(inventory).not.toContain(SECRETS[0]);
    expect(fs.readFileSync(path.join(result.dir, 'known_hosts'), 'utf8')).not.toContain('10.0.0.30');
  });

  it('never writes a secret: no byte of a password, sudo password, passphrase or key, nor its base64', async () => {
    const jobId = workspaceWithJob();
    const result = await exportAnsible(deps(), { out: path.join(dir, 'out'), jobId });
    const all = Object.values(filesOf(result.dir)).join('\n');
    for (const secret of SECRETS) {
      expect(all).not.toContain(secret);
      expect(all).not.toContain(Buffer.from(secret).toString('base64'));
      expect(all).not.toContain(Buffer.from(secret).toString('hex'));
    }
  });

  it('refuses a folder that is not empty, and writes nothing into it', async () => {
    workspaceWithJob();
    const out = path.join(dir, 'full');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'mine.txt'), 'x');
    await expect(exportAnsible(deps(), { out })).rejects.toThrow(/not empty/);
    expect(fs.readdirSync(out)).toEqual(['mine.txt']);
  });

  itWithAnsible(
    'hostile names and users stay text in Ansible: its own inventory reader shows them, and never evaluates Jinja',
    async () => {
      const jobId = workspaceWithJob();
      const canary = path.join(dir, 'jinja-ran');
      const [first] = listSteps(env.db, jobId);
      updateHost(env.db, first!.hostId, {
        name: `evil"name\n: x {{ lookup('pipe', 'touch ${canary}') }}`,
        tags: ['{{ 7*7 }}', 'a:b'],
      });
      env.db.prepare(`UPDATE credentials SET username = ?`).run(`u{{ lookup('pipe','touch ${canary}') }}`);
      const result = await exportAnsible(deps(), { out: path.join(dir, 'out'), jobId });
      const inv = await ansibleTool('ansible-inventory', ['-i', 'inventory.yml', '--list'], {
        cwd: result.dir,
      });
      // Ansible's reader keeps them as unsafe text: `{ __ansible_unsafe: "…" }`.
      type Unsafe = { __ansible_unsafe: string };
      const listed = JSON.parse(inv.stdout) as {
        _meta: { hostvars: Record<string, Record<string, Unsafe>> };
      };
      const vars = Object.values(listed._meta.hostvars).find((v) =>
        v.patchdeck_name?.__ansible_unsafe.startsWith('evil'),
      )!;
      expect(vars.patchdeck_name!.__ansible_unsafe).toBe(
        `evil"name\n: x {{ lookup('pipe', 'touch ${canary}') }}`,
      );
      expect(vars.ansible_user!.__ansible_unsafe).toBe(`u{{ lookup('pipe','touch ${canary}') }}`);
      // Templating the values on the controller (debug runs there, no connection): still no lookup.
      const shown = await ansibleTool(
        'ansible',
        [
          'all',
          '-i',
          'inventory.yml',
          '-c',
          'local',
          '-m',
          'ansible.builtin.debug',
          '-a',
          '{"msg": "{{ patchdeck_name }} {{ ansible_user }}"}',
        ],
        { cwd: result.dir },
      );
      expect(shown.stdout).toContain(`lookup('pipe', 'touch ${canary}')`);
      await ansibleTool('ansible-playbook', ['--syntax-check', result.playbook!], { cwd: result.dir });
      expect(fs.existsSync(canary)).toBe(false);
    },
  );
});

describe('export ansible --job: the playbook', () => {
  it('is written only for an approved job, records the hand-off, and Patchdeck then refuses to start or resume the job', async () => {
    const jobId = workspaceWithJob();
    updateJob(env.db, jobId, { status: 'draft' });
    await expect(exportAnsible(deps(), { out: path.join(dir, 'a'), jobId })).rejects.toThrow(
      /only an approved job can be handed to Ansible/,
    );
    expect(fs.existsSync(path.join(dir, 'a'))).toBe(false);
    updateJob(env.db, jobId, { status: 'approved' });
    const result = await exportAnsible(deps(), { out: path.join(dir, 'b'), jobId });
    expect(result.playbook).toBe(`patch-job-${jobId}.yml`);
    const playbook = fs.readFileSync(path.join(result.dir, result.playbook!), 'utf8');
    expect(playbook).toContain(`- name: "Patchdeck job #${jobId}"`);
    expect(playbook).toContain(`hosts: "patchdeck_job_${jobId}"`);
    // Exactly the approved package=version, quoted by the one quoting helper.
    expect(playbook).toContain('install --only-upgrade acme-tool=1.0-1+deb12u1\\x0apd_rc');
    expect(playbook).toContain('raw: "{{ patchdeck_steps[inventory_hostname].install }}"');
    expect(playbook).toMatch(/need no Python: every task is `raw`/);
    const row = env.db
      .prepare('SELECT handed_off_to, handed_off_at FROM patch_jobs WHERE id = ?')
      .get(jobId) as {
      handed_off_to: string;
      handed_off_at: string;
    };
    expect(row.handed_off_to).toBe('ansible');
    expect(row.handed_off_at).toMatch(/^\d{4}-/);
    const entry = listAuditLog(env.db).find((e) => e.action === 'job.handoff')!;
    expect(entry.entityId).toBe(String(jobId));
    expect(Object.keys(entry.details.hosts as object).sort()).toEqual(['web01', 'web02']);
    expect(() => startJob(env.svc, jobId, {})).toThrow(
      new RegExp(
        `Job ${jobId} was handed to Ansible on .*; import its results with \`patchdeck import ansible-results\``,
      ),
    );
    updateJob(env.db, jobId, { status: 'interrupted' });
    await expect(continueJob(env.svc, jobId, 'resume')).rejects.toThrow(/was handed to Ansible/);
    expect(getJob(env.db, jobId)!.status).toBe('interrupted');
  });

  it('counts only approvals made in this workspace: an imported approval neither blocks nor approves a plan', async () => {
    const jobId = workspaceWithJob();
    // A newer approval from another workspace, of some other plan: this workspace's approval stands.
    importedEntry('job.approve', jobId, { digest: 'f'.repeat(64) });
    const ok = await exportAnsible(deps(), { out: path.join(dir, 'ok'), jobId });
    expect(ok.playbook).toBe(`patch-job-${jobId}.yml`);
    // The plan changes after the approval; an imported approval of the changed plan does not cover it.
    const [step] = listSteps(env.db, jobId);
    updateStep(env.db, step!.id, { packages: [{ ...step!.packages[0]!, to: '1.0-1+deb12u2' }] });
    importedEntry('job.approve', jobId, { digest: planDigest(env.db, jobId) });
    await expect(exportAnsible(deps(), { out: path.join(dir, 'changed'), jobId })).rejects.toThrow(
      /plan changed since it was approved/,
    );
    expect(fs.existsSync(path.join(dir, 'changed'))).toBe(false);
    // A job whose only approval was imported is not approved here.
    const hostId = insertHost(env.db, { name: 'web03', address: '127.0.0.1' }).id;
    trustHostKey(env.db, { hostId, ...ed25519HostKey(), actor: 'admin' });
    const other = insertTestJob(env.db, [hostId], { packages: [ACME_SECURITY_UPDATE] });
    for (const s of listSteps(env.db, other))
      updateStep(env.db, s.id, { phase: 'approved', preview: step!.preview });
    updateJob(env.db, other, {
      status: 'approved',
      approvedBy: 'someone-else',
      approvedAt: new Date().toISOString(),
    });
    importedEntry('job.approve', other, { digest: planDigest(env.db, other) });
    await expect(exportAnsible(deps(), { out: path.join(dir, 'other'), jobId: other })).rejects.toThrow(
      /no approval recorded in this workspace/,
    );
  });

  it('exporting a handed-off job again says so, is audit-logged as a repeated hand-off, and results then use the newest mapping', async () => {
    const jobId = workspaceWithJob();
    const first = await exportAnsible(deps(), { out: path.join(dir, 'first'), jobId });
    expect(first.replaces).toBeNull();
    const handedAt = (
      env.db.prepare('SELECT handed_off_at AS at FROM patch_jobs WHERE id = ?').get(jobId) as { at: string }
    ).at;
    const web01 = listSteps(env.db, jobId).find((s) => s.hostName === 'web01')!;
    updateHost(env.db, web01.hostId, { name: 'web01-renamed' });
    const second = await exportAnsible(deps(), { out: path.join(dir, 'second'), jobId });
    expect(second.replaces).toMatchObject({ handedOffAt: handedAt, dir: first.dir });
    expect(second.replaces!.message).toMatch(
      new RegExp(
        `^Job ${jobId} was already handed to Ansible on ${handedAt.slice(0, 10)} \\d\\d:\\d\\d UTC; this export replaces that hand-off's playbook`,
      ),
    );
    const handoffs = listAuditLog(env.db).filter((e) => e.action === 'job.handoff');
    expect(handoffs).toHaveLength(2);
    const newest = handoffs.reduce((a, b) => (a.id > b.id ? a : b));
    expect(newest.details).toMatchObject({
      repeated: true,
      replaces: { handedOffAt: handedAt, dir: first.dir },
    });
    expect(Object.keys(newest.details.hosts as object).sort()).toEqual(['web01-renamed', 'web02']);
    expect(
      listJobLog(env.db, jobId)
        .map((l) => l.text)
        .join('\n'),
    ).toMatch(/handed to Ansible again: .* replaces the hand-off of/);
    const verified = {
      rc: 0,
      stdout: 'PATCHDECK-AFTER acme-tool 1.0-1+deb12u1 ii\r\nPATCHDECK-REBOOT no\r\nPATCHDECK-VERIFIED ok',
    };
    const file = path.join(dir, 'renamed.json');
    // The old inventory name is no host of the newest hand-off.
    fs.writeFileSync(
      file,
      resultsDocument(`Patchdeck job #${jobId}`, [
        { phase: 'verify', hosts: { 'web01-renamed': verified, web01: { rc: 1, failed: true, stdout: '' } } },
      ]),
    );
    await importAnsibleResults(deps(), { path: file, reaudit: false });
    const steps = listSteps(env.db, jobId);
    expect(steps.find((s) => s.id === web01.id)!.status).toBe('succeeded');
    expect(steps.find((s) => s.hostName === 'web02')).toMatchObject({
      status: 'failed',
      errorKind: 'not-run',
    });
  });

  it('refuses a job with a host that is not apt, naming it and why', async () => {
    const jobId = workspaceWithJob();
    const [step] = listSteps(env.db, jobId);
    updateStep(env.db, step!.id, { packageManager: 'dnf' });
    await expect(exportAnsible(deps(), { out: path.join(dir, 'c'), jobId })).rejects.toThrow(
      /web01 \(dnf\) is not an apt host/,
    );
  });

  it('refuses a job whose host has no pinned key (it could not be reached with strict host keys)', async () => {
    const jobId = workspaceWithJob();
    const [step] = listSteps(env.db, jobId);
    env.db.prepare(`UPDATE host_keys SET status = 'revoked' WHERE host_id = ?`).run(step!.hostId);
    await expect(exportAnsible(deps(), { out: path.join(dir, 'd'), jobId })).rejects.toThrow(
      /web01: no pinned SSH host key/,
    );
    expect(getJob(env.db, jobId)!.status).toBe('approved');
    expect(env.db.prepare('SELECT handed_off_to FROM patch_jobs WHERE id = ?').get(jobId)).toEqual({
      handed_off_to: null,
    });
  });

  it('refuses a hostile package name instead of writing it into a script', async () => {
    const jobId = workspaceWithJob();
    const [step] = listSteps(env.db, jobId);
    const bad = { ...step!.packages[0]!, name: 'acme;touch /tmp/pwned' };
    updateStep(env.db, step!.id, { packages: [bad] });
    // The digest changed with the packages: re-record an approval of this very plan.
    env.db
      .prepare(
        `INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details) VALUES (?, 'admin', 'job.approve', 'patch_job', ?, ?)`,
      )
      .run(new Date().toISOString(), String(jobId), JSON.stringify({ digest: planDigest(env.db, jobId) }));
    await expect(exportAnsible(deps(), { out: path.join(dir, 'e'), jobId })).rejects.toThrow(
      /cannot be handed to Ansible: Refusing an unsafe package name/,
    );
  });
});

describe('import ansible-results', () => {
  const after = (versions: Record<string, string>, reboot = false): string =>
    [
      ...Object.entries(versions).map(([n, v]) => `PATCHDECK-AFTER ${n} ${v} ii`),
      `PATCHDECK-REBOOT ${reboot ? 'required' : 'no'}`,
      'PATCHDECK-VERIFIED ok',
    ].join('\r\n');

  async function handedOff(): Promise<{ jobId: number; out: string }> {
    const jobId = workspaceWithJob();
    const result = await exportAnsible(deps(), { out: path.join(dir, 'out'), jobId });
    return { jobId, out: result.dir };
  }

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  it('maps each host to its step: a verified host succeeds, a failed task fails its host with its message, the job fails honestly, then re-audits', async () => {
    const { jobId } = await handedOff();
    const file = write(
      'results.json',
      resultsDocument(`Patchdeck job #${jobId}`, [
        {
          phase: 'precheck',
          hosts: {
            web01: {
              changed: false,
              rc: 0,
              stdout: 'PATCHDECK-BEFORE acme-tool 1.0-1 ii\r\nPATCHDECK-PRECHECK ok\r\n',
            },
            web02: {
              changed: false,
              failed: true,
              rc: 1,
              msg: 'non-zero return code',
              stdout:
                'PATCHDECK-FAIL held: A held package would have to change (acme-tool ); Patchdeck never changes held packages.\r\n',
            },
          },
        },
        {
          phase: 'install',
          hosts: {
            web01: { changed: true, rc: 0, stdout: 'Setting up acme-tool\r\nPATCHDECK-REBOOT no\r\n' },
          },
        },
        {
          phase: 'verify',
          hosts: { web01: { changed: false, rc: 0, stdout: after({ 'acme-tool': '1.0-1+deb12u1' }) } },
        },
      ]),
    );
    const imported = await importAnsibleResults(deps(), { path: file });
    expect(imported.jobId).toBe(jobId);
    expect(imported.auditTaskId).toBe(4242);
    expect(reaudits).toEqual([listSteps(env.db, jobId).map((s) => s.hostId)]);
    const steps = listSteps(env.db, jobId);
    const web01 = steps.find((s) => s.hostName === 'web01')!;
    const web02 = steps.find((s) => s.hostName === 'web02')!;
    expect(web01.status).toBe('succeeded');
    expect(web01.before).toEqual({ 'acme-tool': '1.0-1' });
    expect(web01.after).toEqual({ 'acme-tool': '1.0-1+deb12u1' });
    expect(web01.undoRecipe).toContain('acme-tool=1.0-1');
    expect(web02.status).toBe('failed');
    expect(web02.errorKind).toBe('held');
    expect(web02.errorMessage).toMatch(/never changes held packages/);
    const job = getJob(env.db, jobId)!;
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/1 of 2 host\(s\) verified, 1 failed/);
    expect(
      listJobLog(env.db, jobId)
        .map((l) => l.text)
        .join('\n'),
    ).toMatch(/web02: failed under Ansible \(held\)/);
    expect(listAuditLog(env.db).some((e) => e.action === 'job.ansible-results')).toBe(true);
  });

  it('does not take a results file at its word: "verified" with the wrong dpkg version is a failed host', async () => {
    const { jobId } = await handedOff();
    const file = write(
      'lying.json',
      resultsDocument(`Patchdeck job #${jobId}`, [
        {
          phase: 'verify',
          hosts: {
            web01: { rc: 0, stdout: after({ 'acme-tool': '1.0-1' }) },
            web02: { rc: 0, stdout: after({ 'acme-tool': '1.0-1+deb12u1' }, true) },
          },
        },
      ]),
    );
    await importAnsibleResults(deps(), { path: file, reaudit: false });
    const steps = listSteps(env.db, jobId);
    expect(steps.find((s) => s.hostName === 'web01')).toMatchObject({
      status: 'failed',
      errorKind: 'verify-failed',
    });
    expect(steps.find((s) => s.hostName === 'web01')!.errorMessage).toMatch(
      /wanted 1\.0-1\+deb12u1, found 1\.0-1/,
    );
    expect(steps.find((s) => s.hostName === 'web02')!.status).toBe('reboot-pending');
    expect(reaudits).toEqual([]);
  });

  it('refuses a truncated, too deep, foreign or repeated file whole, writing nothing', async () => {
    const { jobId } = await handedOff();
    const good = resultsDocument(`Patchdeck job #${jobId}`, [
      { phase: 'verify', hosts: { web01: { rc: 0, stdout: after({ 'acme-tool': '1.0-1+deb12u1' }) } } },
    ]);
    const before = rowCounts();
    const steps = JSON.stringify(listSteps(env.db, jobId));
    await expect(
      importAnsibleResults(deps(), { path: write('cut.json', good.slice(0, good.length - 40)) }),
    ).rejects.toThrow(/cut\.json is cut short or not JSON; refused\. Nothing was written/);
    await expect(
      importAnsibleResults(deps(), { path: write('deep.json', `${'['.repeat(5000)}${']'.repeat(5000)}`) }),
    ).rejects.toThrow(/not ansible-playbook's JSON output/);
    await expect(
      importAnsibleResults(deps(), {
        path: write('deep2.json', `{"plays":${'['.repeat(100)}${']'.repeat(100)}}`),
      }),
    ).rejects.toThrow(/deep2\.json nests deeper than 64/);
    await expect(
      importAnsibleResults(deps(), {
        path: write('shape.json', JSON.stringify({ plays: [{ play: {}, tasks: 3 }] })),
      }),
    ).rejects.toThrow(/shape\.json is not ansible-playbook's JSON output/);
    await expect(
      importAnsibleResults(deps(), {
        path: write('other.json', good.replace(`Patchdeck job #${jobId}`, 'site.yml')),
      }),
    ).rejects.toThrow(/names no Patchdeck job/);
    const huge = write('huge.json', '{');
    fs.truncateSync(huge, 65 * 1024 * 1024);
    await expect(importAnsibleResults(deps(), { path: huge })).rejects.toThrow(
      /huge\.json is larger than 64 MiB; refused, nothing was written/,
    );
    expect(rowCounts()).toEqual(before);
    expect(JSON.stringify(listSteps(env.db, jobId))).toBe(steps);
    const file = write('results.json', good);
    await importAnsibleResults(deps(), { path: file, reaudit: false });
    const once = rowCounts();
    await expect(importAnsibleResults(deps(), { path: file })).rejects.toThrow(
      /already imported .*nothing changed/,
    );
    expect(rowCounts()).toEqual(once);
  });

  it('results close the job: a second, different file is refused until --replace, and the replacement is audit-logged', async () => {
    const { jobId } = await handedOff();
    const verify = (web01: string, web02?: string) =>
      resultsDocument(`Patchdeck job #${jobId}`, [
        {
          phase: 'verify',
          hosts: {
            web01: { rc: 0, stdout: after({ 'acme-tool': web01 }) },
            ...(web02 ? { web02: { rc: 0, stdout: after({ 'acme-tool': web02 }) } } : {}),
          },
        },
      ]);
    await importAnsibleResults(deps(), {
      path: write('first.json', verify('1.0-1+deb12u1', '1.0-1+deb12u1')),
      reaudit: false,
    });
    expect(getJob(env.db, jobId)!.status).toBe('succeeded');
    const settled = rowCounts();
    const steps = JSON.stringify(listSteps(env.db, jobId));
    const second = write('second.json', verify('1.0-1+deb12u1'));
    const refusal = importAnsibleResults(deps(), { path: second, reaudit: false });
    await expect(refusal).rejects.toThrow(
      new RegExp(
        `Job ${jobId}'s Ansible results were already imported on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC from first\\.json, which settled the job as succeeded; second\\.json was not imported and nothing changed\\. To replace those results with second\\.json, import it again with --replace`,
      ),
    );
    expect(rowCounts()).toEqual(settled);
    expect(JSON.stringify(listSteps(env.db, jobId))).toBe(steps);
    expect(getJob(env.db, jobId)!.status).toBe('succeeded');

    const replaced = await importAnsibleResults(deps(), { path: second, reaudit: false, replace: true });
    expect(replaced.replaced).toMatchObject({ file: 'first.json' });
    const job = getJob(env.db, jobId)!;
    expect(job.status).toBe('failed');
    expect(job.message).toMatch(/results replaced from second\.json: 1 of 2 host\(s\) verified, 1 failed/);
    // web02, verified by the first file, is not in the second: nothing of the first file's claim stays.
    const web02 = listSteps(env.db, jobId).find((s) => s.hostName === 'web02')!;
    expect(web02).toMatchObject({ status: 'failed', errorKind: 'not-run', after: null, undoRecipe: null });
    expect(listSteps(env.db, jobId).find((s) => s.hostName === 'web01')!.status).toBe('succeeded');
    const entries = listAuditLog(env.db).filter((e) => e.action === 'job.ansible-results');
    expect(entries).toHaveLength(2);
    const newest = entries.reduce((a, b) => (a.id > b.id ? a : b));
    expect(newest.details).toMatchObject({
      file: 'second.json',
      replaced: { file: 'first.json', status: 'succeeded' },
    });
    expect(
      listJobLog(env.db, jobId)
        .map((l) => l.text)
        .join('\n'),
    ).toMatch(
      /second\.json replaces the Ansible results imported on .* from first\.json \(the job was succeeded\)/,
    );
    // Replacing with the very file already in force changes nothing.
    const now = rowCounts();
    await expect(importAnsibleResults(deps(), { path: second, replace: true })).rejects.toThrow(
      /second\.json was already imported into job \d+ on .*; nothing changed/,
    );
    expect(rowCounts()).toEqual(now);
  });

  it("never counts entries imported from a bundle: another workspace's hand-off mapping or results", async () => {
    const { jobId } = await handedOff();
    const [web01, web02] = listSteps(env.db, jobId);
    // Another workspace's hand-off with the names swapped, and its import of this very file.
    importedEntry('job.handoff', jobId, {
      to: 'ansible',
      hosts: { web01: web02!.hostId, web02: web01!.hostId },
    });
    const text = resultsDocument(`Patchdeck job #${jobId}`, [
      { phase: 'verify', hosts: { web01: { rc: 0, stdout: after({ 'acme-tool': '1.0-1+deb12u1' }) } } },
    ]);
    const { createHash } = await import('node:crypto');
    importedEntry('job.ansible-results', jobId, {
      file: 'results.json',
      sha256: createHash('sha256').update(text).digest('hex'),
    });
    await importAnsibleResults(deps(), { path: write('results.json', text), reaudit: false });
    const steps = listSteps(env.db, jobId);
    expect(steps.find((s) => s.id === web01!.id)!.status).toBe('succeeded');
    expect(steps.find((s) => s.id === web02!.id)).toMatchObject({ status: 'failed', errorKind: 'not-run' });
  });

  it('refuses results for a job that was never handed to Ansible', async () => {
    const jobId = workspaceWithJob();
    const file = write('r.json', resultsDocument(`Patchdeck job #${jobId}`, []));
    await expect(importAnsibleResults(deps(), { path: file })).rejects.toThrow(/never handed to Ansible/);
  });

  it('a host the results never mention is not run, never succeeded', async () => {
    const { jobId } = await handedOff();
    const file = write(
      'partial.json',
      resultsDocument(`Patchdeck job #${jobId}`, [
        { phase: 'verify', hosts: { web01: { rc: 0, stdout: after({ 'acme-tool': '1.0-1+deb12u1' }) } } },
      ]),
    );
    await importAnsibleResults(deps(), { path: file });
    const web02 = listSteps(env.db, jobId).find((s) => s.hostName === 'web02')!;
    expect(web02).toMatchObject({ status: 'failed', errorKind: 'not-run' });
    // Only hosts Ansible ran are re-audited.
    expect(reaudits).toEqual([[listSteps(env.db, jobId).find((s) => s.hostName === 'web01')!.hostId]]);
  });
});
