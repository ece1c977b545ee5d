import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { Core } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import { runCli } from '../../src/cli/testing/run-cli';
import { labUp, labStatus, resetHost, type LabHost, type LabInventory } from '../lab';
import { LAB_OSV_ADVISORIES, writeLabAdvisories } from '../lab/advisories';
import {
  ALMA_SOURCES,
  ALMA_UPDATEINFO,
  APT_STATES,
  DEB_PACKAGES,
  debSourceOf,
  isAptProfile,
  type HostProfile,
} from '../lab/recipe';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute, enrolLab, waitForTask } from './support';

/**
 * Issue 13 end to end on real hosts: the lab's Debian hosts and its emulated AlmaLinux 9 host are
 * audited over SSH, then `patchdeck advisories import` reads the REAL KEV catalogue, EPSS scores
 * and 1 783 AlmaLinux OSV records plus the lab's own Debian advisories (OSV and tracker JSON).
 * Every finding must then carry exactly the CVEs, KEV flag and EPSS score that an independent
 * oracle computes from those same files: rpm's own comparison (python3-rpm) over every AlmaLinux
 * record, `dpkg --compare-versions` over the lab's Debian records. No list of results is written
 * here; 0 false positives and 0 misses means equality, finding by finding.
 */

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/advisories');
const KEV_FILE = path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const EPSS_FILE = path.join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz');
const ALMA_DIR = path.join(FIXTURES, 'osv-almalinux/almalinux9');
const CVE = /CVE-\d{4}-\d{4,7}/g;

/**
 * The AlmaLinux oracle, in python3-rpm: for each (binary, installed, available), the CVEs of every
 * AlmaLinux:9 record naming that binary with installed < fixed <= available (rpm.labelCompare),
 * where the fixed build is of the same kind as the installed one (module-stream builds only with
 * module-stream builds); and for each installed binary, records with no fixed event (unfixed).
 * CVEs come from the id, aliases, related, upstream and the references' URLs.
 */
const ALMA_ORACLE = String.raw`
import json, os, re, sys, rpm
req = json.load(sys.stdin)
CVE = re.compile(r'CVE-\d{4}-\d{4,7}')
def evr(s):
    e = '0'
    if ':' in s: e, s = s.split(':', 1)
    v, r = s.rsplit('-', 1)
    return (e, v, r)
module = lambda s: 'module' in s.rsplit('-', 1)[-1]
fixed, opened = {}, {}
for f in sorted(os.listdir(req['dir'])):
    rec = json.load(open(os.path.join(req['dir'], f)))
    cves = set(CVE.findall(rec['id']))
    for k in ('aliases', 'related', 'upstream'):
        for x in rec.get(k) or []: cves.update(CVE.findall(x))
    for ref in rec.get('references') or []: cves.update(CVE.findall(ref.get('url', '')))
    if rec.get('withdrawn'): continue
    for a in rec.get('affected') or []:
        if a['package']['ecosystem'] != 'AlmaLinux:9': continue
        name = a['package']['name']
        for rg in a.get('ranges') or []:
            if rg.get('type') != 'ECOSYSTEM': continue
            fx = [e['fixed'] for e in rg['events'] if 'fixed' in e]
            for v in fx: fixed.setdefault(name, []).append((v, rec['id'], cves))
            if not fx: opened.setdefault(name, []).append((rec['id'], cves))
out = {'findings': [], 'unfixed': []}
for q in req['findings']:
    got, ids = set(), set()
    for v, i, cves in fixed.get(q['name'], []):
        if module(v) != module(q['installed']): continue
        if rpm.labelCompare(evr(q['installed']), evr(v)) < 0 and rpm.labelCompare(evr(v), evr(q['available'])) <= 0:
            got |= cves; ids.add(i)
    out['findings'].append({'name': q['name'], 'cves': sorted(got), 'advisories': sorted(ids)})
for name in req['installed']:
    for i, cves in opened.get(name, []):
        for c in sorted(cves): out['unfixed'].append({'package': name, 'cve': c})
print(json.dumps(out))
`;

