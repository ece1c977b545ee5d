import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Per-user directories, following each OS's convention (XDG on Linux). */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.PATCHDECK_DATA_DIR) return env.PATCHDECK_DATA_DIR;
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Patchdeck');
  if (platform === 'win32')
    return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Patchdeck');
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'patchdeck');
}

export function userConfigDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.PATCHDECK_CONFIG_DIR) return env.PATCHDECK_CONFIG_DIR;
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Preferences', 'Patchdeck');
  if (platform === 'win32')
    return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Patchdeck');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'patchdeck');
}

/** The workspace used when none is named: `--workspace`, then PATCHDECK_WORKSPACE, then the data dir. */
export function defaultWorkspacePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PATCHDECK_WORKSPACE ?? path.join(userDataDir(env), 'workspace.sqlite');
}

/**
 * Creates `dir` and any missing parents as 0700 (owner only), whatever the umask. Folders that
 * already exist are left as they are: they may be the user's own (a home folder, a shared drive).
 */
export function ensurePrivateDir(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let d = target; !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  if (missing.length === 0) return;
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask; chmod is not. Only the folders made here are changed.
  if (process.platform !== 'win32') for (const d of missing) fs.chmodSync(d, 0o700);
}

/** Creates an empty file readable and writable by its owner only (0600), failing if it exists. */
export function createPrivateFile(file: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    if (process.platform !== 'win32') fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes group and other permissions from an existing file of ours (0644 → 0600); no-op when absent. */
export function tightenFileMode(file: string): void {
  if (process.platform === 'win32') return;
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) fs.chmodSync(file, st.mode & 0o700);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
