import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './testing/run-cli';

// `patchdeck advisories …` as a real process over real workspace files and the real feed files.
const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures/advisories');
const KEV = path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const EPSS = path.join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz');
const SAMPLES = path.join(FIXTURES, 'osv-samples');
const TRACKER = path.join(FIXTURES, 'debian-tracker/debian_security_tracker_mock.json');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-advisories-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], workspace: string) => runCli(args, { configDir: dir, workspace });

describe('patchdeck advisories', () => {
  let ws: string;
  let run: Awaited<ReturnType<typeof cli>>;
  beforeAll(async () => {
    ws = path.join(dir, 'office.sqlite');
    const broken = path.join(dir, 'broken-kev.json');
    fs.writeFileSync(broken, fs.readFileSync(KEV).subarray(0, 5000));
    run = await cli(['advisories', 'import', KEV, EPSS, SAMPLES, TRACKER, broken], ws);
  }, 120_000);

  it('imports files and folders, prints each file, the totals and peak memory; a refused file fails the run', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/known_exploited_vulnerabilities\.json\s+kev\s+CISA\s+\d+\s+imported/);
    expect(run.stdout).toMatch(/broken-kev\.json\s+kev\s+.*refused/);
    expect(run.stdout).toMatch(/broken-kev\.json: refused: /);
    expect(run.stdout).toMatch(
      /7 of 8 files imported, 1 refused: \d+ advisories, \d+ KEV entries, 360142 EPSS scores written in [\d.]+ s; peak memory \d+ MiB\./,
    );
  });

  it('says a file imported before is skipped', async () => {
    const again = await cli(['advisories', 'import', KEV], ws);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already-imported/);
    expect(again.stdout).toMatch(
      /0 of 1 files imported, 1 skipped: 0 advisories, 0 KEV entries, 0 EPSS scores/,
    );
  }, 60_000);

  it('status gives each feed its age and warns about a stale one; a bundle carries the snapshot', async () => {
    const status = await cli(['--json', 'advisories', 'status'], ws);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      feeds: { feed: string; publisher: string; stale: boolean }[];
      counts: { epss: number };
      warnings: string[];
    };
    expect(parsed.counts.epss).toBe(360_142);
    expect(parsed.feeds.map((f) => f.feed)).toEqual(
      expect.arrayContaining(['kev', 'epss', 'osv', 'debian-tracker']),
    );
    // The 2025 KEV snapshot is far older than the 7-day default.
    expect(parsed.warnings.some((w) => /^The KEV catalogue is \d+ days old/.test(w))).toBe(true);
    const text = await cli(['advisories', 'status'], ws);
    expect(text.stdout).toMatch(/kev\s+CISA\s+.*STALE/);
    expect(text.stdout).toMatch(/warning: The KEV catalogue is \d+ days old/);
    // The tracker JSON carries no date of its own: the table says it is aged from its import.
    expect(text.stdout).toMatch(/debian-tracker\s+Debian\s+.*none \(imported \d{4}-\d\d-\d\d\)/);

    // Air-gapped: export at the office, import on site.
    const bundle = path.join(dir, 'carry.zip');
    const exported = await cli(['advisories', 'export', '--out', bundle], ws);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(
      new RegExp(
        `Wrote ${bundle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ bytes, sha256 [0-9a-f]{64}\\)`,
      ),
    );
    const site = path.join(dir, 'site.sqlite');
    const onSite = await cli(['advisories', 'import', bundle], site);
    expect(onSite.code).toBe(0);
    expect(onSite.stdout).toMatch(/carry\.zip: kev\/known_exploited_vulnerabilities\.json\s+kev\s+CISA/);
    const siteStatus = JSON.parse(
      (await cli(['--json', 'advisories', 'status'], site)).stdout,
    ) as typeof parsed;
    expect(siteStatus.counts).toEqual(parsed.counts);
  }, 120_000);

  it('update fetches from a --mirror on loopback; a feed the mirror lacks fails the run, named', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/sites/default/files/feeds/known_exploited_vulnerabilities.json')
        res.writeHead(200).end(fs.readFileSync(KEV));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ws = path.join(dir, 'update.sqlite');
      const ok = await cli(['advisories', 'update', '--feed', 'kev', '--mirror', mirror], ws);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/known_exploited_vulnerabilities\.json\s+kev\s+downloaded/);
      expect(ok.stdout).toMatch(
        /1 of 1 files imported: 0 advisories, \d+ KEV entries, 0 EPSS scores written/,
      );
      const partly = await cli(
        ['advisories', 'update', '--feed', 'kev', '--feed', 'epss', '--mirror', mirror],
        ws,
      );
      expect(partly.code).toBe(1);
      expect(partly.stdout).toMatch(
        /epss_scores-current\.csv\.gz could not be downloaded: the server answered 404/,
      );
      expect(partly.stdout).toMatch(/0 of 1 files imported, 1 skipped/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 120_000);

  it('refuses an unknown --feed before doing anything', async () => {
    const run = await cli(['advisories', 'update', '--feed', 'nvd'], path.join(dir, 'other.sqlite'));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--feed takes one of kev, epss, osv, debian-tracker, csaf, not nvd/);
  }, 60_000);
});
