import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  execOnHost,
  labStatus,
  labUp,
  lockDpkg,
  rekeyHost,
  resetHost,
  stopHost,
  startHost,
  unlockDpkg,
  type LabInventory,
} from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { listAuditLog } from '../../src/db';
import { assertLabRoute, createTestCore, enrolLab, trustLabKeys, waitForTask } from './support';

/**
 * Audits real lab hosts over real SSH and compares every finding with the lab's ground truth
 * (what the lab's own recipe put there), never with hand-written expectations.
 */
describeAsRoot('audit against the lab', () => {
  let lab: LabInventory;
  let env: Awaited<ReturnType<typeof createTestCore>>;
  let ids: Map<string, number>;

  beforeAll(async () => {
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    env = await createTestCore();
    // The lab's admin key is a key-only credential: this suite exercises its explicit trust-on-first-use.
    ids = await enrolLab(env.core, lab, lab.hosts, { trust: 'first-use' });
  });
  beforeEach(() => assertLabRoute(lab));
  afterAll(async () => {
    await env?.close();
  });

  it('finds exactly the pending updates the lab put on each host, with security flags, held and reboot state', async () => {
    // The first audit refreshes metadata (apt-get update / dnf makecache from the lab archive):
    // a dnf host without cached metadata cannot be audited offline, and says so.
    const { taskId } = await env.core.call('audits.start', { refresh: true });
    const task = await waitForTask(env.core, taskId);
    expect(task.status).toBe('succeeded');
    const latest = await env.core.call('audits.latest', {});
    for (const host of lab.hosts) {
      const audit = latest.find((a) => a.hostId === ids.get(host.name))!;
      expect(audit, host.name).toBeTruthy();
      expect(audit.status, `${host.name}: ${audit.errorMessage}`).toBe('succeeded');
      expect(audit.packageManager).toBe(host.packageManager);
      expect(audit.rebootRequired).toBe(host.rebootRequired);
      const page = await env.core.call('findings.query', { hostId: audit.hostId, limit: 1000 });
      const upgrades = page.rows.filter((f) => f.installedVersion !== null);
      const actual = upgrades
        .map((f) => ({
          name: f.package,
          installed: f.installedVersion,
          available: f.availableVersion,
          security: f.security,
          held: f.held,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const expected = host.pending
        .map((p) => ({
          name: p.name,
          installed: p.installed,
          available: p.available,
          security: p.security,
          held: p.held,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      expect(actual, host.name).toEqual(expected);
      // apt's simulation names the packages an upgrade pulls in; dnf check-update lists only
      // upgrades of installed packages (its new dependencies show in the patch dry run).
      const newDeps = page.rows
        .filter((f) => f.installedVersion === null && f.kind !== 'patch')
        .map((f) => f.package)
        .sort();
      const expectedNewDeps =
        host.packageManager === 'apt'
          ? [...new Set(host.pending.flatMap((p) => p.newDependencies))].sort()
          : [];
      expect(newDeps, `${host.name} new dependencies`).toEqual(expectedNewDeps);
      for (const p of host.pending.filter((x) => x.severity)) {
        const f = upgrades.find((u) => u.package === p.name)!;
        expect(f.vendorSeverity?.toLowerCase(), `${host.name} ${p.name} severity`).toBe(
          p.severity!.toLowerCase(),
        );
        for (const advisory of p.advisories) expect(f.advisories).toContain(advisory);
      }
      // The totals the dashboard and the wizard show, against the ground truth. This suite once
      // compared only the package rows and, separately, expected every zypper patch as a finding
      // of its own: so it passed while the zypper host showed 10 updates / 6 security for the lab's
      // 5 / 3. Every row must be a pending update or a new dependency of one, nothing else.
      expect(
        page.rows.filter((f) => f.kind === 'patch'),
        `${host.name} patch rows`,
      ).toEqual([]);
      expect(page.rows, `${host.name} rows`).toHaveLength(host.pending.length + expectedNewDeps.length);
      expect(audit.updatesCount, `${host.name} updates count`).toBe(page.rows.length);
      expect(audit.securityCount, `${host.name} security count`).toBe(
        host.pending.filter((p) => p.security).length,
      );
      if (host.packageManager === 'zypper') {
        // Each needed patch is shown once, on the packages it updates, with its severity and reboot hint.
        for (const patch of host.patches) {
          const rows = upgrades.filter((f) => f.advisories.includes(patch.id));
          expect(rows.map((f) => f.package).sort(), `${host.name} ${patch.id}`).toEqual(
            patch.packages.filter((n) => host.pending.some((p) => p.name === n)).sort(),
          );
          for (const f of rows) expect(f.security, `${host.name} ${patch.id}`).toBe(patch.security);
        }
        for (const p of host.pending) {
          const f = upgrades.find((u) => u.package === p.name)!;
          expect([...f.advisories].filter((a) => !/^CVE-/.test(a)).sort(), `${host.name} ${p.name}`).toEqual(
            [...p.advisories].sort(),
          );
          expect(f.rebootRequired, `${host.name} ${p.name} reboot`).toBe(p.rebootRequired);
          expect(f.repository, `${host.name} ${p.name} repository`).toBe(p.repository);
        }
      }
    }
  });

  it('a key-only credential set to trust on first use pinned each host key, matching the host’s real key, and logged it', async () => {
    for (const host of lab.hosts) {
      const keys = await env.core.call('hosts.keys', { id: ids.get(host.name)! });
      expect(keys).toHaveLength(1);
      expect(host.hostKeys.map((k) => k.fingerprint)).toContain(keys[0]!.fingerprint);
    }
    const log = listAuditLog(env.core.requireWorkspace().db, { entityType: 'host' });
    expect(log.filter((e) => e.action === 'host-key.trust')).toHaveLength(lab.hosts.length);
  });

  it('sends no password over those first-use pins until an admin reviews them', async () => {
    const host = lab.hosts[0]!;
    const operator = host.users.find((u) => u.sudo === 'password')!;
    const credential = await env.core.call('credentials.add', {
      name: 'lab-operator-before-review',
      username: operator.name,
      kind: 'password',
      secret: operator.password!,
      scope: [],
    });
    const id = ids.get(host.name)!;
    const { taskId } = await env.core.call('audits.start', { hostIds: [id], credentialId: credential.id });
    await waitForTask(env.core, taskId);
    const [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.errorKind).toBe('host-key-unknown');
    expect(audit!.errorMessage).toMatch(/pinned automatically on first use and nobody has reviewed it/);
    expect((await env.core.call('hosts.get', { id })).keyTrust).toBe('first-use');
    // The admin checks each pinned key against the machine and vouches for it.
    await trustLabKeys(env.core, lab.hosts, ids);
    for (const h of lab.hosts)
      expect((await env.core.call('hosts.keys', { id: ids.get(h.name)! })).every((k) => k.reviewed)).toBe(
        true,
      );
  });

  it('compares consecutive audits: nothing new, nothing resolved when nothing changed', async () => {
    const host = lab.hosts[0]!;
    const { taskId } = await env.core.call('audits.start', { hostIds: [ids.get(host.name)!] });
    await waitForTask(env.core, taskId);
    const [newest] = await env.core.call('audits.forHost', { hostId: ids.get(host.name)! });
    const diff = await env.core.call('audits.diff', { auditId: newest!.id });
    expect(diff.previousAuditId).not.toBeNull();
    expect(diff.added).toEqual([]);
    expect(diff.resolved).toEqual([]);
    expect(diff.unchanged.length).toBe(newest!.updatesCount);
  });

  it('blocks a changed host key, explains it, and works again only after an explicit re-trust', async () => {
    const host = lab.hosts[1]!;
    const id = ids.get(host.name)!;
    const newKeys = await rekeyHost(host.name);
    const { taskId } = await env.core.call('audits.start', { hostIds: [id] });
    await waitForTask(env.core, taskId);
    let [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.status).toBe('failed');
    expect(audit!.errorKind).toBe('host-key-changed');
    expect(audit!.errorMessage).toMatch(/different host key/);
    const shown = await env.core.call('hosts.trust', { id, pin: false });
    expect(shown.changed).toBe(true);
    await expect(env.core.call('hosts.trust', { id, fingerprint: shown.fingerprint })).rejects.toThrow(
      /Re-trust it explicitly/,
    );
    const trusted = await env.core.call('hosts.trust', { id, fingerprint: shown.fingerprint, replace: true });
    expect(trusted.changed).toBe(true);
    expect(newKeys.map((k) => k.fingerprint)).toContain(trusted.fingerprint);
    const again = await env.core.call('audits.start', { hostIds: [id] });
    await waitForTask(env.core, again.taskId);
    [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.status).toBe('succeeded');
    const log = listAuditLog(env.core.requireWorkspace().db, { entityType: 'host' });
    expect(log.some((e) => e.action === 'host-key.retrust' && e.entityId === String(id))).toBe(true);
  });

  it('uses sudo with a password on stdin, and names a wrong sudo password clearly', async () => {
    const host = lab.hosts[0]!;
    const operator = host.users.find((u) => u.sudo === 'password')!;
    const good = await env.core.call('credentials.add', {
      name: 'lab-operator',
      username: operator.name,
      kind: 'password',
      secret: operator.password!,
      scope: [],
    });
    const id = ids.get(host.name)!;
    // refresh: apt-get update runs through sudo, so the sudo password is really used.
    let { taskId } = await env.core.call('audits.start', {
      hostIds: [id],
      credentialId: good.id,
      refresh: true,
    });
    await waitForTask(env.core, taskId);
    let [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.status, audit!.errorMessage ?? '').toBe('succeeded');

    const bad = await env.core.call('credentials.add', {
      name: 'lab-operator-wrong-sudo',
      username: operator.name,
      kind: 'password',
      secret: operator.password!,
      sudoPassword: 'definitely-not-the-password',
      scope: [],
    });
    ({ taskId } = await env.core.call('audits.start', {
      hostIds: [id],
      credentialId: bad.id,
      refresh: true,
    }));
    await waitForTask(env.core, taskId);
    [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.status).toBe('failed');
    expect(audit!.errorKind).toBe('sudo');
    expect(audit!.errorMessage).toMatch(/wrong sudo password/);
    expect(audit!.errorMessage).not.toContain('definitely-not-the-password');
  });

  it('classifies an unreachable host and a wrong login', async () => {
    const host = lab.hosts[2]!;
    const id = ids.get(host.name)!;
    await stopHost(host.name);
    try {
      const { taskId } = await env.core.call('audits.start', { hostIds: [id] });
      await waitForTask(env.core, taskId);
      const [audit] = await env.core.call('audits.forHost', { hostId: id });
      expect(audit!.errorKind).toBe('unreachable');
    } finally {
      await startHost(host.name);
    }
    const wrong = await env.core.call('credentials.add', {
      name: 'wrong-password',
      username: 'admin',
      kind: 'password',
      secret: 'nope-nope',
      scope: [],
    });
    const { taskId } = await env.core.call('audits.start', { hostIds: [id], credentialId: wrong.id });
    await waitForTask(env.core, taskId);
    const [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.errorKind).toBe('auth-failed');
  });

  it('fails clearly while another process holds the dpkg lock, naming it, and audits again once released', async () => {
    const host = lab.hosts[1]!;
    const id = ids.get(host.name)!;
    await lockDpkg(host.name);
    try {
      const { taskId } = await env.core.call('audits.start', { hostIds: [id] });
      await waitForTask(env.core, taskId);
      const [audit] = await env.core.call('audits.forHost', { hostId: id });
      expect(audit!.status).toBe('failed');
      expect(audit!.errorKind).toBe('package-manager-locked');
      expect(audit!.errorMessage).toMatch(/locked by another process \(unattended-upgr, pid \d+\)/);
    } finally {
      await unlockDpkg(host.name);
    }
    const { taskId } = await env.core.call('audits.start', { hostIds: [id] });
    await waitForTask(env.core, taskId);
    const [audit] = await env.core.call('audits.forHost', { hostId: id });
    expect(audit!.status, audit!.errorMessage ?? '').toBe('succeeded');
    expect(audit!.updatesCount).toBe(host.pending.length);
  });

  it('works when sudo demands a terminal (Defaults requiretty), with and without a sudo password', async () => {
    const host = lab.hosts[0]!;
    const id = ids.get(host.name)!;
    await execOnHost(host.name, [
      'sh',
      '-c',
      'echo "Defaults requiretty" > /etc/sudoers.d/zz-requiretty && chmod 440 /etc/sudoers.d/zz-requiretty',
    ]);
    try {
      // A refresh runs apt-get update through sudo, so sudo's tty rule is really exercised.
      for (const name of ['lab-admin', 'lab-operator']) {
        const credential = (await env.core.call('credentials.list', {})).find((c) => c.name === name)!;
        const { taskId } = await env.core.call('audits.start', {
          hostIds: [id],
          credentialId: credential.id,
          refresh: true,
        });
        await waitForTask(env.core, taskId);
        const [audit] = await env.core.call('audits.forHost', { hostId: id });
        expect(audit!.status, `${name}: ${audit!.errorMessage}`).toBe('succeeded');
        expect(audit!.refreshed).toBe(true);
        expect(audit!.updatesCount).toBe(
          host.pending.length + new Set(host.pending.flatMap((p) => p.newDependencies)).size,
        );
      }
    } finally {
      await execOnHost(host.name, ['rm', '-f', '/etc/sudoers.d/zz-requiretty']);
    }
  });
});
