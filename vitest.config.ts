import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests never write into the user's own data folder (the recent-workspaces list, a default
// workspace): every run gets a fresh one, inherited by the test workers and the CLIs they start.
process.env.PATCHDECK_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-test-data-'));

// Three suites: fast unit tests next to the code, Chromium end-to-end tests through the
// browser carrier, and lab tests that need root and start real SSH hosts in network namespaces.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'electron/**/*.test.ts',
            'test/unit/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts', 'test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
