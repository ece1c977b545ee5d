import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, type LabInventory } from '../lab';
import { SECRET_MASK } from '../../src/remote';
import { describeAsRoot } from '../lab/testkit';
import { Core } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import { assertLabRoute, enrolLab, waitForTask } from './support';

/**
 * Secrets never land anywhere in plaintext: after real audits and patch jobs on lab hosts with a
 * password login, sudo passwords (right and wrong), a wrong login password and a
 * passphrase-protected key, none of those secrets — nor the private keys' bytes — appear in the
 * workspace file, its WAL, the config directory, anything the API returns, or the CLI's JSON
 * exports of the same data.
 */
const ROOT = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-secrets-'));
const configDir = path.join(dir, 'config');
const wsPath = path.join(dir, 'ws.sqlite');

const WRONG_SUDO = 'wrong-sudo-7f3a9c5e';
const WRONG_LOGIN = 'wrong-login-2b9e41d0';
const KEY_PASSPHRASE = 'key-passphrase-51c0de77';

const REQUIRETTY =
  'echo "Defaults requiretty" > /etc/sudoers.d/zz-requiretty && chmod 440 /etc/sudoers.d/zz-requiretty';
/**
 * A sudo in front of the real one (first in sshd's PATH) that prints the line typed on its
 * standard input — the password — as a terminal with echo on would, then hands it to sudo.
 */
const ECHOING_SUDO = `
cat > /usr/local/bin/sudo <<'WRAPPER'
#!/bin/sh
IFS= read -r typed
printf '%s\\n' "$typed"
echo echoed >> /var/tmp/pd-echoed
printf '%s\\n' "$typed" | exec /usr/bin/sudo "$@"
WRAPPER
chmod 755 /usr/local/bin/sudo`;

/** Distinctive pieces of a private key file: every base64 body line long enough to be unique. */
function keyChunks(pem: string): string[] {
  return pem
    .split('\n')
    .filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l))
    .map((l) => l.slice(0, 40));
}

/** The secret as bytes, and the encodings a careless serialisation would produce. */
function needles(secret: string): Buffer[] {
  const raw = Buffer.from(secret, 'utf8');
  return [
    raw,
    Buffer.from(raw.toString('base64')),
    Buffer.from(raw.toString('hex')),
    Buffer.from(secret, 'utf16le'),
  ];
}

function filesUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describeAsRoot('no secret in plaintext, after real audits and patches', () => {
  let lab: LabInventory;
  let core: Core;
  const secrets: Record<string, string> = {};
  const returned: string[] = [];

  beforeAll(async () => {
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    assertLabRoute(lab);
    for (const h of lab.hosts.slice(0, 2)) await resetHost(h.name);
    // Read the inventory after the resets: a reset restores the host's own keys (an earlier suite
    // may have rekeyed it), and the keys are checked against the inventory before they are trusted.
    lab = labStatus();
    const [keyHost, pwHost] = [lab.hosts[0]!, lab.hosts[1]!];
    core = new Core({
      platform: createNodePlatform({ configDir, useKeychain: false }),
      carrier: 'test',
    });
    await core.openWorkspace(wsPath, { create: 'if-missing' });
    const ids = await enrolLab(core, lab, [keyHost, pwHost]);
    const plainKey = fs.readFileSync(lab.keyFile, 'utf8');
    // A passphrase-protected copy of the lab key.
    const encryptedKeyFile = path.join(dir, 'id_protected');
    fs.copyFileSync(lab.keyFile, encryptedKeyFile);
    fs.chmodSync(encryptedKeyFile, 0o600);
    execFileSync('ssh-keygen', ['-q', '-p', '-f', encryptedKeyFile, '-N', KEY_PASSPHRASE, '-P', '']);
    const encryptedKey = fs.readFileSync(encryptedKeyFile, 'utf8');
    const operator = pwHost.users.find((u) => u.sudo === 'password')!;
    Object.assign(secrets, {
      'operator password': operator.password!,
      'wrong sudo password': WRONG_SUDO,
      'wrong login password': WRONG_LOGIN,
      'key passphrase': KEY_PASSPHRASE,
    });
    keyChunks(plainKey).forEach((c, i) => (secrets[`lab private key, line ${i}`] = c));
    keyChunks(encryptedKey).forEach((c, i) => (secrets[`protected private key, line ${i}`] = c));
    expect(Object.keys(secrets).length).toBeGreaterThan(6);

    const keyId = ids.get(keyHost.name)!;
    const pwId = ids.get(pwHost.name)!;
    const add = (args: Parameters<Core['call']>[1]) => core.call('credentials.add', args as never);
    const protectedKey = await add({
      name: 'protected key',
      username: 'admin',
      kind: 'key',
      secret: encryptedKey,
      passphrase: KEY_PASSPHRASE,
      scope: [],
    });
    const good = await add({
      name: 'operator',
      username: operator.name,
      kind: 'password',
      secret: operator.password!,
      scope: [],
    });
    const wrongSudo = await add({
      name: 'operator wrong sudo',
      username: operator.name,
      kind: 'password',
      secret: operator.password!,
      sudoPassword: WRONG_SUDO,
      scope: [],
    });
    const wrongLogin = await add({
      name: 'wrong login',
      username: operator.name,
      kind: 'password',
      secret: WRONG_LOGIN,
      scope: [],
    });

    const audit = async (hostId: number, credentialId: number, refresh = false) => {
      const { taskId } = await core.call('audits.start', { hostIds: [hostId], credentialId, refresh });
      await waitForTask(core, taskId);
      const [latest] = await core.call('audits.forHost', { hostId });
      return latest!;
    };
    expect((await audit(keyId, protectedKey.id)).status).toBe('succeeded');
    expect((await audit(pwId, good.id, true)).status).toBe('succeeded');
    expect((await audit(pwId, wrongSudo.id, true)).errorKind).toBe('sudo');
    expect((await audit(pwId, wrongLogin.id)).errorKind).toBe('auth-failed');

    const patch = async (hostId: number, credentialId: number) => {
      const { jobId, taskId } = await core.call('jobs.plan', {
        hostIds: [hostId],
        selection: { mode: 'security' },
        rebootPolicy: 'never',
        options: { credentialId },
      });
      await waitForTask(core, taskId);
      await core.call('jobs.approve', { id: jobId }).catch(() => undefined);
      const started = await core.call('jobs.start', { id: jobId }).catch(() => null);
      if (started?.taskId) await waitForTask(core, started.taskId);
      return core.call('jobs.get', { id: jobId });
    };
    // The install goes through `sudo -S` with the operator's password on stdin.
    const ok = await patch(pwId, good.id);
    expect(ok.job.status, ok.steps[0]?.errorMessage ?? '').toBe('succeeded');
    await resetHost(pwHost.name);
    expect((await audit(pwId, good.id)).securityCount).toBeGreaterThan(0);
    const refused = await patch(pwId, wrongSudo.id);
    expect(refused.steps[0]!.status).toBe('failed');

    // Under `Defaults requiretty` sudo runs in a pseudo-terminal and the sudo password is typed into
    // it. First a plain requiretty host (the terminal's own echo), then one whose sudo echoes
    // whatever is typed back to the output whatever the terminal is told — the redaction by value
    // is all that stands between the password and the job log there.
    try {
      for (const echoing of [false, true]) {
        await resetHost(pwHost.name);
        await execOnHost(pwHost.name, ['sh', '-c', echoing ? REQUIRETTY + ECHOING_SUDO : REQUIRETTY]);
        const tty = await audit(pwId, good.id, true);
        expect(tty.status, tty.errorMessage ?? '').toBe('succeeded');
        expect(tty.refreshed).toBe(true);
        const refusedTty = await audit(pwId, wrongSudo.id, true);
        expect(refusedTty.status).toBe('failed');
        const job = await patch(pwId, good.id);
        expect(job.job.status, job.steps[0]?.errorMessage ?? '').toBe('succeeded');
        const log = JSON.stringify(job);
        expect(log).toMatch(/Unpacking|Setting up/);
        const where = echoing ? 'behind an echoing sudo' : 'under requiretty';
        expect(log.includes(operator.password!), `sudo password in the job log ${where}`).toBe(false);
        for (const record of [tty, refusedTty])
          for (const secret of [operator.password!, WRONG_SUDO])
            expect(JSON.stringify(record).includes(secret), `a sudo password in an audit ${where}`).toBe(
              false,
            );
        if (echoing) {
          // The echo really happened (the wrapper counts the lines it echoed), and was masked.
          const echoed = await execOnHost(pwHost.name, ['cat', '/var/tmp/pd-echoed']);
          expect(echoed.stdout.split('\n').filter(Boolean).length).toBeGreaterThan(2);
          expect(log).toContain(SECRET_MASK);
        } else {
          // OpenSSH's sshd gave the terminal no echo (as asked): there was nothing to mask.
          expect(log).not.toContain(SECRET_MASK);
        }
      }
    } finally {
      await resetHost(pwHost.name);
    }

    // Everything the API hands out about these hosts, jobs and credentials.
    for (const hostId of [keyId, pwId]) {
      returned.push(JSON.stringify(await core.call('audits.forHost', { hostId })));
      returned.push(JSON.stringify(await core.call('findings.query', { hostId, limit: 1000 })));
      returned.push(JSON.stringify(await core.call('hosts.get', { id: hostId })));
    }
    for (const job of await core.call('jobs.list', {}))
      returned.push(JSON.stringify(await core.call('jobs.get', { id: job.id })));
    returned.push(JSON.stringify(await core.call('credentials.list', {})));
    returned.push(JSON.stringify(await core.call('tasks.list', {})));
  });

  afterAll(async () => {
    await core?.closeWorkspace();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps them out of the workspace file, its WAL and the config directory', () => {
    // Read while the workspace is still open, so the WAL holds the most recent writes.
    const files = [wsPath, `${wsPath}-wal`, `${wsPath}-shm`, ...filesUnder(configDir)].filter((f) =>
      fs.existsSync(f),
    );
    expect(files).toContain(wsPath);
    expect(fs.statSync(wsPath).size).toBeGreaterThan(0);
    expect(fs.statSync(`${wsPath}-wal`).size).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      for (const [what, secret] of Object.entries(secrets))
        for (const needle of needles(secret))
          expect(bytes.includes(needle), `${what} found in ${path.basename(file)}`).toBe(false);
    }
  });

  it('keeps them out of everything the API returns', () => {
    expect(returned.join('\n')).toMatch(/sudo/); // the failures were reported…
    for (const text of returned)
      for (const [what, secret] of Object.entries(secrets))
        expect(text.includes(secret), `${what} returned by the API`).toBe(false);
  });

  it('keeps them out of the CLI’s JSON and table exports', async () => {
    await core.closeWorkspace();
    // `jobs show` of a job that did not succeed exits 1 (README, "When work finishes").
    const jobStatus = new Map(
      (
        JSON.parse(
          spawnSync(
            process.execPath,
            [path.join(ROOT, 'bin/patchdeck.mjs'), '-w', wsPath, '--json', 'jobs', 'list'],
            {
              env: { ...process.env, PATCHDECK_CONFIG_DIR: configDir, NO_COLOR: '1' },
              encoding: 'utf8',
            },
          ).stdout,
        ) as { id: number; status: string }[]
      ).map((j) => [j.id, j.status]),
    );
    const showCode = (id: number) => (jobStatus.get(id) === 'succeeded' ? 0 : 1);
    const run = (args: string[], code = 0) => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/patchdeck.mjs'), '-w', wsPath, ...args], {
        env: { ...process.env, PATCHDECK_CONFIG_DIR: configDir, NO_COLOR: '1' },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(code);
      return r.stdout + r.stderr;
    };
    const outputs = [
      run(['--json', 'credential', 'list']),
      run(['credential', 'list']),
      run(['--json', 'hosts', 'list']),
      run(['--json', 'jobs', 'list']),
      run(['--json', 'jobs', 'show', '1'], showCode(1)),
      run(['--json', 'jobs', 'show', '2'], showCode(2)),
      run(['jobs', 'show', '2'], showCode(2)),
    ];
    expect(outputs.join('\n')).toMatch(/operator wrong sudo/);
    for (const text of outputs)
      for (const [what, secret] of Object.entries(secrets))
        expect(text.includes(secret), `${what} in a CLI export`).toBe(false);
  });
});
