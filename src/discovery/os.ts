/**
 * OS guesses from what a sweep saw. Pure functions: every conclusion carries the evidence
 * sentence that led to it, so the UI can show why Patchdeck thinks a host is "Debian 12".
 */
import { parseSshIdentification, type SshIdentification } from './protocols';
import type { ServiceInfo } from './tcp';
import { identifyEvidence, type WsmanIdentity } from './wsman';

export type OsFamily = 'linux' | 'windows' | 'macos' | 'bsd' | 'network-device' | 'unknown';

export interface OsGuess {
  family: OsFamily;
  /** "Debian", "Ubuntu", "Windows", "FreeBSD", "Red Hat family"… */
  distribution: string | null;
  /** "12", "22.04", "13.2"… */
  version: string | null;
  /** Display name: "Debian 12", "Windows", "Linux". */
  name: string;
  /** 0–1. */
  confidence: number;
  evidence: string[];
}

export interface OsEvidence {
  family: OsFamily;
  distribution?: string;
  version?: string;
  /** How much this one fact alone would convince us (0–1). */
  weight: number;
  text: string;
}

const DEBIAN_BY_OPENSSH: Record<string, string> = {
  '10.0p2': '13',
  '10.0p1': '13',
  '9.2p1': '12',
  '8.4p1': '11',
  '7.9p1': '10',
  '7.4p1': '9',
  '6.7p1': '8',
  '6.0p1': '7',
  '5.5p1': '6',
  '5.1p1': '5',
};

/** Ubuntu release by "<openssh version>-<first number of the Debian revision>". */
const UBUNTU_BY_OPENSSH: Record<string, string> = {
  '10.0p2-5': '25.10',
  '9.9p1-3': '25.04',
  '9.7p1-7': '24.10',
  '9.6p1-3': '24.04',
  '9.3p1-1': '23.10',
  '9.0p1-1': '22.10 or 23.04',
  '8.9p1-3': '22.04',
  '8.4p1-6': '21.10',
  '8.4p1-5': '21.04',
  '8.3p1-1': '20.10',
  '8.2p1-4': '20.04',
  '8.0p1-6': '19.10',
  '7.9p1-10': '19.04',
  '7.7p1-4': '18.10',
  '7.6p1-4': '18.04',
  '7.5p1-10': '17.10',
  '7.4p1-10': '17.04',
  '7.3p1-1': '16.10',
  '7.2p2-4': '16.04',
  '6.9p1-2': '15.10',
  '6.7p1-5': '15.04',
  '6.6.1p1-8': '14.10',
  '6.6.1p1-2': '14.04',
  '6.2p2-6': '13.10',
  '6.0p1-3': '12.10',
  '5.9p1-5': '12.04',
  '5.3p1-3': '10.04',
};

/** FreeBSD base-system sshd stamps a date; the dates map to releases. */
const FREEBSD_BY_STAMP: Record<string, string> = {
  '20230316': '13.2',
  '20211221': '13.1',
  '20200214': '12.2–13.0',
  '20180909': '12',
  '20170903': '11.2–11.3',
  '20161230': '11.1',
  '20160310': '10.3–11.0',
};

/** OpenSSH versions as Red Hat prints them (no portable suffix) → RHEL major. */
const RHEL_BY_OPENSSH: Record<string, string> = {
  '9.9': '10',
  '8.7': '9',
  '8.0': '8',
  '7.4': '7',
  '5.3': '6',
};

