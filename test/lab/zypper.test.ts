// The emulated zypper host (openSUSE Leap 15.5 identity over Debian 12's zypper and rpm): its
// ground truth against what zypper itself says over SSH. Same 4-host mixed lab as the audit,
// discovery and UI lab tests (lab03 is the zypper host).
import { beforeAll, expect, it } from 'vitest';
import { labUp, resetHost, labStatus, type LabHost } from './index';
import { describeAsRoot, ssh } from './testkit';

const Z = 'LC_ALL=C zypper --non-interactive --no-refresh';

/** Rows of a zypper table (`a | b | c` under a `--+--` rule), keyed by header. */
function table(text: string): Record<string, string>[] {
  const lines = text.split('\n');
  const rule = lines.findIndex((l) => /^-+(\+-+)+\s*$/.test(l.trim()));
  if (rule < 1) return [];
  const header = lines[rule - 1]!.split('|').map((c) => c.trim());
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(rule + 1)) {
    if (!line.includes('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])));
  }
  return rows;
}

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

describeAsRoot('lab zypper host', () => {
  let host: LabHost;

  beforeAll(async () => {
    const lab = await labUp({ hosts: 4, profile: 'mixed' });
    host = lab.hosts.find((h) => h.packageManager === 'zypper')!;
    await resetHost(host.name);
    host = labStatus().hosts.find((h) => h.name === host.name)!;
  });

  it('is the second-to-last host of a mixed lab, emulated, with a SUSE identity', async () => {
    const lab = labStatus();
    expect(lab.hosts.map((h) => h.profile)).toEqual(['several', 'security', 'zypper', 'dnf']);
    expect(host).toMatchObject({
      emulated: true,
      profile: 'zypper',
      os: { id: 'opensuse-leap', versionId: '15.5' },
    });
    const r = await ssh(
      host.address,
      '. /etc/os-release; echo "$ID $VERSION_ID"; command -v apt-get dpkg || true',
    );
    expect(r.stdout.trim()).toBe(`${host.os.id} ${host.os.versionId}`);
    expect(host.pending.length).toBeGreaterThan(3);
    expect(host.patches.length).toBeGreaterThan(3);
  });

  it('zypper list-updates matches the ground truth', async () => {
    const r = await ssh(host.address, `${Z} list-updates`);
    expect(r.code, r.stderr).toBe(0);
    const rows = table(r.stdout).map((row) => ({
      name: row.Name!,
      installed: row['Current Version']!,
      available: row['Available Version']!,
      arch: row.Arch!,
    }));
    expect(rows.sort(byName)).toEqual(
      host.pending
        .map((p) => ({ name: p.name, installed: p.installed, available: p.available, arch: p.arch }))
        .sort(byName),
    );
    // The repository alias, as the XML output names it.
    const xml = await ssh(host.address, `${Z} --xmlout list-updates`);
    for (const p of host.pending)
      expect(xml.stdout).toMatch(
        new RegExp(`name="${p.name}"[^>]*>(?:(?!</update>).)*alias="${p.repository}"`, 's'),
      );
  });

  it('zypper list-patches (all and --category security) matches the ground truth', async () => {
    const r = await ssh(host.address, `${Z} list-patches`);
    expect(r.code, r.stderr).toBe(0);
    const rows = table(r.stdout).map((row) => ({
      name: row.Name!,
      category: row.Category!,
      severity: row.Severity!,
      rebootSuggested: /\breboot\b/.test(row.Interactive!),
      status: row.Status!,
    }));
    expect(rows.sort(byName)).toEqual(
      host.patches
        .map((p) => ({
          name: p.id,
          category: p.category,
          severity: p.severity,
          rebootSuggested: p.rebootSuggested,
          status: 'needed',
        }))
        .sort(byName),
    );
    const sec = await ssh(host.address, `${Z} list-patches --category security`);
    expect(
      table(sec.stdout)
        .map((row) => row.Name)
        .sort(),
    ).toEqual(
      host.patches
        .filter((p) => p.security)
        .map((p) => p.id)
        .sort(),
    );
    // Which packages each patch ships, as zypper itself says (`info -t patch`, its Conflicts lines):
    // every pending update is shipped by exactly the patches the ground truth names.
    const info = await ssh(host.address, `${Z} info -t patch ${rows.map((p) => p.name).join(' ')}`);
    expect(info.code, info.stderr).toBe(0);
    const ships = new Map<string, string[]>();
    for (const block of info.stdout.split(/^Information for patch /m).slice(1)) {
      const id = block.slice(0, block.indexOf(':')).trim();
      const conflicts = /^Conflicts\s*:(.*(?:\n {4,}.*)*)/m.exec(block)?.[1] ?? '';
      ships.set(
        id,
        [...conflicts.matchAll(/([A-Za-z0-9][\w.+-]*?)(?:\.noarch)?\s+</g)].map((m) => m[1]!),
      );
    }
    expect([...ships.keys()].sort()).toEqual(rows.map((p) => p.name).sort());
    for (const p of host.pending)
      expect(
        [...ships]
          .filter(([, pkgs]) => pkgs.includes(p.name))
          .map(([id]) => id)
          .sort(),
        p.name,
      ).toEqual([...p.advisories].sort());
  });

  it('rpm -q shows the installed versions of the ground truth; no reboot is pending', async () => {
    const r = await ssh(
      host.address,
      `rpm -q --qf '%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\\n' ${host.pending.map((p) => p.name).join(' ')}`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      host.pending.map((p) => `${p.name} ${p.installed}`).sort(),
    );
    const reboot = await ssh(host.address, 'zypper needs-rebooting >/dev/null 2>&1; echo $?');
    expect(reboot.stdout.trim()).toBe(host.rebootRequired ? '102' : '0');
  });
});
