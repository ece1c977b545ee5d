/**
 * What a PC's WS-Man Identify says about it, as OS evidence. Identify is the one WS-Man call a
 * client may make without logging in (header `WSMANIDENTIFY: unauthenticated`); Windows answers
 * it with its vendor and `OS: 10.0.17763 SP: 0.0 Stack: 3.0`. Everything in the reply is
 * untrusted: it is read with bounded, linear checks and only digits reach the version.
 */
import type { OsEvidence } from './os';

/** The parsed Identify reply (src/remote/winrm wsmanIdentify). */
export interface WsmanIdentity {
  vendor: string;
  productVersion: string;
  protocolVersion: string;
}

/**
 * Windows 10 / 11 and Server releases by build number (Microsoft's release information). A
 * client and a server share a build; Identify does not say which one the PC is, so both are named.
 */
const WINDOWS_BUILDS: Readonly<Record<number, string>> = {
  9200: 'Windows Server 2012 / Windows 8',
  9600: 'Windows Server 2012 R2 / Windows 8.1',
  10240: 'Windows 10 1507',
  10586: 'Windows 10 1511',
  14393: 'Windows Server 2016 / Windows 10 1607',
  15063: 'Windows 10 1703',
  16299: 'Windows 10 1709',
  17134: 'Windows 10 1803',
  17763: 'Windows Server 2019 / Windows 10 1809',
  18362: 'Windows 10 1903',
  18363: 'Windows 10 1909',
  19041: 'Windows 10 2004',
  19042: 'Windows 10 20H2',
  19043: 'Windows 10 21H1',
  19044: 'Windows 10 21H2',
  19045: 'Windows 10 22H2',
  20348: 'Windows Server 2022',
  22000: 'Windows 11 21H2',
  22621: 'Windows 11 22H2',
  22631: 'Windows 11 23H2',
  26100: 'Windows Server 2025 / Windows 11 24H2',
};

/** The release a Windows build number belongs to, or null for one not in the table. */
export function windowsRelease(build: number): string | null {
  return WINDOWS_BUILDS[build] ?? null;
}

const MAX_TEXT = 200;
// Anchored, no nested quantifier: linear on the (already bounded) text.
const OS_VERSION = /\bOS: ?(\d{1,3})\.(\d{1,3})\.(\d{1,6})\b/u;
const STACK = /\bStack: ?(\d{1,3}\.\d{1,3})\b/u;

const printable = (text: string): string =>
  [...text.slice(0, MAX_TEXT)]
    .map((c) => (c < ' ' || c === '\u007f' ? ' ' : c))
    .join('')
    .trim();

/**
 * OS evidence from an Identify reply, or null when it is not one a WinRM stack gave. Microsoft's
 * stack is strong Windows evidence; its OS version, when the PC names it (an anonymous Identify
 * often says `OS: 0.0.0`), becomes the OS version with the release the build belongs to.
 */
export function identifyEvidence(identity: WsmanIdentity, port: number): OsEvidence | null {
  const vendor = printable(identity.vendor);
  const product = printable(identity.productVersion);
  if (!/\bMicrosoft\b/iu.test(vendor)) {
    if (!vendor && !product) return null;
    return {
      family: 'unknown',
      weight: 0,
      text: `WS-Man Identify on ${port}: ${vendor || 'no vendor'} ${product}`.trim(),
    };
  }
  const os = OS_VERSION.exec(product);
  const stack = STACK.exec(product)?.[1];
  const said = `WS-Man Identify on ${port}: ${vendor}, ${product || 'no product version'}`;
  if (!os || os[1] === '0') {
    return {
      family: 'windows',
      distribution: 'Windows',
      weight: 0.95,
      text: `${said} → Windows${stack ? ` (WS-Man stack ${stack})` : ''}; the version is not named to an anonymous Identify`,
    };
  }
  const version = `${Number(os[1])}.${Number(os[2])}.${Number(os[3])}`;
  const release = os[1] === '10' && os[2] === '0' ? windowsRelease(Number(os[3])) : null;
  return {
    family: 'windows',
    distribution: 'Windows',
    version,
    weight: 0.98,
    text: `${said} → Windows ${version}${release ? ` (${release})` : ''}`,
  };
}
