import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PatchdeckError } from '../util';
import { packageRoot, rendererBuildDir } from '../util';

/**
 * `patchdeck serve` from a source checkout builds the renderer itself when its build is missing
 * or older than the renderer's sources, so a fresh clone's `npx patchdeck serve` shows the app
 * rather than "The renderer is not built". An installed package ships the build and has no
 * `renderer/` sources, so there is nothing to do there.
 */
export type RendererBuildState = 'fresh' | 'missing' | 'stale' | 'no-sources';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (!/\.test\.tsx?$/.test(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

export function rendererBuildState(root = packageRoot(), outDir = rendererBuildDir()): RendererBuildState {
  const sources = path.join(root, 'renderer');
  if (!fs.existsSync(path.join(sources, 'index.html'))) return 'no-sources';
  let built: number;
  try {
    built = fs.statSync(path.join(outDir, 'index.html')).mtimeMs;
  } catch {
    return 'missing';
  }
  return built >= newestMtime(sources) ? 'fresh' : 'stale';
}

/** Where `patchdeck serve` keeps its own builds: one folder per build, never changed once made. */
export function rendererBuildsDir(root = packageRoot()): string {
  return path.join(root, 'out', 'renderer-builds');
}

/** The pointer to the current build: a small JSON file, replaced by rename only when a build is complete. */
interface CurrentBuild {
  build: string;
  /** The newest source mtime the build was made from (taken before it started). */
  sources: number;
}

function readCurrent(buildsDir: string): CurrentBuild | null {
  try {
    const text = fs.readFileSync(path.join(buildsDir, 'current.json'), 'utf8');
    if (text.length > 4096) return null;
    const value = JSON.parse(text) as Partial<CurrentBuild>;
    if (typeof value.build !== 'string' || !/^[a-z0-9-]{1,64}$/.test(value.build)) return null;
    if (typeof value.sources !== 'number') return null;
    if (!fs.existsSync(path.join(buildsDir, value.build, 'index.html'))) return null;
    return { build: value.build, sources: value.sources };
  } catch {
    return null;
  }
}

function writeCurrent(buildsDir: string, current: CurrentBuild): void {
  const temporary = path.join(buildsDir, `current.json.${process.pid}`);
  fs.writeFileSync(temporary, JSON.stringify(current));
  fs.renameSync(temporary, path.join(buildsDir, 'current.json'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One builder at a time per checkout: `.lock` made with O_EXCL, holding the builder's pid. A
 * second serve waits for it, then looks again (the build it waited for is usually what it
 * needs). A lock left by a process that is gone is taken over.
 */
async function withBuildLock<T>(
  buildsDir: string,
  log: (line: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  const lock = path.join(buildsDir, '.lock');
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: number;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(lock);
      holder = Number.parseInt(fs.readFileSync(lock, 'utf8').slice(0, 16), 10);
    } catch {
      continue; // released meanwhile
    }
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      // Only the lock that was read is removed, not one a third process made meanwhile.
      try {
        const now = fs.statSync(lock);
        if (now.ino === stat.ino && now.dev === stat.dev) fs.unlinkSync(lock);
      } catch {
        // gone already
      }
      continue;
    }
    if (!told) log('Waiting for another serve of this checkout to finish building the renderer…\n');
    told = true;
    await sleep(200);
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * Builds kept: the current one and every one a live serve is using (`in-use/<pid>` names it).
 * Everything else, including what a crashed build left, goes. Runs under the build lock.
 */
function pruneBuilds(buildsDir: string): void {
  const keep = new Set<string>();
  const current = readCurrent(buildsDir);
  if (current) keep.add(current.build);
  const inUse = path.join(buildsDir, 'in-use');
  for (const name of fs.existsSync(inUse) ? fs.readdirSync(inUse) : []) {
    const pid = Number.parseInt(name, 10);
    if (String(pid) === name && alive(pid)) {
      try {
        keep.add(fs.readFileSync(path.join(inUse, name), 'utf8').slice(0, 64).trim());
        continue;
      } catch {
        // released meanwhile
      }
    }
    fs.rmSync(path.join(inUse, name), { force: true });
  }
  for (const entry of fs.readdirSync(buildsDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'in-use' && !keep.has(entry.name))
      fs.rmSync(path.join(buildsDir, entry.name), { recursive: true, force: true });
  }
}

export interface RendererBuild {
  state: RendererBuildState;
  /** The folder to serve: the real path of one complete build, which no later build changes. */
  dir: string;
  /** Lets a later build prune this one (call when the server has stopped). */
  release: () => void;
}

async function runVite(root: string, outDir: string): Promise<void> {
  let viteBin: string;
  try {
    const vitePackage = createRequire(path.join(root, 'package.json')).resolve('vite/package.json');
    viteBin = path.join(path.dirname(vitePackage), 'bin', 'vite.js');
    if (!fs.existsSync(viteBin)) throw new Error('no vite binary');
  } catch {
    throw new PatchdeckError(
      'unavailable',
      'The renderer is not built and this checkout has no vite to build it: run `npm ci`, then `npm run build:renderer`.',
    );
  }
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        viteBin,
        'build',
        '--config',
        path.join(root, 'renderer', 'vite.config.ts'),
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Kept only for a failure's message, and bounded: a build prints little when it works.
    const keep = (chunk: Buffer): void => {
      if (output.reduce((n, b) => n + b.length, 0) < 64 * 1024) output.push(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0 || !fs.existsSync(path.join(outDir, 'index.html'))) {
    fs.rmSync(outDir, { recursive: true, force: true });
    const tail = Buffer.concat(output).toString('utf8').trim().split('\n').slice(-5).join('\n');
    throw new PatchdeckError(
      'unavailable',
      `Building the renderer failed (vite exited with ${code}); run \`npm run build:renderer\` to see why.${tail ? `\n${tail}` : ''}`,
    );
  }
}

/**
 * The renderer build for `patchdeck serve`, built when missing or older than the renderer's
 * sources; says what it does on `log` (stderr, so `--json` output stays clean).
 *
 * Several serves of one checkout may run at once, and one may find the build stale while another
 * is serving it. So a serve never builds over a folder in use: each build goes to its own folder
 * under out/renderer-builds/, `current.json` is switched to it by rename once it is complete,
 * and each serve keeps serving the folder it resolved at its start (marked in `in-use/<pid>`, so
 * no later build prunes it). Builds are made one at a time (a lock file); a fresh
 * `npm run build:renderer` output (out/renderer, which the app and the e2e tests use) is copied
 * rather than built again.
 */
export async function ensureRendererBuilt(
  options: { root?: string; log?: (line: string) => void } = {},
): Promise<RendererBuild> {
  const root = options.root ?? packageRoot();
  const log = options.log ?? (() => {});
  const shipped = path.join(root, 'out', 'renderer');
  if (!fs.existsSync(path.join(root, 'renderer', 'index.html')))
    return { state: 'no-sources', dir: shipped, release: () => {} };
  const buildsDir = rendererBuildsDir(root);
  fs.mkdirSync(path.join(buildsDir, 'in-use'), { recursive: true });
  return withBuildLock(buildsDir, log, async () => {
    const sources = newestMtime(path.join(root, 'renderer'));
    let current = readCurrent(buildsDir);
    const state: RendererBuildState = !current ? 'missing' : current.sources >= sources ? 'fresh' : 'stale';
    if (state !== 'fresh') {
      const build = `${Date.now().toString(36)}-${process.pid}-${randomBytes(3).toString('hex')}`;
      const outDir = path.join(buildsDir, build);
      if (rendererBuildState(root, shipped) === 'fresh') {
        // `npm run build:renderer` made an up-to-date build: a copy is as good and much quicker.
        fs.cpSync(shipped, outDir, { recursive: true });
        if (!fs.existsSync(path.join(outDir, 'index.html')))
          throw new PatchdeckError('unavailable', 'Copying the renderer build failed.');
      } else {
        log(
          state === 'missing'
            ? 'Building the renderer (first serve from this checkout)…\n'
            : 'Rebuilding the renderer (its sources changed since the last build)…\n',
        );
        await runVite(root, outDir);
        log('Renderer built.\n');
      }
      current = { build, sources };
      writeCurrent(buildsDir, current);
    }
    const dir = fs.realpathSync(path.join(buildsDir, current!.build));
    const marker = path.join(buildsDir, 'in-use', String(process.pid));
    fs.writeFileSync(marker, current!.build);
    pruneBuilds(buildsDir);
    let released = false;
    return {
      state,
      dir,
      release: () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(marker, 'utf8') === current!.build) fs.rmSync(marker, { force: true });
        } catch {
          // gone already
        }
      },
    };
  });
}
