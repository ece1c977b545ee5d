import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import fs from 'node:fs';
import { labStatus, labUp, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute, createTestCore, trustLabKeys, waitForTask } from './support';

/**
 * Issue 10, bug 8: a successful SSH audit means the host was seen, and the audit reads the host's
 * own hostname (`uname -n`), which names a host known only by its address, but never replaces a
 * name the admin gave. The lab hosts' real hostnames (their UTS namespaces) are the ground truth.
 */
describeAsRoot('identity learned from audits of the lab', () => {
  let lab: LabInventory;
  let env: Awaited<ReturnType<typeof createTestCore>>;

  beforeAll(async () => {
    // The same size and profile as the audit suite, so a lab that is up is reused.
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    lab = labStatus();
    env = await createTestCore();
  });
  beforeEach(() => assertLabRoute(lab));
  afterAll(async () => {
    await env?.close();
  });

  it('names a host added by address after its hostname, updates last seen, and keeps an admin’s name', async () => {
    const [byAddress, named] = lab.hosts;
    const a = await env.core.call('hosts.add', { name: byAddress!.address, address: byAddress!.address });
    const b = await env.core.call('hosts.add', { name: 'front-desk', address: named!.address });
    expect(a).toMatchObject({ name: byAddress!.address, nameSource: 'address', lastSeen: null });
    const admin = lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;
    await env.core.call('credentials.add', {
      name: 'lab-admin',
      username: admin.name,
      kind: 'key',
      secret: fs.readFileSync(lab.keyFile, 'utf8'),
      scope: ['*'],
    });
    await trustLabKeys(
      env.core,
      [byAddress!, named!],
      new Map([
        [byAddress!.name, a.id],
        [named!.name, b.id],
      ]),
    );
    const { taskId } = await env.core.call('audits.start', { hostIds: [a.id, b.id], refresh: true });
    await waitForTask(env.core, taskId);
    const latest = await env.core.call('audits.latest', {});
    for (const id of [a.id, b.id]) {
      const audit = latest.find((x) => x.hostId === id);
      expect(audit?.status, audit?.errorMessage ?? '').toBe('succeeded');
    }
    const learned = await env.core.call('hosts.get', { id: a.id });
    expect(learned).toMatchObject({ name: byAddress!.name, nameSource: 'audit' });
    expect(learned.lastSeen).not.toBeNull();
    const kept = await env.core.call('hosts.get', { id: b.id });
    expect(kept).toMatchObject({ name: 'front-desk', nameSource: 'admin' });
    expect(kept.lastSeen).not.toBeNull();
  });
});
