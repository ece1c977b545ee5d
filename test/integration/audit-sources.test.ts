import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { listInstalledPackages } from '../../src/db';
import { assertLabRoute, createTestCore, enrolLab, waitForTask } from './support';

/**
 * A real audit of the lab's apt, zypper and dnf hosts stores each finding's source package and
 * the host's whole installed set. Compared with the lab's ground truth (the recipe's source names)
 * and with the hosts' own package databases read from inside them, never with hand-written lists.
 */
describeAsRoot('audit: source packages and the installed set, against the lab', () => {
  let lab: LabInventory;
  let env: Awaited<ReturnType<typeof createTestCore>>;
  let ids: Map<string, number>;

  beforeAll(async () => {
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    env = await createTestCore();
    ids = await enrolLab(env.core, lab, lab.hosts, { trust: 'first-use' });
  });
  beforeEach(() => assertLabRoute(lab));
  afterAll(async () => {
    await env?.close();
  });

  /** What the host's own database lists as installed: `name version` per package. */
  async function installedOnHost(packageManager: string, name: string): Promise<string[]> {
    const argv =
      packageManager === 'apt'
        ? ['dpkg-query', '-W', '-f', '${db:Status-Abbrev} ${Package} ${Version}\n']
        : ['rpm', '-qa', '--qf', '%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n'];
    const { stdout } = await execOnHost(name, argv);
    return (
      stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        // dpkg's config-files and not-installed entries are no installed packages.
        .filter((l) => packageManager !== 'apt' || (l[1] !== 'c' && l[1] !== 'n'))
        .map((l) => (packageManager === 'apt' ? l.slice(4) : l))
        .filter((l) => !l.startsWith('gpg-pubkey '))
        .sort()
    );
  }

  it('every finding carries its source package and versions, and the installed set is the host’s own', async () => {
    const { taskId } = await env.core.call('audits.start', { refresh: true });
    expect((await waitForTask(env.core, taskId)).status).toBe('succeeded');
    const latest = await env.core.call('audits.latest', {});
    const db = env.core.requireWorkspace().db;
    const managers = new Set<string>();
    for (const host of lab.hosts) {
      const audit = latest.find((a) => a.hostId === ids.get(host.name))!;
      expect(audit.status, `${host.name}: ${audit.errorMessage}`).toBe('succeeded');
      managers.add(host.packageManager);
      const page = await env.core.call('findings.query', { hostId: audit.hostId, limit: 1000 });
      const upgrades = page.rows.filter((f) => f.installedVersion !== null && f.kind === 'package');
      expect(upgrades.length, host.name).toBe(host.pending.length);
      for (const f of upgrades) {
        const truth = host.pending.find((p) => p.name === f.package)!;
        // The lab builds every binary from a source of its own name and version.
        expect(
          {
            name: f.package,
            source: f.sourcePackage,
            installed: f.sourceInstalledVersion,
            available: f.sourceAvailableVersion,
          },
          host.name,
        ).toEqual({
          name: truth.name,
          source: truth.sourceName,
          installed: truth.installed,
          available: truth.available,
        });
      }
      const stored = listInstalledPackages(db, audit.id);
      const own = await installedOnHost(host.packageManager, host.name);
      expect(stored.map((p) => `${p.name} ${p.version}`).sort(), host.name).toEqual(own);
      for (const p of stored) expect(p.sourceName, `${host.name} ${p.name}`).not.toBeNull();
    }
    expect([...managers].sort()).toEqual(['apt', 'dnf', 'zypper']);
  });
});
