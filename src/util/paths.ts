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
