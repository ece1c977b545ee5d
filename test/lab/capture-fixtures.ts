// Re-capture the real outputs in test/fixtures/lab/ from a fresh 7-host mixed lab (lab01…lab05
// one of each apt profile, lab06 zypper, lab07 dnf):
//   sudo npx tsx test/lab/capture-fixtures.ts
// Each file is exactly what the command printed over SSH; NOTES.md lists command, exit code,
// host profile, tool version and date.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { labDown, labUp, resetHost } from './index';
import { LAB_DIR } from './paths';
import type { HostProfile } from './recipe';
import { ssh } from './testkit';

const OUT = path.join(LAB_DIR, '..', 'fixtures', 'lab');

interface Capture {
  file: string;
  /** The host profile whose host runs the command (hosts are found by profile, not position). */
  profile: HostProfile;
  command: string;
}

const APT_CAPTURES: Capture[] = [
  {
    file: 'apt-several-dist-upgrade-simulate.txt',
    profile: 'several',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  { file: 'apt-several-list-upgradable.txt', profile: 'several', command: 'LC_ALL=C apt list --upgradable' },
  { file: 'apt-several-showhold.txt', profile: 'several', command: 'apt-mark showhold' },
  {
    file: 'apt-several-dpkg-query.txt',
    profile: 'several',
    command: "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n'",
  },
  {
    file: 'apt-security-dist-upgrade-simulate.txt',
    profile: 'security',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  {
    file: 'apt-patched-dist-upgrade-simulate.txt',
    profile: 'patched',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  {
    file: 'apt-interrupted-dist-upgrade-simulate.txt',
    profile: 'interrupted',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  { file: 'apt-interrupted-dpkg-audit.txt', profile: 'interrupted', command: 'sudo LC_ALL=C dpkg --audit' },
  {
    file: 'apt-interrupted-dpkg-query.txt',
    profile: 'interrupted',
    command: "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n' 'acme-*'",
  },
  {
    file: 'apt-reboot-reboot-required-pkgs.txt',
    profile: 'reboot',
    command: 'cat /var/run/reboot-required.pkgs',
  },
  { file: 'apt-os-release.txt', profile: 'several', command: 'cat /etc/os-release' },
  {
    file: 'apt-upgrade-failing-postinst.txt',
    profile: 'several',
    command: 'sudo LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get install -y acme-flaky 2>&1',
  },
];

const DNF_CAPTURES: Capture[] = [
  { file: 'dnf-check-update.txt', profile: 'dnf', command: 'dnf -q check-update' },
  { file: 'dnf-updateinfo-list-security.txt', profile: 'dnf', command: 'dnf -q updateinfo list --security' },
  { file: 'dnf-updateinfo-list-all.txt', profile: 'dnf', command: 'dnf -q updateinfo list' },
  { file: 'dnf-updateinfo-info-security.txt', profile: 'dnf', command: 'dnf -q updateinfo info --security' },
  { file: 'dnf-needs-restarting-before.txt', profile: 'dnf', command: 'dnf needs-restarting -r' },
  { file: 'dnf-upgrade-security.txt', profile: 'dnf', command: 'sudo dnf -y upgrade --security 2>&1' },
  {
    file: 'dnf-needs-restarting-after-security-upgrade.txt',
    profile: 'dnf',
    command: 'dnf needs-restarting -r',
  },
  { file: 'dnf-os-release.txt', profile: 'dnf', command: 'cat /etc/os-release' },
  {
    file: 'dnf-rpm-qa.txt',
    profile: 'dnf',
    command: "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n' | sort",
  },
];

async function main(): Promise<void> {
  const inv = await labUp({ hosts: 7, profile: 'mixed', log: console.log });
  await mkdir(OUT, { recursive: true });
  const hostOf = (profile: HostProfile) => {
    const host = inv.hosts.find((h) => h.profile === profile);
    if (!host) throw new Error(`no ${profile} host in the lab`);
    return host;
  };
  const addr = (profile: HostProfile) => hostOf(profile).address;
  const aptVersion = (await ssh(addr('several'), 'apt-get --version | head -1')).stdout.trim();
  const dpkgVersion = (await ssh(addr('several'), "dpkg-query -W -f='${Version}' dpkg")).stdout.trim();
  const dnfVersion = (await ssh(addr('dnf'), 'dnf --version | head -1')).stdout.trim();
  const rpmVersion = (await ssh(addr('dnf'), 'rpm --version')).stdout.trim();
  const date = new Date().toISOString();
  const notes: string[] = [
    '# Real outputs captured from lab hosts',
    '',
    `Captured ${date} by \`sudo npx tsx test/lab/capture-fixtures.ts\` from a fresh \`npm run lab -- up --hosts 7 --profile mixed\` lab (see test/lab/README.md for the profiles).`,
    `apt hosts: Debian 12 (bookworm), ${aptVersion}, dpkg ${dpkgVersion}. dnf host: emulated EL 9 over Debian 12 userland, dnf ${dnfVersion}, ${rpmVersion}.`,
    "Commands ran over SSH as `admin` (sudo where shown). The packages are the lab's own tiny acme-* packages.",
    '',
    '| file | host (profile) | command | exit |',
    '|---|---|---|---|',
  ];
  for (const c of [...APT_CAPTURES, ...DNF_CAPTURES]) {
    const r = await ssh(addr(c.profile), c.command);
    await writeFile(path.join(OUT, c.file), r.stdout);
    notes.push(
      `| ${c.file} | ${hostOf(c.profile).name} (${c.profile}) | \`${c.command.replace(/\|/g, '\\|')}\` | ${r.code} |`,
    );
  }
  notes.push(
    '',
    'The apt-upgrade-failing-postinst and dnf-upgrade-security captures change their host; the script resets both hosts afterwards.',
    '',
  );
  await writeFile(path.join(OUT, 'NOTES.md'), notes.join('\n'));
  await resetHost(hostOf('several').name);
  await resetHost(hostOf('dnf').name);
  await labDown();
  console.log(`wrote ${APT_CAPTURES.length + DNF_CAPTURES.length} captures to ${OUT}`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
