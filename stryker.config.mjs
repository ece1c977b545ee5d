// Mutation testing of the core modules (npm run mutate; not in CI, it takes minutes).
// StrykerJS changes one line at a time in the modules below and runs their unit tests: a
// mutant that no test notices is a line whose behaviour nothing checks.
import { MODULES } from './scripts/mutate-modules.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'scripts/mutate-vitest.config.mjs', related: true },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: MODULES.map((m) => m.file),
  coverageAnalysis: 'perTest',
  // Two cores at most: the machine is shared.
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: [
    'out',
    'release',
    'dist',
    'coverage',
    'reports',
    'test-results',
    '.lab',
    '*.sqlite',
    '*.sqlite-wal',
    '*.sqlite-shm',
  ],
  cleanTempDir: true,
};
