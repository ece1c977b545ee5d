/**
 * Crash loop on the lab: a real `patchdeck patch` job on N fresh hosts is killed with SIGKILL at a
 * random moment of its run, then checked, resumed and checked again — `rounds` times.
 *
 * Usage: npm run crash-loop -- [--hosts=20] [--rounds=20] [--seed=1] [--concurrency=5] [--take-over]
 * (or npm run bench -- crash-loop …). Root: it starts the lab (`security` profile: acme-tool and
 * acme-firmware pending on every host). --take-over: replace a lab of another size or profile
 * (without it, such a lab — maybe another engineer's — is left alone and the loop refuses).
 *
 * Each round:
 *  1. every host is reset to its fresh state and audited into the workspace (in-process, untimed);
 *  2. the bundled CLI runs `patchdeck patch --packages acme-tool,acme-firmware --reboot never --yes`
 *     in a child process (plan, dry run, approval, run); once the job is `running` in the workspace,
 *     the child gets SIGKILL after a seeded random delay. Delays are stratified over 90% of the
 *     job's run time (measured by one calibration job that is not killed): round i falls in the
 *     i-th twentieth, so the moments are spread over the whole run. A kill that lands after the
 *     job ended tests nothing: that round is run again with 0.7× the delay (up to 4 tries);
 *  3. checks, with the host-side installs (detached, they outlive the controller) allowed to end:
 *     a. `PRAGMA integrity_check` of the workspace file as the kill left it = ok;
 *     b. after the next open (`patchdeck jobs show`, which is where a crash is recorded), the job is
 *        `interrupted` (resumable) — or `succeeded` if it finished before the kill — and no job, step,
 *        task or audit says `running` (nor a task `queued`);
 *     c. every host's recorded state equals its real package state, read with dpkg-query inside
 *        the host (the lab's nsenter helper, not SSH): a step that is queued, or stopped before its
 *        install phase, has the versions from before (nothing was installed before the install phase
 *        was committed); a step in phase install has each package at its old or its approved version,
 *        fully installed (`ii`, `dpkg --audit` clean) and the recorded `before` versions equal the old
 *        ones; a step in phase verify or succeeded has the approved versions and the recorded `after`
 *        versions equal dpkg's;
 *     d. `patchdeck jobs resume` exits 0 with the job and every step succeeded, and dpkg on every host
 *        then shows the approved versions; the workspace passes integrity_check again.
 * Prints one row per round and `N/rounds clean`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { execOnHost, holdLab, labStatus, labUp, resetHost, type LabInventory } from '../test/lab';
import { assertLabRoute, enrolLab } from '../test/integration/support';
import { auditOrThrow, bundledCli, formatMs, intOption, withCore } from './support';

const PACKAGES = ['acme-tool', 'acme-firmware'];
const PROFILE = 'security';

interface Options {
  hosts: number;
  rounds: number;
  seed: number;
  concurrency: number;
  takeOver: boolean;
}

function parseArgs(args: string[]): Options {
  return {
    hosts: intOption(args, 'hosts', 20),
    rounds: intOption(args, 'rounds', 20),
    seed: intOption(args, 'seed', 1),
    concurrency: intOption(args, 'concurrency', 5),
    takeOver: args.includes('--take-over'),
  };
}

/** mulberry32: a small seeded generator, so a run's kill moments can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A step that finished its install: acme-firmware asks for a reboot, so under `--reboot never` the
 * API reports "installed, reboot pending" (stored as succeeded with reboot_pending set).
 */
const installedStatus = (status: string): boolean => status === 'succeeded' || status === 'reboot-pending';

interface StepRow {
  id: number;
  host: string;
  status: string;
  phase: string | null;
  packages: { name: string; from: string | null; to: string }[];
  before: Record<string, string | null> | null;
  after: Record<string, string | null> | null;
}

function readSteps(db: BetterSqlite3.Database, jobId: number): StepRow[] {
  const rows = db
    .prepare(
      `SELECT s.id, h.name host, s.status, s.phase, s.packages, s.before_versions, s.after_versions
       FROM job_steps s JOIN hosts h ON h.id = s.host_id WHERE s.job_id = ? ORDER BY s.id`,
    )
    .all(jobId) as Record<string, string | number | null>[];
  const parse = <T>(v: unknown): T | null => (typeof v === 'string' && v ? (JSON.parse(v) as T) : null);
  return rows.map((r) => ({
    id: r.id as number,
    host: r.host as string,
    status: r.status as string,
    phase: (r.phase as string | null) ?? null,
    packages: parse<StepRow['packages']>(r.packages) ?? [],
    before: parse(r.before_versions),
    after: parse(r.after_versions),
  }));
}