/** What the SSH identification string says about the OS. */
export function sshEvidence(input: SshIdentification | string): OsEvidence[] {
  const id =
    typeof input === 'string'
      ? parseSshIdentification(Buffer.from(input.endsWith('\n') ? input : `${input}\r\n`, 'latin1'), true)
      : input;
  if (!id) return [];
  const software = id.software;
  const comments = id.comments ?? '';
  const said = `SSH banner says "${id.raw}"`;
  const out: OsEvidence[] = [];

  const forWindows = /^OpenSSH_for_Windows_([\d.]+)/u.exec(software);
  if (forWindows) {
    return [
      {
        family: 'windows',
        distribution: 'Windows',
        weight: 0.9,
        text: `${said} → Windows (Win32-OpenSSH ${forWindows[1]})`,
      },
    ];
  }
  const openssh = /^OpenSSH_([\d.]+(?:p\d+)?)/u.exec(software);
  const deb = /^(Debian|Raspbian|Ubuntu)-(\d+)(\S*)/u.exec(comments);
  if (openssh && deb) {
    const version = openssh[1]!;
    const flavour = deb[1]!;
    const revision = deb[2]!;
    const rest = deb[3] ?? '';
    const debMajor = /\+deb(\d+)u\d+/u.exec(rest);
    const isUbuntu = flavour === 'Ubuntu' || /ubuntu/u.test(rest);
    if (isUbuntu) {
      const release = UBUNTU_BY_OPENSSH[`${version}-${revision}`];
      if (release)
        out.push({
          family: 'linux',
          distribution: 'Ubuntu',
          version: release,
          weight: 0.9,
          text: `${said} → Ubuntu ${release}`,
        });
      else
        out.push({
          family: 'linux',
          distribution: 'Ubuntu',
          weight: 0.8,
          text: `${said} → Ubuntu (release not in our table)`,
        });
      return out;
    }
    const distribution = flavour === 'Raspbian' ? 'Raspberry Pi OS' : 'Debian';
    if (debMajor) {
      out.push({
        family: 'linux',
        distribution,
        version: debMajor[1]!,
        weight: 0.95,
        text: `${said} → ${distribution} ${debMajor[1]} (+deb${debMajor[1]} security update)`,
      });
      return out;
    }
    const squeeze = /squeeze/u.test(rest) ? '6' : null;
    const release = squeeze ?? DEBIAN_BY_OPENSSH[version];
    if (release)
      out.push({
        family: 'linux',
        distribution,
        version: release,
        weight: 0.85,
        text: `${said} → ${distribution} ${release} (OpenSSH ${version} ships with it)`,
      });
    else
      out.push({
        family: 'linux',
        distribution,
        weight: 0.8,
        text: `${said} → ${distribution} (release not in our table)`,
      });
    return out;
  }
  const freebsd = /FreeBSD[- ](\d{8})/u.exec(comments);
  if (openssh && (freebsd || /FreeBSD/u.test(comments))) {
    const release = freebsd ? FREEBSD_BY_STAMP[freebsd[1]!] : undefined;
    return [
      release
        ? {
            family: 'bsd',
            distribution: 'FreeBSD',
            version: release,
            weight: 0.9,
            text: `${said} → FreeBSD ${release} (base-system sshd stamp ${freebsd![1]})`,
          }
        : { family: 'bsd', distribution: 'FreeBSD', weight: 0.85, text: `${said} → FreeBSD` },
    ];
  }
  if (/^dropbear/iu.test(software)) {
    return [
      {
        family: 'linux',
        distribution: 'embedded Linux',
        weight: 0.6,
        text: `${said} → Dropbear, usually embedded Linux (router, NAS, appliance)`,
      },
    ];
  }
  if (/^Cisco-/u.test(software))
    return [
      { family: 'network-device', distribution: 'Cisco IOS', weight: 0.85, text: `${said} → Cisco IOS` },
    ];
  if (/^ROSSSH/u.test(software))
    return [
      {
        family: 'network-device',
        distribution: 'MikroTik RouterOS',
        weight: 0.85,
        text: `${said} → MikroTik RouterOS`,
      },
    ];
  if (/^(RomSSHell|ArrayOS|mpSSH|IPSSH|Cisco_WLC|HUAWEI|Comware|ZTE)/u.test(software)) {
    return [
      { family: 'network-device', weight: 0.7, text: `${said} → an appliance or network device SSH server` },
    ];
  }
  if (openssh && !openssh[1]!.includes('p') && !comments) {
    // Red Hat builds drop the portable "p1"; so do macOS and the BSDs, hence the low weight.
    const rhel = RHEL_BY_OPENSSH[openssh[1]!];
    if (rhel) {
      return [
        {
          family: 'linux',
          distribution: 'Red Hat family',
          version: rhel,
          weight: 0.45,
          text: `${said} → maybe RHEL ${rhel} or a rebuild (Rocky, Alma, CentOS): OpenSSH ${openssh[1]} without a distribution tag`,
        },
      ];
    }
    return [
      {
        family: 'unknown',
        weight: 0,
        text: `${said} → OpenSSH without a distribution tag (RHEL-like, macOS or BSD)`,
      },
    ];
  }
  if (openssh && comments)
    return [{ family: 'linux', weight: 0.3, text: `${said} → probably Linux (OpenSSH "${comments}")` }];
  if (openssh) return [{ family: 'linux', weight: 0.3, text: `${said} → portable OpenSSH, probably Linux` }];
  return [{ family: 'unknown', weight: 0, text: `${said} → unknown SSH server` }];
}

