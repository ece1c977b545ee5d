// Re-capture the real outputs in test/fixtures/lab/ from a fresh 6-host mixed lab:
//   sudo npx tsx test/lab/capture-fixtures.ts
// Each file is exactly what the command printed over SSH; NOTES.md lists command, exit code,
// host profile, tool version and date.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { labDown, labUp, resetHost } from './index';
import { LAB_DIR } from './paths';
import { ssh } from './testkit';

const OUT = path.join(LAB_DIR, '..', 'fixtures', 'lab');

interface Capture {
  file: string;
  host: string;
  command: string;
}

const APT_CAPTURES: Capture[] = [
  {
    file: 'apt-several-dist-upgrade-simulate.txt',
    host: 'lab01',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  { file: 'apt-several-list-upgradable.txt', host: 'lab01', command: 'LC_ALL=C apt list --upgradable' },
  { file: 'apt-several-showhold.txt', host: 'lab01', command: 'apt-mark showhold' },
  {
    file: 'apt-several-dpkg-query.txt',
    host: 'lab01',
    command: "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n'",
  },
  {
    file: 'apt-security-dist-upgrade-simulate.txt',
    host: 'lab02',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  {
    file: 'apt-patched-dist-upgrade-simulate.txt',
    host: 'lab03',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  {
    file: 'apt-interrupted-dist-upgrade-simulate.txt',
    host: 'lab04',
    command: 'LC_ALL=C apt-get -s dist-upgrade',
  },
  { file: 'apt-interrupted-dpkg-audit.txt', host: 'lab04', command: 'sudo LC_ALL=C dpkg --audit' },
  {
    file: 'apt-interrupted-dpkg-query.txt',
    host: 'lab04',
    command: "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n' 'acme-*'",
  },
  {
    file: 'apt-reboot-reboot-required-pkgs.txt',
    host: 'lab05',
    command: 'cat /var/run/reboot-required.pkgs',
  },
  { file: 'apt-os-release.txt', host: 'lab01', command: 'cat /etc/os-release' },
  {
    file: 'apt-upgrade-failing-postinst.txt',
    host: 'lab01',
    command: 'sudo LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get install -y acme-flaky 2>&1',
  },
];

const DNF_CAPTURES: Capture[] = [
  { file: 'dnf-check-update.txt', host: 'lab06', command: 'dnf -q check-update' },
  { file: 'dnf-updateinfo-list-security.txt', host: 'lab06', command: 'dnf -q updateinfo list --security' },
  { file: 'dnf-updateinfo-list-all.txt', host: 'lab06', command: 'dnf -q updateinfo list' },
  { file: 'dnf-updateinfo-info-security.txt', host: 'lab06', command: 'dnf -q updateinfo info --security' },
  { file: 'dnf-needs-restarting-before.txt', host: 'lab06', command: 'dnf needs-restarting -r' },
  { file: 'dnf-upgrade-security.txt', host: 'lab06', command: 'sudo dnf -y upgrade --security 2>&1' },
  {
    file: 'dnf-needs-restarting-after-security-upgrade.txt',
    host: 'lab06',
    command: 'dnf needs-restarting -r',
  },
  { file: 'dnf-os-release.txt', host: 'lab06', command: 'cat /etc/os-release' },
  {
    file: 'dnf-rpm-qa.txt',
    host: 'lab06',
    command: "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n' | sort",
  },
];

async function main(): Promise<void> {
  const inv = await labUp({ hosts: 6, profile: 'mixed', log: console.log });
  await mkdir(OUT, { recursive: true });
  const profileOf = (name: string) => inv.hosts.find((h) => h.name === name)?.profile ?? '?';
  const addr = (name: string) => inv.hosts.find((h) => h.name === name)?.address as string;
  const aptVersion = (await ssh(addr('lab01'), 'apt-get --version | head -1')).stdout.trim();
  const dpkgVersion = (await ssh(addr('lab01'), "dpkg-query -W -f='${Version}' dpkg")).stdout.trim();
  const dnfVersion = (await ssh(addr('lab06'), 'dnf --version | head -1')).stdout.trim();
  const rpmVersion = (await ssh(addr('lab06'), 'rpm --version')).stdout.trim();
  const date = new Date().toISOString();
  const notes: string[] = [
    '# Real outputs captured from lab hosts',
    '',
    `Captured ${date} by \`sudo npx tsx test/lab/capture-fixtures.ts\` from a fresh \`npm run lab -- up --hosts 6 --profile mixed\` lab (see test/lab/README.md for the profiles).`,
    `apt hosts: Debian 12 (bookworm), ${aptVersion}, dpkg ${dpkgVersion}. dnf host: emulated EL 9 over Debian 12 userland, dnf ${dnfVersion}, ${rpmVersion}.`,
    "Commands ran over SSH as `admin` (sudo where shown). The packages are the lab's own tiny acme-* packages.",
    '',
    '| file | host (profile) | command | exit |',
    '|---|---|---|---|',
  ];
  for (const c of [...APT_CAPTURES, ...DNF_CAPTURES]) {
    const r = await ssh(addr(c.host), c.command);
    await writeFile(path.join(OUT, c.file), r.stdout);
    notes.push(
      `| ${c.file} | ${c.host} (${profileOf(c.host)}) | \`${c.command.replace(/\|/g, '\\|')}\` | ${r.code} |`,
    );
  }
  notes.push(
    '',
    'The apt-upgrade-failing-postinst and dnf-upgrade-security captures change their host; the script resets both hosts afterwards.',
    '',
  );
  await writeFile(path.join(OUT, 'NOTES.md'), notes.join('\n'));
  await resetHost('lab01');
  await resetHost('lab06');
  await labDown();
  console.log(`wrote ${APT_CAPTURES.length + DNF_CAPTURES.length} captures to ${OUT}`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
