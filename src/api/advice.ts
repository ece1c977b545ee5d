/**
 * What to do about a failure, phrased per surface: the window names its own pages and buttons,
 * the CLI names commands. A core message states the fact only ("No credential covers web1, so
 * it was not contacted."); the recorded error kind is the action id, and each surface renders
 * its own advice for it (the CLI below, the window in renderer/components/advice.ts, which is
 * typed by `AdviceKind` so a kind cannot lack its window text). So no window ever tells someone
 * to type a command, and no terminal sends someone to a button.
 */
export type AdviceKind = 'no-credential' | 'host-key-unknown' | 'host-key-changed' | 'offline-only';

/** What the CLI knows when it prints advice: the host, and the key it presented if any. */
export interface CliAdviceContext {
  host: string;
  /** `SHA256:…` of the key or certificate (or `ntlm:…`, the NTLM identity) the host presented, when the message named one. */
  fingerprint?: string | null;
  /** The identity is the PC's WinRM endpoint's (certificate or NTLM identity), not an SSH key. */
  winrm?: boolean;
}

const CLI_ADVICE: Record<AdviceKind, (c: CliAdviceContext) => string> = {
  'no-credential': (c) =>
    `Add one with \`patchdeck credential add --name NAME --user USER … --hosts ${c.host}\`, or pass \`--credential NAME\`.`,
  'host-key-unknown': (c) =>
    c.winrm
      ? `Compare it with the PC's own, then trust it: patchdeck hosts trust ${c.host} --winrm --fingerprint ${c.fingerprint ?? '…'}.`
      : `Compare the key with the machine's own, then trust it: patchdeck hosts trust ${c.host} --fingerprint ${c.fingerprint ?? 'SHA256:…'} (or patchdeck hosts review-keys).`,
  'host-key-changed': (c) =>
    c.winrm
      ? `If the PC was reinstalled or its certificate renewed, check the new one and pin it: patchdeck hosts trust ${c.host} --winrm --replace; otherwise treat it as an attack.`
      : `If the machine was reinstalled, check its new key and pin it: patchdeck hosts trust ${c.host} --replace; otherwise treat it as an attack.`,
  'offline-only': (c) =>
    `Set its address to audit it over the network: patchdeck hosts set-address ${c.host} ADDRESS.`,
};

export function isAdviceKind(kind: string | null | undefined): kind is AdviceKind {
  return typeof kind === 'string' && Object.hasOwn(CLI_ADVICE, kind);
}

/** The fingerprint a message names (`SHA256:` and 43 base64 characters, or an `ntlm:NAME/DOMAIN` identity), if any. */
export function fingerprintIn(message: string | null | undefined): string | null {
  return (
    /SHA256:[A-Za-z0-9+/]{43}|ntlm:[A-Za-z0-9._-]{1,255}\/[A-Za-z0-9._-]{0,255}/.exec(message ?? '')?.[0] ??
    null
  );
}

/** What the CLI's advice needs from a failure's message: the host, the identity it presented, and whose it is. */
export function adviceContextOf(host: string, message: string | null | undefined): CliAdviceContext {
  return { host, fingerprint: fingerprintIn(message), winrm: /\bWinRM\b/.test(message ?? '') };
}

/** The CLI's advice for an error kind, or null when the message says all there is. */
export function cliAdvice(kind: string | null | undefined, context: CliAdviceContext): string | null {
  return isAdviceKind(kind) ? CLI_ADVICE[kind](context) : null;
}
