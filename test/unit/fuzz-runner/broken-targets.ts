/** Targets that misbehave on purpose, one way each, to prove the fuzz runner notices. */
import fc from 'fast-check';
import type { FuzzTarget } from '../../fuzz/target';

class Documented extends Error {}

const base = {
  arbitrary: fc.integer({ min: 0, max: 9 }),
  classified: (e: unknown) => e instanceof Documented,
};

export const brokenTargets: FuzzTarget<number>[] = [
  { ...base, name: 'clean', run: (n) => (n % 2 === 0 ? n : Promise.reject(new Documented('fine'))) },
  {
    ...base,
    name: 'unclean',
    run: (n) => {
      if (n === 0) throw new TypeError('not classified');
      if (n === 1) throw new Documented('classified');
    },
  },
  {
    ...base,
    name: 'uncaught',
    run: (n) => {
      if (n === 3)
        setTimeout(() => {
          throw new Error('escaped from a timer');
        }, 0);
    },
  },
  {
    ...base,
    name: 'rejection',
    run: (n) => {
      if (n === 3) void Promise.reject(new Error('nobody awaits me'));
    },
  },
  { ...base, name: 'async-hang', timeoutMs: 50, run: (n) => (n === 3 ? new Promise(() => {}) : undefined) },
  {
    ...base,
    name: 'sync-hang',
    timeoutMs: 100,
    run: (n) => {
      if (n !== 3) return;
      for (;;) {
        // a parser stuck in a loop
      }
    },
  },
];
