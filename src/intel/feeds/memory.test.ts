/**
 * Memory stays bounded: the 16 MB AlmaLinux folder, and a Debian tracker file of ~200 MB in the
 * tracker's own layout (generated into a temporary folder), are read through while the process's
 * RSS is sampled; the peak must stay well under what holding the files would take.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource, listFeedSources, readFeed } from './index';

const ALMA = join(import.meta.dirname, '../../../test/fixtures/advisories/osv-almalinux/almalinux9');
const BOUND = 300 * 1024 * 1024;
const SMALL_BOUND = 100 * 1024 * 1024;

/** Runs `work` while sampling RSS; the highest RSS seen above the one before it started. */
async function peakRssAbove<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await work();
    sample();
    return { result, peak: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

const SOURCES = 4500;
const CVES_PER_SOURCE = 50;
const CODENAMES = ['buster', 'bullseye', 'bookworm', 'trixie', 'sid'];

/** A tracker JSON of SOURCES × CVES_PER_SOURCE entries, written in pieces (never whole in memory). */
async function writeTracker(path: string): Promise<void> {
  const out = createWriteStream(path);
  const description = 'A crafted request can make the daemon read past the end of a buffer. '.repeat(5);
  out.write('{\n');
  for (let s = 0; s < SOURCES; s++) {
    const parts: string[] = [];
    for (let c = 0; c < CVES_PER_SOURCE; c++) {
      const cve = `CVE-${2000 + (c % 25)}-${String(10000 + s * CVES_PER_SOURCE + c)}`;
      const releases = CODENAMES.map(
        (name, i) =>
          `"${name}": {"status": "${i % 2 ? 'resolved' : 'open'}", "repositories": {"${name}": "1.${s}-${c}"}, ${
            i % 2 ? `"fixed_version": "1.${s}-${c + 1}", ` : ''
          }"urgency": "low"}`,
      );
      parts.push(
        `"${cve}": {"description": "${description}", "scope": "remote", "releases": {${releases.join(', ')}}}`,
      );
    }
    const chunk = `${s ? ',\n' : ''}"pkg${s}": {${parts.join(',\n')}}`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.write('\n}\n');
  out.end();
  await once(out, 'finish');
}

describe('memory stays bounded while reading', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'patchdeck-tracker-'));
    await writeTracker(join(dir, 'tracker.json'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the 1,783-file AlmaLinux folder', { timeout: 120_000 }, async () => {
    const { result, peak } = await peakRssAbove(async () => {
      let records = 0;
      for (const source of await listFeedSources([ALMA])) {
        const reader = readFeed(source, 'osv');
        for (;;) {
          const next = await reader.next();
          if (next.done) break;
          records++;
        }
      }
      return records;
    });
    expect(result).toBe(1783);
    console.log(`AlmaLinux folder: peak RSS +${Math.round(peak / 1024 / 1024)} MB`);
    expect(peak).toBeLessThan(SMALL_BOUND);
  });

  it('reads a ~200 MB tracker file holding one entry at a time', { timeout: 300_000 }, async () => {
    const path = join(dir, 'tracker.json');
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(190 * 1024 * 1024);
    const { result, peak } = await peakRssAbove(async () => {
      let records = 0;
      let affected = 0;
      const reader = readFeed(fileSource(path), 'debian-tracker');
      for (;;) {
        const next = await reader.next();
        if (next.done) return { records, affected, facts: next.value };
        records++;
        if (next.value.kind === 'advisory') affected += next.value.record.affected.length;
      }
    });
    expect(result.records).toBe(SOURCES * CVES_PER_SOURCE);
    expect(result.facts.recordCount).toBe(SOURCES * CVES_PER_SOURCE);
    // sid has no ecosystem: four releases each.
    expect(result.affected).toBe(SOURCES * CVES_PER_SOURCE * 4);
    console.log(
      `tracker ${Math.round(size / 1024 / 1024)} MB: peak RSS +${Math.round(peak / 1024 / 1024)} MB`,
    );
    expect(peak).toBeLessThan(BOUND);
    expect(peak).toBeLessThan(size);
  });
});
