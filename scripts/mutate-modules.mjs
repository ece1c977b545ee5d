/**
 * The modules `npm run mutate` mutates, each with the unit tests that must kill its mutants.
 * Only these test files run (a module's own tests have to catch a wrong line in it), through
 * the unit suite's settings; the lab and e2e suites never run under mutation.
 */
export const MODULES = [
  { file: 'src/remote/quote.ts', tests: ['src/remote/quote.test.ts'] },
  { file: 'src/collectors/dnf/parse.ts', tests: ['src/collectors/dnf/*.test.ts'] },
  { file: 'src/discovery/targets.ts', tests: ['src/discovery/targets.test.ts'] },
  { file: 'src/collectors/apt/parse.ts', tests: ['src/collectors/apt/*.test.ts'] },
  { file: 'src/collectors/zypper/parse.ts', tests: ['src/collectors/zypper/*.test.ts'] },
  { file: 'src/patch/commands.ts', tests: ['src/patch/commands.test.ts'] },
  { file: 'src/db/audits.ts', tests: ['src/db/audits.test.ts'] },
  { file: 'src/patch/plan.ts', tests: ['src/patch/plan.test.ts'] },
];

/** The score every module must reach. */
export const GOAL = 80;
