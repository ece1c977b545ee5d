import { spawn } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { CORE_PROCESS_NICE, lowerCorePriority } from './priority';

describe("the core's process priority", () => {
  it('runs a real child below this process, and says so when the process is gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      expect(os.getPriority(child.pid)).toBe(os.getPriority());
      expect(lowerCorePriority(child.pid)).toBe(true);
      expect(os.getPriority(child.pid)).toBe(Math.max(CORE_PROCESS_NICE, os.getPriority()));
    } finally {
      child.kill();
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(lowerCorePriority(child.pid)).toBe(false);
    expect(lowerCorePriority(undefined)).toBe(false);
  });
});
