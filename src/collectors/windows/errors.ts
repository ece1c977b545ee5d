/**
 * Windows Update Agent error codes as sentences an admin can act on.
 *
 * The codes and their meanings come from Microsoft's documentation: "Windows Update error codes by
 * component" (https://learn.microsoft.com/windows/deployment/update/windows-update-error-reference),
 * "WUA Success and Error Codes" (https://learn.microsoft.com/windows/win32/wua_sdk/wua-success-and-error-codes-)
 * and "WUA Networking Error Codes" (https://learn.microsoft.com/windows/win32/wua_sdk/wua-networking-error-codes-).
 * The sentences are ours.
 */

export interface WuaErrorMeaning {
  /** Microsoft's constant name. */
  name: string;
  /** What it means and what to do, in one sentence (no trailing host name: the caller adds it). */
  sentence: string;
  /** The search never reached an update server (network, DNS, proxy, server down). */
  network: boolean;
}

const NO_SERVER = 'check the PC can reach Microsoft Update or its WSUS server (network, DNS, proxy).';

const TABLE: Record<string, WuaErrorMeaning> = {
  '0x80070005': {
    name: 'E_ACCESSDENIED',
    sentence:
      'Windows denies a remote search (access denied): Patchdeck runs it through a one-off SYSTEM task.',
    network: false,
  },
  '0x80070422': {
    name: 'ERROR_SERVICE_DISABLED',
    sentence:
      'The Windows Update service is disabled on the PC: set the "Windows Update" service (wuauserv) to Manual or Automatic there.',
    network: false,
  },
  '0x8024402C': {
    name: 'WU_E_PT_WINHTTP_NAME_NOT_RESOLVED',
    sentence: `Windows Update could not resolve the name of its update server or proxy: ${NO_SERVER}`,
    network: true,
  },
  '0x80072EE7': {
    name: 'ERROR_INTERNET_NAME_NOT_RESOLVED',
    sentence: `Windows Update could not resolve the name of its update server: ${NO_SERVER}`,
    network: true,
  },
  '0x80072EE2': {
    name: 'ERROR_INTERNET_TIMEOUT',
    sentence: `The connection to the update server timed out: ${NO_SERVER}`,
    network: true,
  },
  '0x80072EFD': {
    name: 'ERROR_INTERNET_CANNOT_CONNECT',
    sentence: `Windows Update could not connect to its update server: ${NO_SERVER}`,
    network: true,
  },
  '0x80240438': {
    name: 'WU_E_PT_ENDPOINT_UNREACHABLE',
    sentence: `There is no route to the update server: ${NO_SERVER}`,
    network: true,
  },
  '0x8024401C': {
    name: 'WU_E_PT_HTTP_STATUS_REQUEST_TIMEOUT',
    sentence: 'The update server timed out waiting for the PC (HTTP 408): try again later.',
    network: true,
  },
  '0x80244022': {
    name: 'WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL',
    sentence: 'The update server is temporarily overloaded (HTTP 503): try again later.',
    network: true,
  },
  '0x80244019': {
    name: 'WU_E_PT_HTTP_STATUS_NOT_FOUND',
    sentence:
      'The update server does not have what the PC asked for (HTTP 404): check the WSUS server address in Group Policy.',
    network: true,
  },
  '0x80244017': {
    name: 'WU_E_PT_HTTP_STATUS_DENIED',
    sentence: 'The update server or a proxy asked for authentication (HTTP 401) the PC could not give.',
    network: true,
  },
  '0x8024401B': {
    name: 'WU_E_PT_HTTP_STATUS_PROXY_AUTH_REQ',
    sentence: 'A proxy between the PC and the update server asks for authentication (HTTP 407).',
    network: true,
  },
  '0x8024401F': {
    name: 'WU_E_PT_HTTP_STATUS_SERVER_ERROR',
    sentence: 'The update server had an internal error (HTTP 500): check the WSUS server.',
    network: true,
  },
  '0x8024001E': {
    name: 'WU_E_SERVICE_STOP',
    sentence:
      'The search stopped because the Windows Update service or Windows itself was shutting down: audit again once the PC is up.',
    network: false,
  },
  '0x8024000C': {
    name: 'WU_E_NOOP',
    sentence: 'Windows Update reported that no operation was required.',
    network: false,
  },
  '0x80240022': {
    name: 'WU_E_ALL_UPDATES_FAILED',
    sentence: 'The operation failed for every update.',
    network: false,
  },
  '0x8024002E': {
    name: 'WU_E_WU_DISABLED',
    sentence:
      'Policy forbids this PC to use an unmanaged update server (Windows Update access is disabled by Group Policy).',
    network: false,
  },
  '0x80240032': {
    name: 'WU_E_INVALID_CRITERIA',
    sentence: 'Windows Update rejected the search criteria (a bug in Patchdeck: please report it).',
    network: false,
  },
  '0x80240009': {
    name: 'WU_E_OPERATIONINPROGRESS',
    sentence: 'Another Windows Update operation is running on the PC: audit again when it is done.',
    network: false,
  },
  '0x8024A000': {
    name: 'WU_E_AU_NOSERVICE',
    sentence: 'Automatic Updates could not serve the request: restart the Windows Update service on the PC.',
    network: false,
  },
  '0x80072F8F': {
    name: 'ERROR_INTERNET_SECURE_FAILURE',
    sentence:
      "The secure connection to the update server failed: check the PC's clock and any TLS-inspecting proxy.",
    network: true,
  },
};

/** Normalises `0x8024402c` / `-2145107924` style text to `0x8024402C`; null when it is neither. */
export function normalizeHresult(value: unknown): string | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0xffffffff)
    return `0x${(value >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  if (typeof value !== 'string' || value.length > 12) return null;
  const m = /^0x([0-9a-f]{8})$/i.exec(value.trim());
  return m ? `0x${m[1]!.toUpperCase()}` : null;
}

/** The meaning of a WUA error code, or null for one not in the table. */
export function wuaErrorMeaning(hresult: string | null): WuaErrorMeaning | null {
  if (hresult === null) return null;
  return TABLE[hresult] ?? null;
}

/** Every code the table knows (for tests and the README). */
export const KNOWN_WUA_ERRORS: readonly string[] = Object.keys(TABLE);
