import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { MODULES } from './mutate-modules.mjs';

// The unit suite's settings (see vitest.config.ts), restricted to the tests of the mutated
// module: scripts/mutate.mjs names them in PATCHDECK_MUTATE_TESTS for each module's run (all the
// modules' tests without it). Stryker copies the repository into a sandbox, so the root is taken
// from this file.
const tests = process.env.PATCHDECK_MUTATE_TESTS?.split(',').filter(Boolean);
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: tests?.length ? tests : [...new Set(MODULES.flatMap((m) => m.tests))],
    environment: 'node',
    testTimeout: 20_000,
  },
});
