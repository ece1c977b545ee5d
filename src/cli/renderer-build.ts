import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PatchdeckError } from '../util/errors';
import { packageRoot, rendererBuildDir } from '../util/package-root';

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

/**
 * Builds the renderer into `outDir` when it is missing or stale; says what it does on `log`
 * (stderr, so `--json` output stays clean). The build goes to a folder beside `outDir` first, so a
 * page being served never reads a half-written build.
 */
export async function ensureRendererBuilt(
  options: { root?: string; outDir?: string; log?: (line: string) => void } = {},
): Promise<RendererBuildState> {
  const root = options.root ?? packageRoot();
  const outDir = options.outDir ?? path.join(root, 'out', 'renderer');
  const state = rendererBuildState(root, outDir);
  if (state === 'fresh' || state === 'no-sources') return state;
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
  options.log?.(
    state === 'missing'
      ? 'Building the renderer (first serve from this checkout)…\n'
      : 'Rebuilding the renderer (its sources changed since the last build)…\n',
  );
  const staging = `${outDir}.building-${process.pid}`;
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
        staging,
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
  if (code !== 0 || !fs.existsSync(path.join(staging, 'index.html'))) {
    fs.rmSync(staging, { recursive: true, force: true });
    const tail = Buffer.concat(output).toString('utf8').trim().split('\n').slice(-5).join('\n');
    if (tail) options.log?.(`${tail}\n`);
    throw new PatchdeckError(
      'unavailable',
      `Building the renderer failed (vite exited with ${code}); run \`npm run build:renderer\` to see why.`,
    );
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(staging, outDir);
  options.log?.('Renderer built.\n');
  return state;
}
