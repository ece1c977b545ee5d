import { create } from 'zustand';
import type { CallResult } from '../../../src/api/contract';
import type { Audit } from '../../../src/api/schemas';
import { api, describeError } from '../../api';

export type HostKey = CallResult<'hosts.keys'>[number];
export type AuditDiff = CallResult<'audits.diff'>;
export type Hotfix = CallResult<'audits.hotfixes'>[number];
export type KeyProbe = CallResult<'hosts.trust'>;
/** Which identity of the host: its SSH host key, or its WinRM certificate / NTLM identity. */
export type TrustChannel = 'ssh' | 'winrm';

interface DetailState {
  hostId: number | null;
  keys: HostKey[];
  audits: Audit[];
  diff: AuditDiff | null;
  diffAuditId: number | null;
  /** The installed hotfixes the newest Windows audit listed (empty for other hosts). */
  hotfixes: Hotfix[];
  /** The key the host presents now (read without pinning), waiting for the admin's decision. */
  probe: KeyProbe | null;
  /** The channel the probe read. */
  probeChannel: TrustChannel;
  probing: boolean;
  trustMessage: string | null;
  error: string | null;
  load(hostId: number): Promise<void>;
  /** Reads the host's current key (or WinRM identity) without trusting it. */
  checkKey(channel?: TrustChannel): Promise<void>;
  /** Pins the probed key; `replace` re-trusts a changed key (recorded in the audit log). */
  trust(replace: boolean): Promise<void>;
  dismissProbe(): void;
}

export const useHostDetail = create<DetailState>((set, get) => ({
  hostId: null,
  keys: [],
  audits: [],
  diff: null,
  diffAuditId: null,
  hotfixes: [],
  probe: null,
  probeChannel: 'ssh',
  probing: false,
  trustMessage: null,
  error: null,
  async load(hostId) {
    if (get().hostId !== hostId)
      set({
        hostId,
        keys: [],
        audits: [],
        diff: null,
        diffAuditId: null,
        hotfixes: [],
        probe: null,
        trustMessage: null,
        error: null,
      });
    try {
      const [keys, audits] = await Promise.all([
        api.hosts.keys({ id: hostId }),
        api.audits.forHost({ hostId, limit: 50 }),
      ]);
      const newest = audits.find((a) => a.status === 'succeeded') ?? null;
      const [diff, hotfixes] = await Promise.all([
        newest ? api.audits.diff({ auditId: newest.id }) : null,
        newest?.windows ? api.audits.hotfixes({ auditId: newest.id }) : [],
      ]);
      if (get().hostId !== hostId) return;
      set({ keys, audits, diff, diffAuditId: newest?.id ?? null, hotfixes });
    } catch (error) {
      if (get().hostId === hostId) set({ error: describeError(error) });
    }
  },
  async checkKey(channel = 'ssh') {
    const { hostId } = get();
    if (hostId === null) return;
    set({ probing: true, probe: null, probeChannel: channel, trustMessage: null, error: null });
    try {
      const probe = await api.hosts.trust({ id: hostId, pin: false, channel });
      set({ probe });
    } catch (error) {
      set({ error: describeError(error) });
    } finally {
      set({ probing: false });
    }
  },
  async trust(replace) {
    const { hostId, probe, probeChannel } = get();
    if (hostId === null || !probe) return;
    set({ probing: true, error: null });
    try {
      // Pin exactly the fingerprint the admin was shown: if the host now presents another, nothing is pinned.
      const result = await api.hosts.trust({
        id: hostId,
        pin: true,
        replace,
        fingerprint: probe.fingerprint,
        channel: probeChannel,
      });
      if (result.fingerprint !== probe.fingerprint) {
        // The key changed again between reading and pinning: show the new one instead.
        set({
          probe: { ...result, pinned: false },
          trustMessage: 'The host presented yet another key; check it again.',
        });
      } else {
        set({ probe: null, trustMessage: `Trusted ${result.type} ${result.fingerprint}.` });
      }
      await get().load(hostId);
    } catch (error) {
      set({ error: describeError(error) });
    } finally {
      set({ probing: false });
    }
  },
  dismissProbe() {
    set({ probe: null });
  },
}));

api.on('entity.changed', ({ entity, ids }) => {
  const { hostId, load } = useHostDetail.getState();
  if (hostId === null) return;
  if ((entity === 'audits' || entity === 'hosts') && (!ids || ids.includes(hostId))) void load(hostId);
});
