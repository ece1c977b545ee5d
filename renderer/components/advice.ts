import type { AdviceKind } from '../../src/api/advice';

/**
 * What to do about a failure, in the window's words: its pages and buttons, never a command.
 * The core's message states the fact; the recorded error kind picks the advice, and the CLI has
 * its own for the same kinds (src/api/advice.ts). `AdviceKind` makes a missing text a type error.
 */
const WINDOW_ADVICE: Record<AdviceKind, string> = {
  'no-credential':
    'Add a credential that covers this host in Settings → Credentials, or pick one in the Credential menu on the Hosts page, then audit again.',
  'host-key-unknown':
    'Compare its key (for a Windows PC, its WinRM certificate or announced name) with the machine’s own, then trust it under Hosts → Review keys.',
  'host-key-changed':
    'If the machine was reinstalled (or a Windows PC got a new WinRM certificate), check its new key under Hosts → Review keys; otherwise treat it as an attack.',
  'offline-only': 'Confirm its address in the host’s details to audit it over the network.',
};

export function windowAdvice(kind: string | null | undefined): string | null {
  return kind && Object.hasOwn(WINDOW_ADVICE, kind) ? WINDOW_ADVICE[kind as AdviceKind] : null;
}
