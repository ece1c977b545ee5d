import os from 'node:os';

/**
 * How far below the window's process the core's process runs (a nice value; Windows maps it to
 * "below normal"). The core's work (SSH, parsing, SQLite) is background work the admin waits for
 * anyway; the window's is what they feel at once, so when both want a core, the window gets it.
 */
export const CORE_PROCESS_NICE = 5;

/**
 * Lowers the core's process to CORE_PROCESS_NICE, never above the caller's own priority (a
 * process started at nice 10 keeps its core at 10 or lower). Returns whether it could: a platform
 * that refuses costs only responsiveness, never correctness.
 */
export function lowerCorePriority(pid: number | undefined, nice = CORE_PROCESS_NICE): boolean {
  if (!pid) return false;
  try {
    os.setPriority(pid, Math.max(nice, os.getPriority()));
    return true;
  } catch {
    return false;
  }
}
