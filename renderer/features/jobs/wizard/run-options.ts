import type { RebootPolicy } from './types';

/** The reboot policies, as the schedule step offers them and the confirm step names them. */
export const REBOOT_POLICIES: { id: RebootPolicy; label: string; hint: string }[] = [
  {
    id: 'never',
    label: 'Never',
    hint: 'Install only; a host that needs a reboot is reported, not rebooted.',
  },
  {
    id: 'if-required',
    label: 'If required',
    hint: 'Reboot the hosts whose updates ask for it (a host already waiting for a reboot reboots before installing), and wait for them.',
  },
  {
    id: 'always',
    label: 'Always',
    hint: 'Reboot every patched host (first, too, if it was already waiting for one), and wait for it to come back.',
  },
];

export function rebootPolicyLabel(policy: RebootPolicy | undefined): string | undefined {
  return REBOOT_POLICIES.find((r) => r.id === policy)?.label ?? policy;
}