export interface OsObservations {
  services?: ServiceInfo[];
  openPorts?: number[];
  macVendor?: string | null;
  /** TTL of an ICMP echo reply, if one was seen. */
  ttl?: number | null;
  netbiosName?: string | null;
  /** DNS-SD service types seen for the host (e.g. "_smb._tcp", "_device-info._tcp"). */
  mdnsServices?: string[];
  /** mDNS _device-info model (e.g. "MacBookPro18,1"). */
  mdnsModel?: string | null;
  /** WS-Man Identify replies of the host's WinRM listeners (src/discovery/wsman.ts). */
  wsman?: { port: number; identity: WsmanIdentity }[];
}

/** Every piece of OS evidence in one host's observations. */
export function collectOsEvidence(obs: OsObservations): OsEvidence[] {
  const out: OsEvidence[] = [];
  const services = obs.services ?? [];
  const open = new Set(obs.openPorts ?? []);
  for (const w of obs.wsman ?? []) {
    const e = identifyEvidence(w.identity, w.port);
    if (e) out.push(e);
  }
  for (const s of services) {
    if (s.kind === 'ssh') out.push(...sshEvidence(s.identification));
    if (s.kind === 'http' && s.winrm) {
      out.push({
        family: 'windows',
        distribution: 'Windows',
        weight: 0.9,
        text: `WinRM on ${s.port} (${s.server ?? 'HTTP.sys'}, ${s.status}) → Windows`,
      });
    } else if (s.kind === 'http' && s.server && /Microsoft-(IIS|HTTPAPI)/iu.test(s.server)) {
      out.push({
        family: 'windows',
        distribution: 'Windows',
        weight: 0.7,
        text: `HTTP on ${s.port} says "${s.server}" → Windows`,
      });
    } else if (
      s.kind === 'http' &&
      s.server &&
      /\b(Ubuntu|Debian|CentOS|Red Hat|Fedora)\b/iu.test(s.server)
    ) {
      const d = /\b(Ubuntu|Debian|CentOS|Red Hat|Fedora)\b/iu.exec(s.server)![1]!;
      out.push({
        family: 'linux',
        distribution: d,
        weight: 0.5,
        text: `HTTP on ${s.port} says "${s.server}" → ${d}`,
      });
    }
    if (s.kind === 'rdp')
      out.push({
        family: 'windows',
        distribution: 'Windows',
        weight: 0.75,
        text: `RDP answers on ${s.port} (X.224 confirm) → probably Windows`,
      });
    if (s.kind === 'smb' && open.has(135))
      out.push({
        family: 'windows',
        distribution: 'Windows',
        weight: 0.6,
        text: `SMB${s.dialect ? ` ${s.dialect}` : ''} on 445 with MS-RPC on 135 → Windows`,
      });
    else if (s.kind === 'smb')
      out.push({
        family: 'unknown',
        weight: 0,
        text: `SMB${s.dialect ? ` ${s.dialect}` : ''} on 445 (Windows or Samba)`,
      });
  }
  if (open.has(135) && open.has(445) && !services.some((s) => s.kind === 'smb')) {
    out.push({
      family: 'windows',
      distribution: 'Windows',
      weight: 0.6,
      text: 'Ports 135 and 445 open → probably Windows',
    });
  }
  if (obs.ttl != null) {
    if (obs.ttl > 64 && obs.ttl <= 128)
      out.push({
        family: 'windows',
        weight: 0.3,
        text: `ICMP TTL ${obs.ttl} (initial 128) → Windows-like stack`,
      });
    else if (obs.ttl <= 64)
      out.push({ family: 'linux', weight: 0.15, text: `ICMP TTL ${obs.ttl} (initial 64) → Unix-like stack` });
    else
      out.push({
        family: 'network-device',
        weight: 0.3,
        text: `ICMP TTL ${obs.ttl} (initial 255) → network device or Solaris`,
      });
  }
  const vendor = obs.macVendor ?? '';
  if (/^Apple\b/iu.test(vendor))
    out.push({
      family: 'macos',
      distribution: 'macOS',
      weight: 0.4,
      text: `MAC vendor ${vendor} → Apple device`,
    });
  if (/Raspberry Pi/iu.test(vendor))
    out.push({ family: 'linux', weight: 0.5, text: `MAC vendor ${vendor} → probably Linux (Raspberry Pi)` });
  if (/Cisco|Juniper|MikroTik|Routerboard|Ubiquiti|Aruba/iu.test(vendor))
    out.push({ family: 'network-device', weight: 0.4, text: `MAC vendor ${vendor} → network equipment` });
  if (obs.mdnsModel && /Mac|iMac/u.test(obs.mdnsModel))
    out.push({
      family: 'macos',
      distribution: 'macOS',
      weight: 0.85,
      text: `mDNS device-info model ${obs.mdnsModel} → macOS`,
    });
  if ((obs.mdnsServices ?? []).includes('_workstation._tcp'))
    out.push({ family: 'linux', weight: 0.4, text: 'mDNS _workstation._tcp (Avahi) → probably Linux' });
  if (obs.netbiosName)
    out.push({ family: 'unknown', weight: 0, text: `NetBIOS name ${obs.netbiosName} (Windows or Samba)` });
  return out;
}

