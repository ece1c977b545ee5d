import { create } from 'zustand';
import type { Audit, Credential, Host, PatchJob } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { plural } from '../../components/format';
import type { PageId } from '../../stores/app';

export type StepState = 'done' | 'next' | 'todo' | 'blocked';

export interface ChecklistStep {
  id: 'hosts' | 'credential' | 'keys' | 'audit' | 'patch';
  title: string;
  state: StepState;
  /** What the workspace holds for this step, in words, with its counts. */
  detail: string;
  /** The one button: its label and the page it opens. Absent while the step is blocked. */
  action: { label: string; page: PageId; anchor?: string } | null;
}

/**
 * The first-run checklist, computed from the workspace alone: discover or add hosts → add a
 * credential → review and trust host keys → audit → patch. A step is done when the workspace shows
 * it was done, blocked while an earlier step it needs is not, and the first open step is "next".
 */
export function checklistSteps(input: {
  hosts: readonly Host[];
  credentials: readonly Credential[];
  latest: readonly Audit[];
  jobs: readonly PatchJob[];
}): ChecklistStep[] {
  const inventory = input.hosts.filter((h) => h.inInventory);
  const discoveredOnly = input.hosts.length - inventory.length;
  const network = inventory.filter((h) => !h.offlineOnly);
  const ids = new Set(inventory.map((h) => h.id));
  const latest = input.latest.filter((a) => ids.has(a.hostId));
  const audited = latest.filter((a) => a.status === 'succeeded').length;
  const failed = latest.filter((a) => a.status === 'failed' || a.status === 'interrupted').length;
  const trusted = network.filter((h) => h.keyTrust === 'trusted').length;
  const awaiting = network.filter((h) => h.keyTrust === 'pending' || h.keyTrust === 'first-use').length;
  const changed = network.filter((h) => h.keyTrust === 'changed').length;
  const unread = network.filter((h) => h.keyTrust === 'none').length;
  const finishedJobs = input.jobs.filter((j) => j.status === 'succeeded' || j.status === 'failed');
  const succeededJobs = finishedJobs.filter((j) => j.status === 'succeeded').length;
  const haveHosts = inventory.length > 0;
  const haveCredential = input.credentials.length > 0;

  const steps: ChecklistStep[] = [
    {
      id: 'hosts',
      title: 'Discover or add hosts',
      state: haveHosts ? 'done' : 'todo',
      detail: haveHosts
        ? `${plural(inventory.length, 'host')} in the inventory.`
        : discoveredOnly > 0
          ? `${plural(discoveredOnly, 'host')} discovered, none added to the inventory yet.`
          : 'No host yet: scan a network, or add a host by name on the Hosts page.',
      action: haveHosts
        ? { label: 'Discover more hosts', page: 'discover' }
        : discoveredOnly > 0
          ? { label: 'Review discovered hosts', page: 'hosts' }
          : { label: 'Discover hosts', page: 'discover' },
    },
    {
      id: 'credential',
      title: 'Add a credential',
      state: haveCredential ? 'done' : 'todo',
      detail: haveCredential
        ? `${plural(input.credentials.length, 'credential')} saved.`
        : 'No credential yet: hosts cannot be audited or patched without one (a password, a private key or the SSH agent).',
      action: {
        label: haveCredential ? 'Manage credentials' : 'Add a credential',
        page: 'settings',
        anchor: 'credentials-heading',
      },
    },
    {
      id: 'keys',
      title: 'Review and trust host keys',
      state: !haveHosts ? 'blocked' : network.length > 0 && trusted === network.length ? 'done' : 'todo',
      detail: !haveHosts
        ? 'Needs hosts in the inventory first.'
        : network.length === 0
          ? 'No host with an address to connect to.'
          : [
              `${trusted} of ${plural(network.length, 'host')} trusted`,
              awaiting ? `${awaiting} awaiting your review` : '',
              changed ? `${changed} with a changed key` : '',
              unread ? `${unread} not read yet` : '',
            ]
              .filter(Boolean)
              .join(', ') + '.',
      action: haveHosts ? { label: 'Review host keys', page: 'hosts' } : null,
    },
    {
      id: 'audit',
      title: 'Audit the hosts',
      state: !haveHosts || !haveCredential ? 'blocked' : audited > 0 ? 'done' : 'todo',
      detail: !haveHosts
        ? 'Needs hosts in the inventory first.'
        : !haveCredential
          ? 'Needs a credential first: add one, then audit.'
          : `${audited} of ${plural(inventory.length, 'host')} audited${failed ? `, ${failed} failed` : ''}.`,
      action:
        haveHosts && haveCredential
          ? { label: audited > 0 ? 'Audit again' : 'Audit hosts', page: 'hosts' }
          : null,
    },
    {
      id: 'patch',
      title: 'Patch',
      state: audited === 0 ? 'blocked' : succeededJobs > 0 ? 'done' : 'todo',
      detail:
        audited === 0
          ? 'Needs an audited host first: the audit finds what to install.'
          : finishedJobs.length === 0
            ? 'No patch job yet: choose the updates to install and approve a dry run.'
            : `${plural(finishedJobs.length, 'patch job')} run: ${succeededJobs} succeeded, ${finishedJobs.length - succeededJobs} failed.`,
      action: audited > 0 ? { label: 'Choose updates to install', page: 'updates' } : null,
    },
  ];
  const next = steps.find((s) => s.state === 'todo');
  if (next) next.state = 'next';
  return steps;
}

interface ChecklistState {
  credentials: Credential[];
  jobs: PatchJob[];
  loaded: boolean;
  error: string | null;
  load(): Promise<void>;
}

/** What the checklist needs beyond the hosts and audits the dashboard already loads. */
export const useChecklist = create<ChecklistState>((set) => ({
  credentials: [],
  jobs: [],
  loaded: false,
  error: null,
  async load() {
    try {
      const [credentials, jobs] = await Promise.all([api.credentials.list(), api.jobs.list({ limit: 100 })]);
      set({ credentials, jobs, loaded: true, error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
}));

api.on('entity.changed', ({ entity }) => {
  if (entity === 'credentials' || entity === 'jobs' || entity === 'workspace')
    void useChecklist.getState().load();
});
