import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { MODULES } from './mutate-modules.mjs';

// The unit suite's settings (see vitest.config.ts), restricted to the tests of the mutated
// modules. Stryker copies the repository into a sandbox, so the root is taken from this file.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: [...new Set(MODULES.flatMap((m) => m.tests))],
    environment: 'node',
    testTimeout: 20_000,
  },
});
