/**
 * `advisories update` against a real HTTP server on loopback that serves the real fixture files
 * under the publishers' own paths, reached through the mirror setting.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryWorkspace, insertHost } from '../db';
import { DEBIAN_12, recordAudit } from '../db/testing/audits';
import { ManualClock } from '../util';
import { mirroredUrl, plannedDownloads, PUBLISHER_FEEDS, updateFeeds } from './update';

const FIXTURES = path.join(import.meta.dirname, '../../test/fixtures/advisories');
const ALMA = path.join(FIXTURES, 'osv-almalinux/almalinux9');
const almaNames = fs
  .readdirSync(ALMA)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .slice(0, 40);

function zipOf(files: string[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addFile(path.join(ALMA, f), f);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

let server: http.Server;
let base: string;
const requests: string[] = [];
let routes: Map<string, Buffer>;

beforeAll(async () => {
  routes = new Map([
    [
      new URL(PUBLISHER_FEEDS.kev.url).pathname,
      fs.readFileSync(path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json')),
    ],
    [
      new URL(PUBLISHER_FEEDS.epss.url).pathname,
      fs.readFileSync(path.join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz')),
    ],
    ['/AlmaLinux/all.zip', await zipOf(almaNames)],
    [
      new URL(PUBLISHER_FEEDS['debian-tracker'].url).pathname,
      fs.readFileSync(path.join(FIXTURES, 'debian-tracker/debian_security_tracker_mock.json')),
    ],
  ]);
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    const body = routes.get(url.pathname.replace(/^\/mirror/, ''));
    if (!body) {
      res.writeHead(404).end('not here');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const ALMA_9 = { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' };

describe('updateFeeds', { timeout: 60_000 }, () => {
  it('fetches KEV, EPSS, the hosts’ OSV exports and the tracker from a mirror and imports them', async () => {
    const db = createMemoryWorkspace();
    recordAudit(db, insertHost(db, { name: 'alma1', address: '198.18.0.21' }).id, ALMA_9, 'dnf', []);
    recordAudit(db, insertHost(db, { name: 'deb1', address: '198.18.0.22' }).id, DEBIAN_12, 'apt', []);
    requests.length = 0;
    const result = await updateFeeds(db, {
      mirror: `${base}/mirror/`,
      clock: new ManualClock('2026-08-22T10:00:00Z'),
    });
    expect(requests.sort()).toEqual(
      [
        '/mirror/sites/default/files/feeds/known_exploited_vulnerabilities.json',
        '/mirror/epss_scores-current.csv.gz',
        '/mirror/AlmaLinux/all.zip',
        '/mirror/Debian/all.zip',
        '/mirror/tracker/data/json',
      ].sort(),
    );
    // Debian's export is not on this mirror: said, and the rest imported.
    const failed = result.downloads.filter((d) => d.status === 'failed');
    expect(failed.map((d) => d.url)).toEqual([`${base}/mirror/Debian/all.zip`]);
    expect(failed[0]!.message).toMatch(/404/);
    expect(result.import.files.map((f) => [f.feed, f.status])).toEqual([
      ['kev', 'imported'],
      ['epss', 'imported'],
      ['osv', 'imported'],
      ['debian-tracker', 'imported'],
    ]);
    expect(result.import.files[0]!.name).toBe(
      `${base}/mirror/sites/default/files/feeds/known_exploited_vulnerabilities.json`,
    );
    expect(result.import.epss).toBe(360_142);
    expect(
      db.prepare("SELECT count(*) FROM advisory_packages WHERE ecosystem = 'AlmaLinux:9'").pluck().get(),
    ).toBeGreaterThan(0);
    expect(db.prepare("SELECT count(*) FROM advisory_sources WHERE feed = 'osv'").pluck().get()).toBe(1);

    // The same files again: downloaded, recognised, nothing written twice.
    const again = await updateFeeds(db, {
      feeds: ['kev', 'osv'],
      mirror: base,
      clock: new ManualClock('2026-08-23T10:00:00Z'),
    });
    expect(again.import.files.map((f) => f.status)).toEqual(['already-imported', 'already-imported']);
  });

  it('refuses a file larger than its feed allows', async () => {
    const db = createMemoryWorkspace();
    const big = Buffer.alloc(PUBLISHER_FEEDS.kev.maxBytes + 1, 0x20);
    routes.set('/sites/default/files/feeds/known_exploited_vulnerabilities.json', big);
    try {
      const result = await updateFeeds(db, { feeds: ['kev'], mirror: base, clock: new ManualClock(0) });
      expect(result.downloads[0]).toMatchObject({ status: 'failed' });
      expect(result.downloads[0]!.message).toMatch(/more than the \d+ allowed/);
      expect(result.import.files).toEqual([]);
    } finally {
      routes.set(
        '/sites/default/files/feeds/known_exploited_vulnerabilities.json',
        fs.readFileSync(path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json')),
      );
    }
  });

  it('plans the publishers’ own URLs when no mirror is set, OSV only for the hosts’ ecosystems', () => {
    const db = createMemoryWorkspace();
    recordAudit(
      db,
      insertHost(db, { name: 'rocky1', address: '198.18.0.23' }).id,
      { osId: 'rocky', osName: 'Rocky Linux', osVersion: '9.3' },
      'dnf',
      [],
    );
    const plan = plannedDownloads(db, undefined, '');
    expect(plan.downloads.map((d) => d.url)).toEqual([
      PUBLISHER_FEEDS.kev.url,
      PUBLISHER_FEEDS.epss.url,
      'https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip',
    ]);
    expect(plannedDownloads(createMemoryWorkspace(), ['osv', 'csaf'], '').notes).toHaveLength(2);
  });

  it('takes only http(s) mirrors without credentials', () => {
    expect(mirroredUrl('https://www.cisa.gov/a/b.json?x=1', 'http://10.0.0.5:8080/pub')).toBe(
      'http://10.0.0.5:8080/pub/a/b.json?x=1',
    );
    expect(() => mirroredUrl('https://x/a', 'ftp://mirror/')).toThrow(/http/);
    expect(() => mirroredUrl('https://x/a', 'file:///etc/')).toThrow(/http/);
    expect(() => mirroredUrl('https://x/a', 'https://u:p@mirror/')).toThrow(/password/);
    expect(() => mirroredUrl('https://x/a', 'not a url')).toThrow(/not a URL/);
  });
});
