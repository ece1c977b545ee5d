/**
 * `npm run bench -- ui [--findings=100000] [--rounds=3]`: issue 15's item 6, the Updates page at
 * scale in the real Chromium (/usr/bin/chromium through playwright-core), served in browser mode
 * by the real browser carrier over a real workspace file seeded through the audit's own insert
 * path (src/db/testing/bulk.ts:fillFleet).
 *
 * - Scroll: the rows scroller is driven by requestAnimationFrame from the top to the last row, in
 *   two legs per round: a fast flick (10 rows a frame for 300 frames, as a trackpad fling reads)
 *   then the rest of the way to the bottom in 120 frames (as dragging the scrollbar's thumb), and
 *   the round ends when the last row shows its update. Every frame's interval (the delta between
 *   consecutive requestAnimationFrame callbacks) is recorded, and Chromium's long-animation-frame
 *   entries beside it. Goal: no frame over 50 ms; the p95 is printed.
 * - Search: a package name typed at human speed (120 ms between keys) into the search box; the
 *   figure is from the last keystroke's keydown (its event timestamp) to the first animation frame
 *   after the table shows the answer to the whole word: the total card reads the word's match
 *   count and row 1 holds the update the API returns first for it. Goal ≤ 100 ms (median of rounds).
 *   The server's own time for that query (Core.call in this process) is printed beside it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import { startBrowserCarrier } from '../src/server';
import { fillFleet } from '../src/db/testing/bulk';
import type { BenchRow } from './table';
import { formatMs, intOption, median, textOption } from './support';

export const modest: string[][] = [[]];

const CHROMIUM = process.env.PATCHDECK_CHROMIUM ?? '/usr/bin/chromium';
const KEY_DELAY_MS = 120;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The renderer build to serve: --static=DIR, PATCHDECK_RENDERER_DIR, or a fresh private build. */
async function rendererDir(args: string[], scratch: string): Promise<string> {
  const given = textOption(args, 'static') ?? process.env.PATCHDECK_RENDERER_DIR;
  if (given) return given;
  const outDir = path.join(scratch, 'renderer');
  const { build } = await import('vite');
  await build({
    configFile: path.resolve(import.meta.dirname, '../renderer/vite.config.ts'),
    build: { outDir, emptyOutDir: true },
    logLevel: 'error',
  });
  return outDir;
}

/** Where one long animation frame's time went (Chromium's long-animation-frame entry). */
interface LongFrame {
  duration: number;
  /** Scripts run in it (event handlers, React's work, message callbacks). */
  scriptMs: number;
  /** From the rendering update's start to style and layout (rAF callbacks, ResizeObserver). */
  renderMs: number;
  /** Style, layout and paint, to the frame's end. */
  layoutMs: number;
  /** The longest script's invoker (e.g. "MessagePort.onmessage", "FrameRequestCallback"). */
  top: string;
}

interface ScrollRound {
  frames: number[];
  longFrames: LongFrame[];
  lastRowMs: number;
  rowsInDom: number;
}

/** One top-to-bottom scroll of the rows scroller, driven and timed inside the page. */
async function scrollRound(page: Page, count: number): Promise<ScrollRound> {
  return page.evaluate(async (count) => {
    const scroller = document.querySelector<HTMLElement>('[aria-label="Update rows"]')!;
    const table = scroller.closest('[role="table"]')!;
    const frames: number[] = [];
    type Loaf = PerformanceEntry & {
      renderStart: number;
      styleAndLayoutStart: number;
      scripts: (PerformanceEntry & { invoker: string })[];
    };
    const longFrames: {
      duration: number;
      scriptMs: number;
      renderMs: number;
      layoutMs: number;
      top: string;
    }[] = [];
    const observer = PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')
      ? new PerformanceObserver((list) => {
          for (const e of list.getEntries() as Loaf[]) {
            const end = e.startTime + e.duration;
            const top = [...e.scripts].sort((a, b) => b.duration - a.duration)[0];
            longFrames.push({
              duration: e.duration,
              scriptMs: e.scripts.reduce((sum, x) => sum + x.duration, 0),
              renderMs: e.renderStart && e.styleAndLayoutStart ? e.styleAndLayoutStart - e.renderStart : 0,
              layoutMs: e.styleAndLayoutStart ? end - e.styleAndLayoutStart : 0,
              top: top ? `${top.invoker} ${top.duration.toFixed(0)} ms` : '',
            });
          }
        })
      : null;
    observer?.observe({ type: 'long-animation-frame' });
    let rowsInDom = 0;
    const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
    let previous = await frame();
    const tick = async () => {
      const now = await frame();
      frames.push(now - previous);
      previous = now;
      rowsInDom = Math.max(rowsInDom, table.querySelectorAll('[role="row"]').length);
    };
    // Leg 1: a fling, 10 rows of 36 px a frame. The position is kept here, not read back from
    // the scroller, so the driver forces no layout of its own.
    let top = 0;
    for (let i = 0; i < 300; i++) {
      top += 360;
      scroller.scrollTop = top;
      await tick();
    }
    // Leg 2: the thumb dragged to the bottom in 120 frames.
    const from = top;
    const to = scroller.scrollHeight - scroller.clientHeight;
    for (let i = 1; i <= 120; i++) {
      scroller.scrollTop = from + ((to - from) * i) / 120;
      await tick();
    }
    const stopped = performance.now();
    const lastRow = `[aria-rowindex="${count + 1}"][data-finding-id]`;
    while (!table.querySelector(lastRow)) {
      await tick();
      if (performance.now() - stopped > 20_000) throw new Error('the last row never showed its update');
    }
    const lastRowMs = performance.now() - stopped;
    // A few frames after the last rows arrive: their render is part of the scroll.
    for (let i = 0; i < 10; i++) await tick();
    observer?.disconnect();
    return { frames, longFrames, lastRowMs, rowsInDom };
  }, count);
}

