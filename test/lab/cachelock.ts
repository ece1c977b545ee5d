// Cache builds (images, archives, layers) can be asked for by two processes at once (a test run
// and `npm run lab`): a lock file with the builder's PID serialises them, and a build directory is
// never removed while something is mounted under it (mmdebstrap mounts /proc inside its root).
import { readFileSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { sleep } from './sh';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function withBuildLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(lockFile, 'utf8').trim() || '0');
      if (owner && owner !== process.pid && alive(owner)) {
        await sleep(500);
        continue;
      }
      await rm(lockFile, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}

/** rm -rf that refuses when anything is mounted below dir. */
export async function removeBuildDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const mounted = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((t) => t === abs || t.startsWith(`${abs}/`));
  if (mounted.length) throw new Error(`refusing to remove ${abs}: still mounted: ${mounted.join(' ')}`);
  await rm(abs, { recursive: true, force: true });
}