function summarize(steps: StepRow[]): string {
  const counts = new Map<string, number>();
  for (const s of steps) {
    const key = s.status === 'running' ? (s.phase ?? 'running') : s.status;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const order = ['queued', 'precheck', 'pre-reboot', 'install', 'reboot', 'verify', 'succeeded'];
  return [...counts]
    .sort(([a], [b]) => ((order.indexOf(a) + 100) % 100) - ((order.indexOf(b) + 100) % 100))
    .map(([k, n]) => `${n} ${k === 'succeeded' ? 'done' : k}`)
    .join(', ');
}

/** dpkg's view of the target packages inside a host: version and whether fully installed. */
async function dpkgState(
  host: string,
): Promise<{ versions: Record<string, string | null>; clean: boolean; note: string }> {
  const q = await execOnHost(
    host,
    ['dpkg-query', '-W', '-f', '${Package}\\t${db:Status-Abbrev}\\t${Version}\\n', ...PACKAGES],
    [0, 1],
  );
  const audit = await execOnHost(host, ['dpkg', '--audit'], [0, 1]);
  const versions: Record<string, string | null> = Object.fromEntries(PACKAGES.map((p) => [p, null]));
  let clean = audit.stdout.trim() === '';
  const notes: string[] = [];
  for (const line of q.stdout.split('\n')) {
    const [name, status, version] = line.split('\t');
    if (!name || !PACKAGES.includes(name)) continue;
    versions[name] = version ?? null;
    if (status?.trim() !== 'ii') {
      clean = false;
      notes.push(`${name} is "${status?.trim()}"`);
    }
  }
  if (audit.stdout.trim()) notes.push(`dpkg --audit: ${audit.stdout.trim().split('\n')[0]}`);
  return { versions, clean, note: notes.join('; ') };
}

/** Waits until no apt-get/dpkg runs in any host (the detached installs outlive a killed controller). */
async function settle(lab: LabInventory, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const busy = await Promise.all(
      lab.hosts.map(async (h) => {
        const r = await execOnHost(h.name, ['sh', '-c', 'cat /proc/[0-9]*/comm 2>/dev/null'], [0, 1]);
        return /^(apt-get|apt|dpkg|dpkg-deb|http|file)$/m.test(r.stdout);
      }),
    );
    quiet = busy.some(Boolean) ? 0 : quiet + 1;
    if (quiet >= 2) return;
    await sleep(300);
  }
  throw new Error('package managers still running on the hosts after 180 s');
}

interface Outcome {
  round: number;
  tries: number;
  killAtMs: number | null;
  share: number | null;
  atKill: string;
  reopened: string;
  integrity: string;
  hostsMatch: string;
  resume: string;
  clean: boolean;
  problems: string[];
}

export async function main(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const current = labStatus();
  if (
    current.hosts.length > 0 &&
    !opts.takeOver &&
    (current.hosts.length !== opts.hosts || current.hosts.some((h) => h.profile !== PROFILE))
  ) {
    throw new Error(
      `a lab of ${current.hosts.length} hosts (${[...new Set(current.hosts.map((h) => h.profile))].join(', ')}) is up — maybe another engineer's; pass --take-over to replace it`,
    );
  }
  // Held for the whole loop: another run's lab up/down/reset waits instead of pulling hosts away.
  await holdLab(() => loop(opts));
}

