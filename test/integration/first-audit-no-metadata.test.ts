import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, type LabHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute, createTestCore, enrolLab, waitForTask } from './support';

/**
 * Issue 10, bug 5: the first audit of the lab's dnf host, with default settings, failed with
 * 'audit with "refresh" once' — an option the Hosts page did not even offer. A host with no
 * cached metadata at all is now refreshed once by the audit itself, which says so.
 */
describeAsRoot('first audit of a host that has no cached package metadata', () => {
  let lab: LabInventory;
  let dnf: LabHost;
  let apt: LabHost;
  let env: Awaited<ReturnType<typeof createTestCore>>;
  let hostId: number;
  let aptId: number;

  beforeAll(async () => {
    lab = await labUp({ hosts: 3, profile: 'mixed' });
    dnf = lab.hosts.find((h) => h.packageManager === 'dnf')!;
    apt = lab.hosts.find((h) => h.packageManager === 'apt')!;
    expect(dnf, 'the mixed lab has a dnf host').toBeTruthy();
    expect(apt, 'the mixed lab has an apt host').toBeTruthy();
    await resetHost(dnf.name);
    await resetHost(apt.name);
    lab = labStatus();
    dnf = lab.hosts.find((h) => h.name === dnf.name)!;
    apt = lab.hosts.find((h) => h.name === apt.name)!;
    env = await createTestCore();
    const ids = await enrolLab(env.core, lab, [dnf, apt]);
    hostId = ids.get(dnf.name)!;
    aptId = ids.get(apt.name)!;
  });
  beforeEach(() => assertLabRoute(lab, dnf.address));
  afterAll(async () => {
    await env?.close();
  });

  it('refreshes the metadata once by itself, says so, and finds the lab’s pending updates', async () => {
    // Whatever an earlier suite left: no cached metadata at all, as on a fresh install.
    await execOnHost(dnf.name, ['sh', '-c', 'rm -rf /var/cache/dnf /var/cache/yum']);
    const { taskId } = await env.core.call('audits.start', { hostIds: [hostId] });
    const task = await waitForTask(env.core, taskId);
    const audit = (await env.core.call('audits.latest', {})).find((a) => a.hostId === hostId)!;
    expect(audit.status, `${audit.errorKind}: ${audit.errorMessage}`).toBe('succeeded');
    expect(task.status).toBe('succeeded');
    expect(audit.warnings).toContain(
      'dnf had no cached package metadata on this host, so this audit refreshed it once (dnf makecache) first',
    );
    const page = await env.core.call('findings.query', { hostId, limit: 1000 });
    const found = page.rows
      .filter((f) => f.installedVersion !== null)
      .map((f) => f.package)
      .sort();
    expect(found).toEqual(dnf.pending.map((p) => p.name).sort());

    // The next audit has a cache, however young: it is used, and no refresh is done unasked.
    const again = await env.core.call('audits.start', { hostIds: [hostId] });
    await waitForTask(env.core, again.taskId);
    const second = (await env.core.call('audits.latest', {})).find((a) => a.hostId === hostId)!;
    expect(second.status).toBe('succeeded');
    expect(second.warnings.filter((w) => /refreshed it once/.test(w))).toEqual([]);
  });

  it('an apt host without package lists is refreshed once too, instead of reading as up to date', async () => {
    // Before, the simulated upgrade found nothing to upgrade and the host looked fully patched.
    await execOnHost(apt.name, [
      'sh',
      '-c',
      'rm -f /var/lib/apt/lists/*_Packages* /var/lib/apt/lists/*Release*',
    ]);
    const { taskId } = await env.core.call('audits.start', { hostIds: [aptId] });
    await waitForTask(env.core, taskId);
    const audit = (await env.core.call('audits.latest', {})).find((a) => a.hostId === aptId)!;
    expect(audit.status, `${audit.errorKind}: ${audit.errorMessage}`).toBe('succeeded');
    expect(audit.warnings).toContain(
      'apt had no package lists on this host, so this audit refreshed them once (apt-get update) first',
    );
    const page = await env.core.call('findings.query', { hostId: aptId, limit: 1000 });
    const found = new Set(page.rows.filter((f) => f.installedVersion !== null).map((f) => f.package));
    expect(found.size).toBeGreaterThan(0);
    for (const p of apt.pending.filter((x) => !x.held)) expect(found, p.name).toContain(p.name);
  });

  it('patchdeck audit says so too, in its notes', async () => {
    await execOnHost(dnf.name, ['sh', '-c', 'rm -rf /var/cache/dnf /var/cache/yum']);
    // The CLI opens the same workspace file and secrets key as a separate process would.
    await env.core.closeWorkspace();
    const cli = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.resolve('src/cli/index.ts'),
        '-w',
        path.join(env.dir, 'ws.sqlite'),
        'audit',
        dnf.name,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, PATCHDECK_CONFIG_DIR: path.join(env.dir, 'config') },
        timeout: 120_000,
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(
      `Notes:\n${dnf.name}: dnf had no cached package metadata on this host, so this audit refreshed it once (dnf makecache) first`,
    );
    expect(cli.stdout).toContain(`Every pending update, security first: patchdeck findings ${dnf.name}`);
  });
});
