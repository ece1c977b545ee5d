import { describe, expect, it } from 'vitest';
import { intListOption, intOption, median, textOption } from './support';

describe('bench options', () => {
  it('reads --name=N, falls back when absent and refuses what is no positive integer', () => {
    expect(intOption(['--hosts=50', '--rounds=3'], 'rounds', 5)).toBe(3);
    expect(intOption(['--hosts=50'], 'rounds', 5)).toBe(5);
    // --host is not --hosts, and the value is all that follows the first '='.
    expect(intOption(['--host=7'], 'hosts', 20)).toBe(20);
    for (const bad of ['--rounds=0', '--rounds=-1', '--rounds=2.5', '--rounds=x', '--rounds='])
      expect(() => intOption([bad], 'rounds', 5)).toThrow('--rounds takes a positive integer');
  });

  it('reads lists and text', () => {
    expect(intListOption(['--hosts=20,50'], 'hosts', [1])).toEqual([20, 50]);
    expect(intListOption([], 'hosts', [20, 50])).toEqual([20, 50]);
    expect(() => intListOption(['--hosts=20,'], 'hosts', [1])).toThrow('--hosts takes a positive integer');
    expect(textOption(['--cli=/tmp/a=b/patchdeck.mjs'], 'cli')).toBe('/tmp/a=b/patchdeck.mjs');
    expect(textOption(['--compare'], 'compare')).toBeUndefined();
  });

  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