async function loop(opts: Options): Promise<void> {
  const started = Date.now();
  let lab = await labUp({ hosts: opts.hosts, profile: PROFILE });
  assertLabRoute(lab);
  lab = labStatus();
  const want: Record<string, { from: string; to: string }> = {};
  for (const name of PACKAGES) {
    const p = lab.hosts[0]!.pending.find((x) => x.name === name);
    if (!p) throw new Error(`${name} is not pending on the ${PROFILE} profile`);
    want[name] = { from: p.installed, to: p.available };
  }
  const cli = bundledCli();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-crash-loop-'));
  const configDir = path.join(dir, 'config');
  const ws = path.join(dir, 'ws.sqlite');
  const env = { ...process.env, PATCHDECK_CONFIG_DIR: configDir, NO_COLOR: '1' };
  const patchdeck = (argv: string[]): ChildProcess =>
    spawn(process.execPath, [cli, '-w', ws, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = (argv: string[]): Promise<CliResult> => collect(patchdeck(argv));

  let enrolled = false;
  const freshAudited = async (): Promise<void> => {
    for (const h of lab.hosts) await resetHost(h.name);
    assertLabRoute(lab);
    await withCore(ws, configDir, async (core) => {
      if (!enrolled) await enrolLab(core, lab);
      enrolled = true;
      await auditOrThrow(core);
    });
  };
  const patchArgs = [
    '--json',
    'patch',
    '--packages',
    PACKAGES.join(','),
    '--reboot',
    'never',
    '--concurrency',
    String(opts.concurrency),
    '--yes',
  ];
  const lastJobId = (): number => {
    if (!fs.existsSync(ws)) return 0;
    const db = new BetterSqlite3(ws, { readonly: true });
    try {
      return (db.prepare('SELECT coalesce(max(id), 0) id FROM patch_jobs').get() as { id: number }).id;
    } finally {
      db.close();
    }
  };
  /** Polls the workspace (read-only, as a second process) until a job newer than `after` runs. */
  const waitRunning = async (after: number, child: ChildProcess): Promise<{ jobId: number; at: number }> => {
    const db = new BetterSqlite3(ws, { readonly: true });
    try {
      const q = db.prepare(`SELECT id, status FROM patch_jobs WHERE id > ? ORDER BY id DESC LIMIT 1`);
      for (;;) {
        const row = q.get(after) as { id: number; status: string } | undefined;
        if (row && row.status !== 'draft' && row.status !== 'approved')
          return { jobId: row.id, at: performance.now() };
        if (child.exitCode !== null) throw new Error('the patch command ended before its job ran');
        await sleep(5);
      }
    } finally {
      db.close();
    }
  };

  /** Polls until the job leaves `running`; returns that moment (performance.now()). */
  const waitEnded = async (jobId: number): Promise<number> => {
    const db = new BetterSqlite3(ws, { readonly: true });
    try {
      const q = db.prepare('SELECT status FROM patch_jobs WHERE id = ?');
      for (;;) {
        if ((q.get(jobId) as { status: string }).status !== 'running') return performance.now();
        await sleep(5);
      }
    } finally {
      db.close();
    }
  };

  // Calibration: one job, not killed, gives the run time the kill moments are spread over.
  console.log(
    `crash loop: ${opts.hosts} hosts, ${opts.rounds} rounds, seed ${opts.seed}, concurrency ${opts.concurrency}`,
  );
  await freshAudited();
  const calibration = patchdeck(patchArgs);
  const calibrationDone = collect(calibration);
  const calStart = await waitRunning(lastJobId(), calibration);
  const runMs = (await waitEnded(calStart.jobId)) - calStart.at;
  const cal = await calibrationDone;
  const calDetail = JSON.parse(cal.stdout || '{}') as { job?: { status: string } };
  if (cal.code !== 0 || calDetail.job?.status !== 'succeeded')
    throw new Error(
      `the calibration job did not succeed: ${cal.stderr.slice(0, 500)} ${cal.stdout.slice(0, 300)}`,
    );
  // A later job may run a little faster: the kills are spread over 90% of the calibration run.
  const windowMs = runMs * 0.9;
  console.log(
    `calibration job ${calStart.jobId}: run ${formatMs(runMs)}; kills are spread over its first ${formatMs(windowMs)}\n`,
  );

  const random = seeded(opts.seed);
  const outcomes: Outcome[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const problems: string[] = [];
    let delay = Math.round((windowMs * (round - 1 + random())) / opts.rounds);
    let jobId: number;
    let killAtMs: number | null;
    let tries = 0;
    // A kill that lands after the job ended tests nothing: that round is run again, earlier.
    for (;;) {
      tries++;
      await freshAudited();
      const before = lastJobId();
      const child = patchdeck(patchArgs);
      const exited = collect(child);
      const started = await waitRunning(before, child);
      jobId = started.jobId;
      killAtMs = null;
      await Promise.race([sleep(Math.max(0, delay - (performance.now() - started.at))), exited]);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        killAtMs = performance.now() - started.at;
      }
      const result = await exited;
      await settle(lab);
      const peek = new BetterSqlite3(ws, { readonly: true });
      const statusAtKill = (
        peek.prepare('SELECT status FROM patch_jobs WHERE id = ?').get(jobId) as { status: string }
      ).status;
      peek.close();
      if (statusAtKill === 'running' && killAtMs !== null) break;
      if (tries >= 4) {
        problems.push(
          `the job ended before every kill of 4 tries (last: ${statusAtKill}, exit ${result.code}: ${result.stderr.slice(0, 200)})`,
        );
        killAtMs = null;
        break;
      }
      delay = Math.round(delay * 0.7);
    }

    // a. the file as the kill left it
    const raw = new BetterSqlite3(ws);
    const integrity = String(raw.pragma('integrity_check', { simple: true }));
    const atKillSteps = readSteps(raw, jobId);
    raw.close();
    if (integrity !== 'ok') problems.push(`integrity_check: ${integrity}`);

    // b. the next open records the crash
    const shown = await run(['--json', 'jobs', 'show', String(jobId)]);
    // `jobs show` exits 1 for a job that did not finish (interrupted): that is this moment's answer.
    const shownStatus = (JSON.parse(shown.stdout || '{}') as { job?: { status: string } }).job?.status;
    if (shown.code !== 0 && !(shown.code === 1 && shownStatus === 'interrupted'))
      problems.push(`jobs show failed (exit ${shown.code}, ${shownStatus}): ${shown.stderr.slice(0, 200)}`);
    const db = new BetterSqlite3(ws, { readonly: true });
    const jobStatus = (
      db.prepare('SELECT status FROM patch_jobs WHERE id = ?').get(jobId) as { status: string }
    ).status;
    const steps = readSteps(db, jobId);
    const leftRunning = {
      jobs: (db.prepare(`SELECT count(*) n FROM patch_jobs WHERE status = 'running'`).get() as { n: number })
        .n,
      steps: (db.prepare(`SELECT count(*) n FROM job_steps WHERE status = 'running'`).get() as { n: number })
        .n,
      tasks: (
        db.prepare(`SELECT count(*) n FROM tasks WHERE status IN ('running','queued')`).get() as { n: number }
      ).n,
      audits: (db.prepare(`SELECT count(*) n FROM audits WHERE status = 'running'`).get() as { n: number }).n,
    };
    db.close();
    const expectedStatus = killAtMs === null ? 'succeeded' : 'interrupted';
    if (jobStatus !== expectedStatus)
      problems.push(`job is ${jobStatus} after reopening, expected ${expectedStatus}`);
    const running = Object.entries(leftRunning).filter(([, n]) => n > 0);
    if (running.length) problems.push(`left running: ${running.map(([k, n]) => `${n} ${k}`).join(', ')}`);

    // c. recorded state vs dpkg on each host
    let matched = 0;
    for (const step of steps) {
      const real = await dpkgState(step.host);
      const why: string[] = [];
      if (!real.clean) why.push(real.note);
      const at = (k: 'from' | 'to'): boolean => PACKAGES.every((p) => real.versions[p] === want[p]![k]);
      const eachOldOrNew = PACKAGES.every(
        (p) => real.versions[p] === want[p]!.from || real.versions[p] === want[p]!.to,
      );
      const phase = step.status === 'succeeded' ? 'done' : step.phase;
      if (
        step.status === 'queued' ||
        phase === 'planning' ||
        phase === 'precheck' ||
        phase === 'pre-reboot'
      ) {
        if (!at('from'))
          why.push(
            `recorded ${step.status}/${phase} (nothing installed) but dpkg has ${JSON.stringify(real.versions)}`,
          );
      } else if (phase === 'install') {
        if (!eachOldOrNew) why.push(`in install, dpkg has ${JSON.stringify(real.versions)}`);
        for (const p of PACKAGES)
          if (step.before && step.before[p] !== want[p]!.from)
            why.push(`recorded before ${p}=${step.before[p]} ≠ ${want[p]!.from}`);
      } else if (phase === 'verify' || phase === 'done') {
        if (!at('to')) why.push(`recorded ${phase} but dpkg has ${JSON.stringify(real.versions)}`);
        for (const p of PACKAGES)
          if (step.after && step.after[p] !== real.versions[p])
            why.push(`recorded after ${p}=${step.after[p]} ≠ dpkg ${real.versions[p]}`);
        if (phase === 'done' && step.status === 'succeeded' && !step.after)
          why.push('succeeded without recorded after-versions');
      } else {
        why.push(`unexpected step state ${step.status}/${phase}`);
      }
      if (why.length === 0) matched++;
      else problems.push(`${step.host}: ${why.join('; ')}`);
    }

    // d. resume finishes the job
    let resume = '—';
    if (jobStatus === 'interrupted') {
      const t0 = performance.now();
      const resumed = await run(['--json', 'jobs', 'resume', String(jobId)]);
      const detail = JSON.parse(resumed.stdout || '{}') as {
        job?: { status: string };
        steps?: { status: string; hostName: string; errorMessage: string | null }[];
      };
      resume = `${detail.job?.status ?? `exit ${resumed.code}`} in ${formatMs(performance.now() - t0)}`;
      if (resumed.code !== 0 || detail.job?.status !== 'succeeded')
        problems.push(
          `resume: exit ${resumed.code}, job ${detail.job?.status}: ${resumed.stderr.trim().slice(0, 200)} ${(
            detail.steps ?? []
          )
            .filter((s) => !installedStatus(s.status))
            .map((s) => `${s.hostName} ${s.status} ${s.errorMessage ?? ''}`)
            .join('; ')
            .slice(0, 300)}`,
        );
      else if ((detail.steps ?? []).some((s) => !installedStatus(s.status)))
        problems.push('resume: a step is not succeeded (or installed, reboot pending)');
    }
    let finalMatch = 0;
    for (const h of lab.hosts) {
      const real = await dpkgState(h.name);
      if (real.clean && PACKAGES.every((p) => real.versions[p] === want[p]!.to)) finalMatch++;
      else problems.push(`${h.name} after resume: ${JSON.stringify(real.versions)} ${real.note}`);
    }
    const again = new BetterSqlite3(ws);
    const integrityAfter = String(again.pragma('integrity_check', { simple: true }));
    // What the workspace records for each finished step, against dpkg once more.
    let withoutAfter = 0;
    for (const step of readSteps(again, jobId)) {
      if (step.status !== 'succeeded') continue;
      if (!step.after) {
        // Every host had updates to install: a finished step must say what its install changed.
        withoutAfter++;
        problems.push(`${step.host}: succeeded without recorded after-versions (no undo recipe)`);
        continue;
      }
      const real = await dpkgState(step.host);
      for (const p of PACKAGES)
        if (step.after[p] !== real.versions[p])
          problems.push(`${step.host}: recorded after ${p}=${step.after[p]} ≠ dpkg ${real.versions[p]}`);
    }
    again.close();
    if (integrityAfter !== 'ok') problems.push(`integrity_check after resume: ${integrityAfter}`);

    const outcome: Outcome = {
      round,
      tries,
      killAtMs,
      share: killAtMs === null ? null : killAtMs / runMs,
      atKill: summarize(atKillSteps),
      reopened: `${jobStatus}; ${running.length ? running.map(([k, n]) => `${n} ${k}`).join(', ') : '0'} running`,
      integrity: integrity === 'ok' && integrityAfter === 'ok' ? 'ok' : `${integrity} / ${integrityAfter}`,
      hostsMatch: `${matched}/${steps.length}, after resume ${finalMatch}/${lab.hosts.length}${withoutAfter ? ` (${withoutAfter} without after-versions)` : ''}`,
      resume,
      clean: problems.length === 0,
      problems,
    };
    outcomes.push(outcome);
    console.log(
      `round ${round}: ${outcome.clean ? 'clean' : 'NOT CLEAN'} (kill ${killAtMs === null ? 'after the job ended' : formatMs(killAtMs)}; ${outcome.atKill})${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`,
    );
  }

  const headers = [
    '#',
    'killed at',
    'steps at kill',
    'after reopen',
    'integrity',
    'hosts = dpkg',
    'resume',
    'clean',
  ];
  const rows = outcomes.map((o) => [
    String(o.round),
    o.killAtMs === null
      ? 'job had ended'
      : `${formatMs(o.killAtMs)} (${Math.round(o.share! * 100)}%)${o.tries > 1 ? `, try ${o.tries}` : ''}`,
    o.atKill,
    o.reopened,
    o.integrity,
    o.hostsMatch,
    o.resume,
    o.clean ? 'yes' : 'NO',
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(headers)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${rows.map(line).join('\n')}`);
  const clean = outcomes.filter((o) => o.clean).length;
  console.log(
    `\n${clean}/${outcomes.length} clean (${opts.hosts}-host job, ${PACKAGES.join(' + ')}, concurrency ${opts.concurrency}, seed ${opts.seed}; calibration run ${formatMs(runMs)}; total ${formatMs(Date.now() - started)})`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
  if (clean !== outcomes.length) process.exitCode = 1;
}

// Run directly (`npm run crash-loop`) as well as through bench/run.ts.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  await main(process.argv.slice(2));
}