interface Expected {
  cves: string[];
  kev: boolean;
  epss: number | null;
}

const dpkgLt = (a: string, b: string) => {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
    return true;
  } catch {
    return false;
  }
};

describeAsRoot('advisory matching against the lab (real KEV, EPSS and AlmaLinux OSV files)', () => {
  let lab: LabInventory;
  let dir: string;
  let core: Core;
  let ids: Map<string, number>;
  let advisoryDir: string;
  const kevSet = new Set<string>();
  const epss = new Map<string, number>();

  const openCore = async () => {
    const c = new Core({
      platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
      carrier: 'test',
    });
    await c.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
    return c;
  };

  beforeAll(async () => {
    for (const f of [KEV_FILE, EPSS_FILE, ALMA_DIR])
      if (!fs.existsSync(f))
        throw new Error(`missing fixture ${f} (test/fixtures/advisories, see its README)`);
    const kev = JSON.parse(fs.readFileSync(KEV_FILE, 'utf8')) as { vulnerabilities: { cveID: string }[] };
    for (const v of kev.vulnerabilities) kevSet.add(v.cveID);
    for (const line of gunzipSync(fs.readFileSync(EPSS_FILE)).toString('utf8').split('\n')) {
      const [cve, score] = line.split(',');
      if (cve?.startsWith('CVE-') && score) epss.set(cve, Number(score));
    }

    lab = await labUp({ hosts: 3, profile: 'intel' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    expect(lab.hosts.map((h) => h.profile)).toEqual(['several', 'sources', 'alma']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-intel-lab-'));
    advisoryDir = path.join(dir, 'lab-advisories');
    await writeLabAdvisories(advisoryDir);
    core = await openCore();
    ids = await enrolLab(core, lab);
  });
  beforeEach(() => assertLabRoute(lab));
  afterAll(async () => {
    await core?.closeWorkspace();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const facts = (cves: string[]): Expected => {
    const sorted = [...new Set(cves)].sort();
    const scores = sorted.map((c) => epss.get(c)).filter((s): s is number => s !== undefined);
    return {
      cves: sorted,
      kev: sorted.some((c) => kevSet.has(c)),
      epss: scores.length ? Math.max(...scores) : null,
    };
  };

  /** Debian oracle: the lab's written OSV records and tracker JSON, read back, with dpkg's own comparison. */
  function debianExpected(): {
    forFinding(pkg: string, installed: string, available: string): string[];
    unfixed(host: LabHost): { package: string; cve: string }[];
  } {
    const osv = fs
      .readdirSync(path.join(advisoryDir, 'osv'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(advisoryDir, 'osv', f), 'utf8')) as OsvLike);
    const tracker = JSON.parse(
      fs.readFileSync(path.join(advisoryDir, 'debian-tracker.json'), 'utf8'),
    ) as Record<string, Record<string, { releases: Record<string, TrackerRelease> }>>;
    const sourceOf = (binary: string) => {
      const p = DEB_PACKAGES.find((x) => x.name === binary);
      if (!p) throw new Error(`the lab has no package ${binary}`);
      return debSourceOf(p);
    };
    const inRange = (installed: string, fixed: string, available: string) =>
      dpkgLt(installed, fixed) && !dpkgLt(available, fixed);
    return {
      forFinding(pkg, installed, available) {
        const source = sourceOf(pkg);
        const cves: string[] = [];
        for (const rec of osv)
          for (const a of rec.affected)
            if (a.package.ecosystem === 'Debian:12' && a.package.name === source)
              for (const r of a.ranges)
                for (const e of r.events)
                  if (e.fixed && inRange(installed, e.fixed, available))
                    cves.push(...[rec.id, ...(rec.aliases ?? [])].flatMap((x) => x.match(CVE) ?? []));
        for (const [cve, entry] of Object.entries(tracker[source] ?? {})) {
          const b = entry.releases.bookworm;
          if (!b || b.status !== 'resolved' || b.urgency === 'unimportant') continue;
          if (b.fixed_version && b.fixed_version !== '0' && inRange(installed, b.fixed_version, available))
            cves.push(cve);
        }
        return cves;
      },
      unfixed(host) {
        if (!isAptProfile(host.profile as HostProfile)) return [];
        const state = APT_STATES[host.profile as keyof typeof APT_STATES];
        const installed = [
          ...Object.keys(state.installed),
          ...(state.halfConfigured ? [state.halfConfigured.name] : []),
        ];
        const rows: { package: string; cve: string }[] = [];
        for (const binary of installed)
          for (const [cve, entry] of Object.entries(tracker[sourceOf(binary)] ?? {})) {
            const b = entry.releases.bookworm;
            if (b?.status === 'open' && b.urgency !== 'unimportant') rows.push({ package: binary, cve });
          }
        return rows;
      },
    };
  }

  it('gives every finding exactly its advisories’ CVEs, KEV flag and EPSS score, unfixed CVEs apart', async () => {
    const { taskId } = await core.call('audits.start', { refresh: true });
    expect((await waitForTask(core, taskId)).status).toBe('succeeded');
    await core.closeWorkspace();

    // The import as an admin types it, in its own process over the same workspace file.
    const imported = await runCli(['advisories', 'import', KEV_FILE, EPSS_FILE, ALMA_DIR, advisoryDir], {
      configDir: path.join(dir, 'config'),
      workspace: path.join(dir, 'ws.sqlite'),
    });
    expect(imported.code, `${imported.stdout}\n${imported.stderr}`).toBe(0);
    expect(imported.stdout).not.toMatch(/refused/);
    core = await openCore();

    const latest = await core.call('audits.latest', {});
    const debian = debianExpected();
    for (const host of lab.hosts) {
      const audit = latest.find((a) => a.hostId === ids.get(host.name))!;
      expect(audit.status, `${host.name}: ${audit.errorMessage}`).toBe('succeeded');
      const page = await core.call('findings.query', { hostId: audit.hostId, limit: 1000 });
      const upgrades = page.rows.filter((f) => f.installedVersion !== null);
      // The lab's ground truth first: the findings are the pending updates the recipe put there.
      expect(upgrades.map((f) => f.package).sort(), host.name).toEqual(
        host.pending.map((p) => p.name).sort(),
      );
      // …each with the source package it was built from (matching by source depends on it).
      for (const f of upgrades)
        expect
          .soft(f.sourcePackage, `${host.name} ${f.package} source`)
          .toBe(host.pending.find((p) => p.name === f.package)!.sourceName);

      let expectedUnfixed: { package: string; cve: string }[];
      const expected = new Map<string, Expected>();
      if (host.profile === 'alma') {
        const installedBinaries = ALMA_SOURCES.flatMap((s) => s.binaries);
        const oracle = JSON.parse(
          execFileSync('/usr/bin/python3', ['-c', ALMA_ORACLE], {
            input: JSON.stringify({
              dir: ALMA_DIR,
              findings: upgrades.map((f) => ({
                name: f.package,
                installed: f.installedVersion,
                available: f.availableVersion,
              })),
              installed: installedBinaries,
            }),
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          }),
        ) as {
          findings: { name: string; cves: string[]; advisories: string[] }[];
          unfixed: { package: string; cve: string }[];
        };
        for (const o of oracle.findings) {
          // The CVE ids dnf's updateinfo reports for the update join the set (the same ones, here).
          const src = ALMA_SOURCES.find((s) => s.binaries.includes(o.name))!;
          const reported = ALMA_UPDATEINFO.filter((u) => u.source === src.source).flatMap((u) => u.cves);
          expected.set(o.name, facts([...o.cves, ...reported]));
          // The recipe's own claim of which advisories lie in range agrees with the oracle.
          expect(o.advisories, `${o.name}: advisories in range`).toEqual([...src.fixes].sort());
        }
        expectedUnfixed = oracle.unfixed;
      } else {
        for (const f of upgrades)
          expected.set(
            f.package,
            facts(debian.forFinding(f.package, f.installedVersion!, f.availableVersion)),
          );
        expectedUnfixed = debian.unfixed(host);
      }

      for (const f of upgrades) {
        const want = expected.get(f.package)!;
        expect
          .soft(
            { cves: [...f.cves].sort(), kev: f.kev, epss: f.epss },
            `${host.name} ${f.package} ${f.installedVersion} → ${f.availableVersion}`,
          )
          .toEqual(want);
        if (want.kev) expect(f.tier, `${host.name} ${f.package} tier`).toBe('kev');
        // Each CVE once in the evidence (an advisory the package manager reported and the snapshot
        // knows is one advisory), and every reported advisory id is known to the snapshot.
        const evidence = await core.call('findings.evidence', { findingId: f.id });
        expect
          .soft(evidence.cves.map((c) => c.cve).sort(), `${host.name} ${f.package} evidence`)
          .toEqual(want.cves);
        for (const c of evidence.cves)
          expect(c.evidence.length, `${f.package} ${c.cve} evidence rows`).toBeGreaterThan(0);
        const reportedAlsa = f.advisories.filter((a) => /^ALSA-/.test(a));
        expect(evidence.unmatchedAdvisories.filter((a) => reportedAlsa.includes(a))).toEqual([]);
      }

      const unfixed = await core.call('findings.unfixed', { hostId: audit.hostId, limit: 5000 });
      expect
        .soft(
          unfixed.rows.map((r) => ({ package: r.package, cve: r.cve })).sort(byPackageCve),
          `${host.name} unfixed`,
        )
        .toEqual([...expectedUnfixed].sort(byPackageCve));
      for (const r of unfixed.rows) {
        expect(r.kev).toBe(kevSet.has(r.cve));
        expect(r.epss).toBe(epss.get(r.cve) ?? null);
      }
    }

    // The cases the lab was built for are really there (else the equalities above prove little).
    const all = await core.call('findings.query', { limit: 1000 });
    const byHost = (profile: string, pkg: string) =>
      all.rows.find(
        (f) => f.hostId === ids.get(lab.hosts.find((h) => h.profile === profile)!.name) && f.package === pkg,
      )!;
    expect(byHost('alma', 'toolbox').cves).toContain('CVE-2023-44487'); // only in references, KEV
    expect(byHost('alma', 'toolbox').kev).toBe(true);
    expect(byHost('alma', 'bash').cves).toEqual([]); // fixes nothing
    expect(byHost('alma', 'nodejs-nodemon').cves.length).toBeGreaterThan(0);
    expect(byHost('alma', 'httpd-tools').cves).toEqual(byHost('alma', 'httpd').cves); // one source
    expect(byHost('sources', 'acme-codec-tools').cves).toEqual(byHost('sources', 'libacme-codec1').cves);
    expect(byHost('sources', 'acme-codec-tools').cves.length).toBeGreaterThan(0);
    const bpo = LAB_OSV_ADVISORIES.filter((a) => a.source === 'acme-backport');
    expect(byHost('sources', 'acme-backport').cves).toEqual(
      bpo.filter((a) => a.fixed.includes('~bpo')).flatMap((a) => a.cves),
    );
    expect(byHost('sources', 'acme-firmware').security).toBe(true); // a security update no advisory names
    expect(byHost('sources', 'acme-firmware').cves).toEqual([]);
    expect(byHost('sources', 'acme-lib').cves).toEqual([]);
  });
});

interface OsvLike {
  id: string;
  aliases?: string[];
  affected: { package: { ecosystem: string; name: string }; ranges: { events: { fixed?: string }[] }[] }[];
}
interface TrackerRelease {
  status: string;
  fixed_version?: string;
  urgency: string;
}
const byPackageCve = (a: { package: string; cve: string }, b: { package: string; cve: string }) =>
  a.package.localeCompare(b.package) || a.cve.localeCompare(b.cve);
