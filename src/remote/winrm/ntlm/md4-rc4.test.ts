import { describe, expect, it } from 'vitest';
import { md4 } from './md4';
import { Rc4 } from './rc4';

// RFC 1320 appendix A.5, the whole test suite.
const MD4_SUITE: Array<[string, string]> = [
  ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
  ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
  ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
  ['message digest', 'd9130a8164549fe818874806e1c7014b'],
  ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
  [
    '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
    'e33b4ddc9c38f2199c3e7b164fcc0536',
  ],
];

describe('md4', () => {
  it.each(MD4_SUITE)('RFC 1320 A.5: MD4(%j)', (text, digest) => {
    expect(md4(Buffer.from(text, 'latin1')).toString('hex')).toBe(digest);
  });

  it('gives the NT hash of "Password" that MS-NLMP 4.2.1 lists', () => {
    expect(md4(Buffer.from('Password', 'utf16le')).toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });

  it('pads correctly at every length around the 55/56/64-byte block edges', () => {
    // Each length hashes to a distinct value and is stable (no stray bytes from the pad buffer).
    const seen = new Set<string>();
    for (let n = 50; n <= 130; n++) {
      const data = Buffer.alloc(n, 0x61);
      const first = md4(data).toString('hex');
      expect(md4(Buffer.from(data)).toString('hex')).toBe(first);
      seen.add(first);
    }
    expect(seen.size).toBe(81);
  });
});

// RFC 6229 section 2: keystream (RC4 of zeros) at the listed offsets.
const RC4_VECTORS: Array<[string, Record<number, string>]> = [
  [
    '0102030405',
    {
      0: 'b2396305f03dc027ccc3524a0a1118a8',
      16: '6982944f18fc82d589c403a47a0d0919',
      240: '28cb1132c96ce286421dcaadb8b69eae',
      256: '1cfcf62b03eddb641d77dfcf7f8d8c93',
      1520: '3294f744d8f9790507e70f62e5bbceea',
      4080: '068326a2118416d21f9d04b2cd1ca050',
      4096: 'ff25b58995996707e51fbdf08b34d875',
    },
  ],
  ['01020304050607', { 0: '293f02d47f37c9b633f2af5285feb46b', 4096: 'e74b0b9731227fd37c0ec08a47ddd8b8' }],
  ['0102030405060708', { 0: '97ab8a1bf0afb96132f2f67258da15a8', 256: 'd0a990ff2c05fef5b90373c9ff4b870a' }],
  [
    '0102030405060708090a',
    { 0: 'ede3b04643e586cc907dc21851709902', 240: '3cfd6cb58ee0fdde640176ad0000044d' },
  ],
  [
    '0102030405060708090a0b0c0d0e0f10',
    {
      0: '9ac7cc9a609d1ef7b2932899cde41b97',
      16: '5248c4959014126a6e8a84f11d1a9e1c',
      240: '065902e4b620f6cc36c8589f66432f2b',
      256: 'd39d566bc6bce3010768151549f3873f',
      4096: 'a36a4c301ae8ac13610ccbc12256cacc',
    },
  ],
  [
    'c109163908ebe51debb46227c6cc8b37641910833222772a',
    {
      0: '54b64e6b5a20b5e2ec84593dc7989da7',
      240: 'cfcc922fb4a14ab45d6175aabbf2d201',
      4096: 'e4dd2e98d6960fae0b43545456743391',
    },
  ],
];

describe('Rc4', () => {
  it.each(RC4_VECTORS)('RFC 6229 key %s', (key, offsets) => {
    const stream = new Rc4(Buffer.from(key, 'hex')).update(Buffer.alloc(4112));
    for (const [offset, hex] of Object.entries(offsets)) {
      const at = Number(offset);
      expect(`${offset}:${stream.subarray(at, at + 16).toString('hex')}`).toBe(`${offset}:${hex}`);
    }
  });

  it('runs the keystream on across calls, as NTLM sealing needs', () => {
    const key = Buffer.from('0102030405', 'hex');
    const whole = new Rc4(key).update(Buffer.alloc(300));
    const rc4 = new Rc4(key);
    const parts = Buffer.concat([
      rc4.update(Buffer.alloc(7)),
      rc4.update(Buffer.alloc(0)),
      rc4.update(Buffer.alloc(293)),
    ]);
    expect(parts.equals(whole)).toBe(true);
  });

  it('transforms in place and back', () => {
    const key = Buffer.from('secret-key');
    const data = Buffer.from('The quick brown fox');
    const copy = Buffer.from(data);
    new Rc4(key).transform(copy, copy);
    expect(copy.equals(data)).toBe(false);
    expect(new Rc4(key).update(copy).equals(data)).toBe(true);
  });

  it('refuses an empty key', () => {
    expect(() => new Rc4(Buffer.alloc(0))).toThrow(RangeError);
  });
});
