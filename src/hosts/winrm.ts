import type { Host } from '../api';

/** WinRM's ports (Microsoft's defaults since WinRM 2.0): HTTP with sealed messages, and HTTPS. */
export const WINRM_HTTP_PORT = 5985;
export const WINRM_HTTPS_PORT = 5986;

/**
 * Where to reach a host's WinRM: HTTPS when the last scan found 5986 open (the certificate is a
 * pin a change cannot hide), else HTTP when 5985 is open, else null — also for a host whose
 * management list names winrm but none of whose WinRM ports is known open (the caller decides
 * whether to try the default).
 */
export function winrmTargetOf(host: Pick<Host, 'services'>): { port: number; https: boolean } | null {
  const open = (port: number): boolean => host.services.some((s) => s.port === port && s.state === 'open');
  if (open(WINRM_HTTPS_PORT)) return { port: WINRM_HTTPS_PORT, https: true };
  if (open(WINRM_HTTP_PORT)) return { port: WINRM_HTTP_PORT, https: false };
  return null;
}

/** Where to try a host's WinRM: the scan's open ports (winrmTargetOf), else WinRM's HTTP default. */
export function winrmEndpointOf(host: Pick<Host, 'services'>): { port: number; https: boolean } {
  return winrmTargetOf(host) ?? { port: WINRM_HTTP_PORT, https: false };
}