/** Types `word` into the search box at human speed and times the last keystroke to the answer on screen. */
async function searchRound(
  page: Page,
  word: string,
  expected: { total: string; firstId: number },
): Promise<number> {
  const box = page.getByRole('searchbox', { name: 'Search updates' });
  await page.evaluate(({ total, firstId }) => {
    const w = window as unknown as { __searchDone?: Promise<number>; __lastKey?: number };
    const input = document.querySelector<HTMLInputElement>('input[aria-label="Search updates"]')!;
    input.addEventListener('keydown', (e) => (w.__lastKey = e.timeStamp));
    const answered = () =>
      document.querySelector('[data-testid="total-updates"]')?.textContent === total &&
      document.querySelector(`[role="table"] [aria-rowindex="2"][data-finding-id="${firstId}"]`) !== null;
    w.__searchDone = new Promise<number>((resolve) => {
      const observer = new MutationObserver(() => {
        if (w.__lastKey === undefined || input.value !== input.dataset.word || !answered()) return;
        observer.disconnect();
        requestAnimationFrame((painted) => resolve(painted - w.__lastKey!));
      });
      observer.observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
  }, expected);
  await box.evaluate((el, word) => ((el as HTMLInputElement).dataset.word = word), word);
  await box.focus();
  await page.keyboard.type(word, { delay: KEY_DELAY_MS });
  const ms = await page.evaluate(() =>
    Promise.race([
      (window as unknown as { __searchDone: Promise<number> }).__searchDone,
      new Promise<number>((_, reject) =>
        setTimeout(() => reject(new Error('the search never showed its answer')), 20_000),
      ),
    ]),
  );
  return ms;
}

export async function main(args: string[]): Promise<BenchRow[]> {
  const findings = intOption(args, 'findings', 100_000);
  const rounds = intOption(args, 'rounds', 3);
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-ui-'));
  const core = new Core({
    platform: createNodePlatform({ configDir: scratch, useKeychain: false }),
    carrier: 'browser',
  });
  let closeAll = async (): Promise<void> => {};
  try {
    // --workspace=FILE keeps the seeded workspace for the next run (seeding takes most of the time).
    const kept = textOption(args, 'workspace');
    await core.openWorkspace(kept ?? path.join(scratch, 'ws.sqlite'), { create: 'if-missing' });
    const db = core.requireWorkspace().db;
    // 50 pending updates per host, as D's workspace bench shapes its fleet; one audit each.
    const perAudit = 50;
    const hosts = Math.ceil(findings / perAudit);
    const t0 = performance.now();
    const already = (await core.call('findings.query', { offset: 0, limit: 1, sort: 'security' })).total;
    if (already === 0) fillFleet(db, { hosts, auditsPerHost: 1, findingsPerAudit: perAudit, seed: 15 });
    else if (already !== hosts * perAudit)
      throw new Error(`${kept} holds ${already} findings, not ${hosts * perAudit}: give a fresh file`);
    const seeded = (await core.call('findings.query', { offset: 0, limit: 1, sort: 'security' })).total;
    console.log(
      `seeded ${seeded.toLocaleString('en')} current findings on ${hosts} hosts in ${formatMs(performance.now() - t0)}`,
    );
    const staticDir = await rendererDir(args, scratch);
    const carrier = await startBrowserCarrier({ core, staticDir });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
      ],
    });
    closeAll = async () => {
      await browser.close();
      await carrier.close();
    };
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // tsx keeps function names with a helper the page does not have; give the page one.
    await page.addInitScript({ content: 'window.__name = (f) => f;' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(carrier.launchUrl);
    await page.getByRole('link', { name: 'Updates' }).click();
    const totalText = seeded.toLocaleString('en');
    await page.getByTestId('total-updates').filter({ hasText: totalText }).waitFor({ timeout: 60_000 });
    await page.locator('[aria-rowindex="2"][data-finding-id]').waitFor({ timeout: 60_000 });

    // The search word: a package name whose match count differs from its prefix's, so only the
    // answer to the whole word can satisfy the check.
    const word = await pickSearchWord(core);
    const answer = await core.call('findings.query', {
      offset: 0,
      limit: 200,
      sort: 'security',
      search: word,
    });
    const expected = { total: answer.total.toLocaleString('en'), firstId: answer.rows[0]!.id };
    const serverMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await core.call('findings.query', { offset: 0, limit: 200, sort: 'security', search: word });
      serverMs.push(performance.now() - t);
    }

    const allFrames: number[] = [];
    const allLong: LongFrame[] = [];
    const lastRows: number[] = [];
    const searches: number[] = [];
    let rowsInDom = 0;
    for (let round = 1; round <= rounds; round++) {
      // Each round starts from the top of a freshly loaded list (the search of the previous round cleared).
      const scroller = page.getByRole('rowgroup', { name: 'Update rows' });
      await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
      await page.locator('[aria-rowindex="2"][data-finding-id]').waitFor();
      // --cpuprofile=FILE: a CPU profile of the first round's scroll (open it in Chrome's DevTools).
      const profileFile = round === 1 ? textOption(args, 'cpuprofile') : undefined;
      const cdp = profileFile ? await page.context().newCDPSession(page) : null;
      if (cdp) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.start');
      }
      // Round 1 is traced: the renderer's main-thread tasks with their CPU time (not wall), which a
      // busy machine does not inflate the way it stretches frames.
      if (round === 1)
        await browser.startTracing(page, {
          categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8'],
        });
      const s = await scrollRound(page, seeded);
      if (round === 1)
        mainThreadTasks(JSON.parse((await browser.stopTracing()).toString('utf8')), s.frames.length);
      if (cdp && profileFile) {
        const { profile } = await cdp.send('Profiler.stop');
        fs.writeFileSync(profileFile, JSON.stringify(profile));
        printTopFunctions(profile);
      }
      allFrames.push(...s.frames);
      allLong.push(...s.longFrames);
      lastRows.push(s.lastRowMs);
      rowsInDom = Math.max(rowsInDom, s.rowsInDom);
      console.log(
        `round ${round} scroll: ${s.frames.length} frames, worst ${s.frames.reduce((a, b) => Math.max(a, b), 0).toFixed(1)} ms, p95 ${percentile(s.frames, 95).toFixed(1)} ms, long animation frames ${s.longFrames.length} (longest ${s.longFrames.reduce((a, b) => Math.max(a, b.duration), 0).toFixed(0)} ms), last row shown ${s.lastRowMs.toFixed(0)} ms after the scroll stopped, at most ${s.rowsInDom} rows in the DOM`,
      );
      await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
      const ms = await searchRound(page, word, expected);
      searches.push(ms);
      console.log(
        `round ${round} search "${word}": ${ms.toFixed(1)} ms from the last keystroke to its rows on screen`,
      );
      await page.getByRole('searchbox', { name: 'Search updates' }).fill('');
      await page.getByTestId('total-updates').filter({ hasText: totalText }).waitFor();
    }
    if (errors.length) throw new Error(`the page threw: ${errors.join('; ')}`);
    // The trace's answer to "why": where the longest frames spent their time.
    for (const f of [...allLong].sort((a, b) => b.duration - a.duration).slice(0, 5))
      console.log(
        `  long frame ${f.duration.toFixed(0)} ms: scripts ${f.scriptMs.toFixed(0)} ms (longest: ${f.top || 'none'}), rAF/observers ${f.renderMs.toFixed(0)} ms, style+layout+paint ${f.layoutMs.toFixed(0)} ms`,
      );
    if (allLong.length) {
      const sum = (k: 'scriptMs' | 'layoutMs' | 'renderMs') => allLong.reduce((a, f) => a + f[k], 0);
      console.log(
        `  all ${allLong.length} long frames: scripts ${sum('scriptMs').toFixed(0)} ms, rAF/observers ${sum('renderMs').toFixed(0)} ms, style+layout+paint ${sum('layoutMs').toFixed(0)} ms`,
      );
    }
    const worst = allFrames.reduce((a, b) => Math.max(a, b), 0);
    const p95 = percentile(allFrames, 95);
    const search = median(searches);
    const server = median(serverMs);
    console.log(
      `scroll, ${rounds} rounds × ~${Math.round(allFrames.length / rounds)} frames: worst ${worst.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (goal: no frame over 50 ms); ${allLong.length} long animation frames`,
    );
    console.log(
      `search "${word}" (${answer.total.toLocaleString('en')} matches): median ${search.toFixed(1)} ms, worst ${Math.max(...searches).toFixed(1)} ms (goal ≤ 100 ms); the server answers it in ${server.toFixed(1)} ms (median of 5)`,
    );
    const size = `${seeded.toLocaleString('en')} findings`;
    return [
      {
        benchmark: `Updates page scroll, ${size}: worst frame`,
        baseline: '—',
        patchdeck: `${worst.toFixed(1)} ms (p95 ${p95.toFixed(1)} ms)`,
        valueMs: worst,
        goal: { of: 'ms', max: 50 },
        note: `Chromium headless, rAF deltas over ${rounds} top-to-bottom scrolls of ~${Math.round(allFrames.length / rounds)} frames; at most ${rowsInDom} rows in the DOM; last row shown ${formatMs(median(lastRows))} after the scroll stopped (median)`,
      },
      {
        benchmark: `Updates page scroll, ${size}: p95 frame`,
        baseline: '—',
        patchdeck: `${p95.toFixed(1)} ms`,
        valueMs: p95,
        goal: null,
      },
      {
        benchmark: `Updates page search, ${size}: last keystroke → rows`,
        baseline: '—',
        patchdeck: `${search.toFixed(0)} ms`,
        valueMs: search,
        goal: { of: 'ms', max: 100 },
        note: `"${word}" typed ${KEY_DELAY_MS} ms a key, median of ${rounds}, worst ${Math.max(...searches).toFixed(0)} ms; server query ${server.toFixed(0)} ms of it`,
      },
    ];
  } finally {
    await closeAll();
    await core.closeWorkspace();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A package name of the workspace whose match count differs from that of the word without its last letter. */
async function pickSearchWord(core: Core): Promise<string> {
  const facets = await core.call('findings.groups', { offset: 0, limit: 50, sort: 'host' });
  for (const g of facets.rows) {
    const word = g.package;
    if (word.length < 4) continue;
    const whole = (await core.call('findings.query', { offset: 0, limit: 1, sort: 'security', search: word }))
      .total;
    const prefix = (
      await core.call('findings.query', { offset: 0, limit: 1, sort: 'security', search: word.slice(0, -1) })
    ).total;
    if (whole > 0 && whole !== prefix) return word;
  }
  throw new Error('no package name of the seeded fleet tells its answer apart from its prefix');
}

/** The functions with the most self time in a CPU profile, as the trace's short answer. */
function printTopFunctions(profile: {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples?: number[];
  timeDeltas?: number[];
}): void {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++)
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0) / 1000);
  const byName = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const name =
      `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  console.log('  CPU profile of round 1, most self time:');
  for (const [name, ms] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`    ${ms.toFixed(0).padStart(6)} ms  ${name}`);
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** The renderer main thread's tasks in a trace: the longest by wall and by CPU, and the CPU per frame. */
function mainThreadTasks(trace: { traceEvents: TraceEvent[] }, frames: number): void {
  const main = new Set(
    trace.traceEvents
      .filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const tasks = trace.traceEvents.filter(
    (e) => e.ph === 'X' && e.name === 'RunTask' && main.has(`${e.pid}:${e.tid}`) && e.dur !== undefined,
  );
  if (tasks.length === 0) return console.log('  trace: no renderer main-thread tasks recorded');
  const wall = tasks.map((t) => t.dur! / 1000);
  const cpu = tasks.map((t) => (t.tdur ?? t.dur!) / 1000);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(
    `  trace of round 1, renderer main thread: ${tasks.length} tasks, longest ${Math.max(...wall).toFixed(1)} ms wall / ${Math.max(...cpu).toFixed(1)} ms CPU; CPU ${sum(cpu).toFixed(0)} ms in all (${(sum(cpu) / frames).toFixed(1)} ms a frame) against ${sum(wall).toFixed(0)} ms wall`,
  );
  // What the tasks did, by kind of work (these nest: a function call can hold a forced layout).
  const byName = new Map<string, number>();
  for (const e of trace.traceEvents)
    if (e.ph === 'X' && e.name !== 'RunTask' && main.has(`${e.pid}:${e.tid}`) && e.dur !== undefined)
      byName.set(e.name, (byName.get(e.name) ?? 0) + (e.tdur ?? e.dur) / 1000);
  console.log(
    `  of which (CPU ms, nested): ${[...byName]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, ms]) => `${name} ${ms.toFixed(0)}`)
      .join(', ')}`,
  );
}
