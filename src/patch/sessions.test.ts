import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, insertHost, trustHostKey, updateHost } from '../db';
import type { SshSession } from '../remote/ssh';
import { ManualClock } from '../util/clock';
import { closeParkedSessions, parkSession, takeSession } from './sessions';

function fakeSession(fingerprint: string): SshSession & { closed: boolean } {
  const s = {
    closed: false,
    hostKey: { type: 'ssh-ed25519', fingerprint, publicKey: '' },
    get isOpen() {
      return !s.closed;
    },
    close() {
      s.closed = true;
    },
  };
  return s as unknown as SshSession & { closed: boolean };
}

describe('handing the plan connection to the run', () => {
  const setup = () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01', address: '198.18.0.11' });
    trustHostKey(db, { hostId: host.id, type: 'ssh-ed25519', fingerprint: 'SHA256:aaa', actor: 't' });
    return { db, host };
  };

  it('hands a parked session over once, for the same host and credential', () => {
    const { db, host } = setup();
    const s = fakeSession('SHA256:aaa');
    parkSession(db, host, null, s);
    expect(takeSession(db, host, 7)).toBeNull(); // another credential: not handed out, closed
    expect(s.closed).toBe(true);
    const t = fakeSession('SHA256:aaa');
    parkSession(db, host, null, t);
    expect(takeSession(db, host, null)).toBe(t);
    expect(takeSession(db, host, null)).toBeNull();
    expect(t.closed).toBe(false);
  });

  it('never hands out a closed session, one whose host key is no longer pinned, or one to a moved host', () => {
    const { db, host } = setup();
    const closed = fakeSession('SHA256:aaa');
    parkSession(db, host, null, closed);
    closed.close();
    expect(takeSession(db, host, null)).toBeNull();

    const unpinned = fakeSession('SHA256:bbb');
    parkSession(db, host, null, unpinned);
    expect(takeSession(db, host, null)).toBeNull();
    expect(unpinned.closed).toBe(true);

    const moved = fakeSession('SHA256:aaa');
    parkSession(db, host, null, moved);
    const after = updateHost(db, host.id, { address: '198.18.0.12' })!;
    expect(takeSession(db, after, null)).toBeNull();
    expect(moved.closed).toBe(true);
  });

  it('closes parked sessions at the end of the command and after the idle time', () => {
    const { db, host } = setup();
    const a = fakeSession('SHA256:aaa');
    parkSession(db, host, null, a);
    closeParkedSessions(db);
    expect(a.closed).toBe(true);
    const b = fakeSession('SHA256:aaa');
    const clock = new ManualClock();
    parkSession(db, host, null, b, 20, clock);
    clock.advance(19);
    expect(b.closed).toBe(false);
    clock.advance(1);
    expect(b.closed).toBe(true);
    expect(takeSession(db, host, null)).toBeNull();
  });
});