const FAMILY_NAMES: Record<OsFamily, string> = {
  linux: 'Linux',
  windows: 'Windows',
  macos: 'macOS',
  bsd: 'BSD',
  'network-device': 'Network device',
  unknown: 'Unknown',
};

/**
 * Combines evidence: per family, independent evidence adds up as 1 − Π(1 − w); evidence for
 * other families counts against it. The most specific distribution/version among the winning
 * family's strongest evidence is kept.
 */
export function inferOs(obs: OsObservations | OsEvidence[]): OsGuess {
  const evidence = Array.isArray(obs) ? obs : collectOsEvidence(obs);
  const scores = new Map<OsFamily, number>();
  for (const e of evidence) {
    if (e.family === 'unknown' || e.weight <= 0) continue;
    scores.set(e.family, 1 - (1 - (scores.get(e.family) ?? 0)) * (1 - e.weight));
  }
  const texts = evidence.map((e) => e.text);
  if (scores.size === 0) {
    return {
      family: 'unknown',
      distribution: null,
      version: null,
      name: 'Unknown',
      confidence: 0,
      evidence: texts,
    };
  }
  const [family, score] = [...scores.entries()].sort((a, b) => b[1] - a[1])[0]!;
  const against = [...scores.entries()].filter(([f]) => f !== family).reduce((m, [, s]) => Math.max(m, s), 0);
  const confidence = Math.round(Math.max(0.05, score * (1 - against * 0.6)) * 100) / 100;
  const specific = evidence
    .filter((e) => e.family === family && e.distribution)
    .sort((a, b) => Number(Boolean(b.version)) - Number(Boolean(a.version)) || b.weight - a.weight)[0];
  const distribution = specific?.distribution ?? null;
  const version = specific?.version ?? null;
  const name = distribution ? (version ? `${distribution} ${version}` : distribution) : FAMILY_NAMES[family];
  return { family, distribution, version, name, confidence, evidence: texts };
}

export type ManagementChannel = 'ssh' | 'winrm' | 'both' | 'none';

/**
 * How Patchdeck could manage the host: SSH when an SSH server identified itself, WinRM when
 * an HTTP.sys /wsman listener answered. An open port that never spoke its protocol does not
 * count (it could be anything).
 */
export function managementChannel(services: ServiceInfo[]): ManagementChannel {
  const ssh = services.some((s) => s.kind === 'ssh');
  const winrm = services.some((s) => s.kind === 'http' && s.winrm);
  return ssh && winrm ? 'both' : ssh ? 'ssh' : winrm ? 'winrm' : 'none';
}
