import type { VersionScheme } from '../types';
import { compareApk } from './apk';
import { compareDpkg } from './dpkg';
import { compareRpm } from './rpm';

export type { Cmp } from './bytes';
export { compareApk } from './apk';
export { compareDpkg } from './dpkg';
export { compareRpm } from './rpm';

/**
 * Compares two versions by the rules of the ecosystem's package manager: -1 when `a` is older,
 * 0 when the tool would call them equal, 1 when newer. Linear in the inputs' length, never throws.
 */
export function compareVersions(scheme: VersionScheme, a: string, b: string): -1 | 0 | 1 {
  switch (scheme) {
    case 'dpkg':
      return compareDpkg(a, b);
    case 'rpm':
      return compareRpm(a, b);
    case 'apk':
      return compareApk(a, b);
  }
}
