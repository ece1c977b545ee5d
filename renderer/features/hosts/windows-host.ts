import type { Audit, Host } from '../../../src/api/schemas';

/** The WSUS server a PC's newest audit says it takes its updates from; null when none (or unknown). */
export function wsusOf(audit: Audit | null | undefined): { server: string | null } | null {
  const policy = audit?.windows?.policy;
  return policy?.useWUServer ? { server: policy.server } : null;
}

export function wsusTitle(wsus: { server: string | null }): string {
  return `Managed by WSUS${wsus.server ? ` (${wsus.server})` : ''}: only what WSUS approved for this PC is offered to it`;
}

/** Pin types of a WinRM endpoint (src/trust): the HTTPS certificate, or the names NTLM announced. */
export const WINRM_PIN_TYPES = new Set(['x509-certificate', 'ntlm-identity']);
export const isWinrmPin = (type: string): boolean => WINRM_PIN_TYPES.has(type);

/**
 * A host the window treats as a Windows PC: its newest audit read Windows Update, or discovery
 * says Windows, or the only way in is WinRM.
 */
export function isWindowsHost(host: Pick<Host, 'osFamily' | 'management'>, audit?: Audit | null): boolean {
  if (audit?.packageManager) return audit.packageManager === 'windows-update';
  if (host.osFamily === 'windows') return true;
  return host.management.includes('winrm') && !host.management.includes('ssh');
}

/** Reached over WinRM rather than SSH (a Windows PC with OpenSSH is audited over SSH). */
export const managedOverWinrm = (host: Pick<Host, 'management'>): boolean =>
  host.management.includes('winrm') && !host.management.includes('ssh');

/** How Patchdeck reaches the PC's WinRM, as the contract's winrmTargetOf picks it. */
export function winrmTarget(
  host: Pick<Host, 'services' | 'management'>,
): { port: number; https: boolean } | null {
  const open = (port: number) => host.services.some((s) => s.port === port && s.state === 'open');
  if (open(5986)) return { port: 5986, https: true };
  if (open(5985)) return { port: 5985, https: false };
  return host.management.includes('winrm') ? { port: 5985, https: false } : null;
}

export function winrmTargetText(host: Pick<Host, 'services' | 'management'>): string | null {
  const target = winrmTarget(host);
  if (!target) return null;
  return target.https
    ? `HTTPS on port ${target.port} (the PC's certificate is pinned like an SSH key)`
    : `HTTP on port ${target.port}, every message sealed with NTLM`;
}

/** Management channels in words ("ssh" stays as it was; WinRM is spelled as Windows does). */
export function managementText(channels: readonly string[]): string {
  return channels.map((c) => (c === 'winrm' ? 'WinRM' : c)).join(', ');
}

/** A WinRM pin's type in words. */
export function pinTypeLabel(type: string): string {
  if (type === 'x509-certificate') return 'HTTPS certificate';
  if (type === 'ntlm-identity') return 'NTLM identity';
  return type;
}

/** What a certificate pin's PEM says, when the record carries it (subject, validity). */
export interface CertificateFacts {
  subject: string | null;
  issuer: string | null;
  validFrom: string | null;
  validTo: string | null;
}

/** Certificate facts from a pin record's optional fields (`certificate` or top-level). */
export function certificateFacts(pin: object): CertificateFacts | null {
  const record = pin as Record<string, unknown>;
  const inner =
    record.certificate && typeof record.certificate === 'object'
      ? (record.certificate as Record<string, unknown>)
      : record;
  const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
  const facts = {
    subject: str(inner.subject),
    issuer: str(inner.issuer),
    validFrom: str(inner.validFrom),
    validTo: str(inner.validTo),
  };
  return facts.subject || facts.validFrom || facts.validTo ? facts : null;
}

/** Why a PC waits for a restart, in words (the reasons its audit read; src/collectors/windows). */
const REBOOT_REASON_TEXT: Record<string, string> = {
  'WindowsUpdate RebootRequired': 'Windows Update is waiting for a restart',
  'CBS RebootPending': 'a component update is waiting for a restart (CBS)',
  PendingFileRenameOperations: 'files are waiting to be replaced at restart',
  'Pending computer rename': "the PC's new name takes effect at restart",
  'Microsoft.Update.SystemInfo RebootRequired': 'Windows Update reports that a restart is required',
};

/** The restart reasons of a Windows audit in words; [] when it gave none (or is older than them). */
export function rebootReasonTexts(audit: Audit | null | undefined): string[] {
  if (!audit?.rebootRequired) return [];
  return [...new Set((audit.windows?.rebootReasons ?? []).flatMap((r) => REBOOT_REASON_TEXT[r] ?? []))];
}

/** What the audit option fetching fresh update lists does, for the hosts it will audit. */
export function refreshOptionText(
  hosts: readonly Host[],
  auditOf: (host: Host) => Audit | null | undefined,
): { label: string; title: string } {
  const windows = hosts.filter((h) => isWindowsHost(h, auditOf(h))).length;
  if (hosts.length > 0 && windows === hosts.length)
    return {
      label: 'Search Windows Update online',
      title: 'Ask Windows Update online what each PC needs, instead of reading its last search (slower)',
    };
  if (windows > 0)
    return {
      label: 'Fetch fresh update lists first',
      title:
        'Before each audit: Windows PCs search Windows Update online, the other hosts download fresh package lists (uses sudo)',
    };
  return {
    label: 'Refresh package metadata',
    title: 'Download fresh package lists on each host before it is audited (uses sudo)',
  };
}
