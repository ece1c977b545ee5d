import { describe, expect, it } from 'vitest';
import { formatIpv6, netmaskToPrefix, parseIpv4, parseIpv6 } from './ip';
import { parseTargets, proposeLocalNetworks, type NameResolver } from './targets';

const noDns: NameResolver = async (name) => {
  throw Object.assign(new Error(`no DNS in unit tests: ${name}`), { code: 'ENOTFOUND' });
};
const parse = (text: string, options: Parameters<typeof parseTargets>[1] = {}) =>
  parseTargets(text, { resolve: noDns, ...options });

describe('ip helpers', () => {
  it('parses strict dotted quads only', () => {
    expect(parseIpv4('198.18.0.1')).toBe(0xc6120001);
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '0x1.2.3.4',
      '1..3.4',
      '',
      ' 1.2.3.4',
    ]) {
      expect(parseIpv4(bad), bad).toBeNull();
    }
  });
  it('parses and formats IPv6 canonically', () => {
    expect(formatIpv6(parseIpv6('2001:DB8:0:0:0:0:0:1')!)).toBe('2001:db8::1');
    expect(formatIpv6(parseIpv6('::ffff:198.18.0.1')!)).toBe('::ffff:c612:1');
    expect(formatIpv6(parseIpv6('::')!)).toBe('::');
    expect(formatIpv6(parseIpv6('1:0:0:2:0:0:0:3')!)).toBe('1:0:0:2::3');
    for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2']) {
      expect(parseIpv6(bad), bad).toBeNull();
    }
  });
  it('turns netmasks into prefixes', () => {
    expect(netmaskToPrefix('255.255.255.0')).toBe(24);
    expect(netmaskToPrefix('255.255.252.0')).toBe(22);
    expect(netmaskToPrefix('255.255.255.255')).toBe(32);
    expect(netmaskToPrefix('0.0.0.0')).toBe(0);
    expect(netmaskToPrefix('255.0.255.0')).toBeNull();
  });
});

describe('parseTargets', () => {
  it('expands a /24 without network and broadcast', async () => {
    const r = await parse('198.18.0.0/24');
    expect(r.errors).toEqual([]);
    expect(r.addresses).toHaveLength(254);
    expect(r.addresses[0]).toBe('198.18.0.1');
    expect(r.addresses.at(-1)).toBe('198.18.0.254');
    expect(r.needsConfirmation).toBe(false);
    expect(r.refused).toBe(false);
  });

  it('keeps both addresses of a /31 and the one of a /32, skips edges of a /30', async () => {
    expect((await parse('10.0.0.0/31')).addresses).toEqual(['10.0.0.0', '10.0.0.1']);
    expect((await parse('10.0.0.7/32')).addresses).toEqual(['10.0.0.7']);
    expect((await parse('10.0.0.0/30')).addresses).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('warns about host bits and sweeps the network they belong to', async () => {
    const r = await parse('127.0.0.5/29');
    expect(r.addresses).toEqual([
      '127.0.0.1',
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
      '127.0.0.5',
      '127.0.0.6',
    ]);
    expect(r.warnings.join(' ')).toMatch(/host bits set; sweeping 127\.0\.0\.0\/29/);
  });

  it('accepts short and full ranges, lists separated by commas, spaces and lines', async () => {
    const r = await parse('198.18.0.10-12, 198.18.0.250-198.18.1.1\n198.18.0.5 198.18.0.3;198.18.0.4');
    expect(r.errors).toEqual([]);
    expect(r.addresses).toEqual([
      '198.18.0.3',
      '198.18.0.4',
      '198.18.0.5',
      '198.18.0.10',
      '198.18.0.11',
      '198.18.0.12',
      '198.18.0.250',
      '198.18.0.251',
      '198.18.0.252',
      '198.18.0.253',
      '198.18.0.254',
      '198.18.0.255',
      '198.18.1.0',
      '198.18.1.1',
    ]);
  });

  it('dedupes overlapping targets and says so', async () => {
    const r = await parse('198.18.0.1 198.18.0.1 198.18.0.0/30 198.18.0.1-2');
    expect(r.addresses).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(r.warnings.join(' ')).toMatch(/4 duplicate addresses ignored/);
  });

  it('removes the exclude list, including whole excluded blocks', async () => {
    const r = await parse('198.18.0.0/28', { exclude: '198.18.0.1, 198.18.0.8/30 198.18.0.14' });
    expect(r.addresses).toEqual([
      '198.18.0.2',
      '198.18.0.3',
      '198.18.0.4',
      '198.18.0.5',
      '198.18.0.6',
      '198.18.0.7',
      '198.18.0.12',
      '198.18.0.13',
    ]);
    expect(r.warnings.join(' ')).toMatch(/6 addresses excluded/);
  });

  it('explains malformed input token by token and still parses the rest', async () => {
    const r = await parse(
      '198.18.0.1 198.18.0.40-10 198.18.0.1-300 1.2.3 256.0.0.1 198.18.0.0/33 198.18.0.0/x 10.0.0.01 ::1/64 fe80::1%eth0 a_b!c 1::2::3 -5',
    );
    expect(r.addresses).toEqual(['198.18.0.1']);
    const messages = r.errors.map((e) => `${e.token} → ${e.message}`);
    expect(messages).toHaveLength(12);
    expect(messages.join('\n')).toMatchInlineSnapshot(`
      "198.18.0.40-10 → "198.18.0.40-10": the range ends before it starts.
      198.18.0.1-300 → "198.18.0.1-300": the end of a short range is a last octet, 0–255.
      1.2.3 → "1.2.3" is not a valid IPv4 address (four decimal octets 0–255, no leading zeros).
      256.0.0.1 → "256.0.0.1" is not a valid IPv4 address (four decimal octets 0–255, no leading zeros).
      198.18.0.0/33 → "198.18.0.0/33": an IPv4 prefix length is 0–32.
      198.18.0.0/x → "198.18.0.0/x": the prefix length after "/" must be a number.
      10.0.0.01 → "10.0.0.01" is not a valid IPv4 address (four decimal octets 0–255, no leading zeros).
      ::1/64 → "::1/64": IPv6 prefixes shorter than /120 hold too many addresses to sweep; list addresses or use /120–/128.
      fe80::1%eth0 → "fe80::1%eth0": IPv6 zone ids (%eth0) are not supported.
      a_b!c → "a_b!c" is not an address, range (198.18.0.10-40), CIDR block (198.18.0.0/24) or host name.
      1::2::3 → "1::2::3" is not a valid IPv6 address.
      -5 → "-5" is not an address, range (198.18.0.10-40), CIDR block (198.18.0.0/24) or host name."
    `);
  });

  it('sanitises hostile tokens in messages and never echoes control characters', async () => {
    const r = await parse('198.18.0.1\u001b[31m \u202Eevil ' + 'x'.repeat(5000));
    expect(r.addresses).toEqual([]);
    for (const e of r.errors) {
      // eslint-disable-next-line no-control-regex
      expect(e.token + e.message).not.toMatch(/[\u0000-\u001f\u202e]/u);
      expect(e.token.length).toBeLessThanOrEqual(80);
    }
    expect(r.errors).toHaveLength(3);
  });

  it('rejects absurdly long input without trying to parse it', async () => {
    const r = await parse('1.2.3.4 '.repeat(20_000));
    expect(r.addresses).toEqual([]);
    expect(r.errors[0]!.message).toMatch(/longer than 100000 characters/);
  });

  it('asks for confirmation above a /22 and refuses above a /16 unless forced', async () => {
    const r22 = await parse('10.0.0.0/22');
    expect(r22.addresses).toHaveLength(1022);
    expect(r22.needsConfirmation).toBe(false);
    const r21 = await parse('10.0.0.0/21');
    expect(r21.needsConfirmation).toBe(true);
    expect(r21.refused).toBe(false);
    const r16 = await parse('10.0.0.0/16');
    expect(r16.refused).toBe(false);
    expect(r16.addresses).toHaveLength(65534);
    const r15 = await parse('10.0.0.0/15');
    expect(r15.refused).toBe(true);
    expect(r15.addresses).toEqual([]);
    expect(r15.total).toBe(131070);
    expect(r15.errors[0]!.message).toMatch(/more than a \/16/);
    const forced = await parse('10.0.0.0/15', { force: true });
    expect(forced.refused).toBe(false);
    expect(forced.addresses).toHaveLength(131070);
    const huge = await parse('0.0.0.0-255.255.255.255', { force: true });
    expect(huge.refused).toBe(true);
    expect(huge.errors[0]!.message).toMatch(/forced or not/);
  });

  it('offers force only where it can help, and writes every count one way (issue 10, bug 7)', async () => {
    // A /8 is beyond what even a forced sweep expands: the refusal is final, no force is offered.
    for (const force of [false, true]) {
      const slash8 = await parse('10.0.0.0/8', { force });
      expect(slash8).toMatchObject({ refused: true, forceApplies: false, total: 16_777_214 });
      expect(slash8.errors[0]!.message).toBe(
        'The targets hold 16,777,214 addresses; Patchdeck sweeps at most 1,048,576 (a /12), forced or not. Narrow them.',
      );
    }
    const slash15 = await parse('10.0.0.0/15');
    expect(slash15).toMatchObject({ refused: true, forceApplies: true });
    expect(slash15.errors[0]!.message).toBe(
      'The targets hold 131,070 addresses, more than a /16 (65,536). Narrow them, or force the sweep.',
    );
    expect(await parse('10.0.0.0/15', { force: true })).toMatchObject({ refused: false, forceApplies: true });
    expect(await parse('10.0.0.0/16', { force: true })).toMatchObject({
      refused: false,
      forceApplies: false,
    });
    expect(await parse('10.0.0.0/24')).toMatchObject({ refused: false, forceApplies: false });
  });

  it('counts overlapping big blocks exactly before refusing', async () => {
    const r = await parse('10.0.0.0/16 10.0.0.0/16');
    expect(r.refused).toBe(false);
    expect(r.addresses).toHaveLength(65534);
  });

  it('counts a refused range over intervals, not one address at a time (found by npm run fuzz)', async () => {
    // Enumerating 10.0.0.0/11 only to refuse it held the event loop for seconds and stopped
    // counting at a /12 plus one; the count now comes from merged intervals, exact.
    const r = await parse('10.0.0.0/11 10.16.0.0/12 10.8.0.1-10.8.0.9', {
      force: true,
      exclude: '10.4.0.0/16',
    });
    expect(r.refused).toBe(true);
    expect(r.total).toBe(2 ** 21 - 2 - 65536);
    expect(r.errors[0]!.message).toBe(
      'The targets hold 2,031,614 addresses; Patchdeck sweeps at most 1,048,576 (a /12), forced or not. Narrow them.',
    );
    const edges = await parse('10.0.0.0/15 10.0.0.0/32 10.1.255.255');
    expect(edges.total).toBe(131072);
  });

  it('expands small IPv6 prefixes, after all IPv4 addresses', async () => {
    const r = await parse('2001:db8::/126 198.18.0.1 2001:db8::2');
    expect(r.addresses).toEqual(['198.18.0.1', '2001:db8::', '2001:db8::1', '2001:db8::2', '2001:db8::3']);
  });

  it('resolves host names through the injected resolver, reporting the ones that fail', async () => {
    const resolve: NameResolver = async (name) => {
      if (name === 'web.lab') return ['198.18.0.20', '198.18.0.21', '2001:db8::20'];
      if (name === 'empty.lab') return [];
      if (name === 'slow.lab') return new Promise(() => {});
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const r = await parseTargets('web.lab WEB.lab. nope.lab empty.lab slow.lab 198.18.0.20', {
      resolve,
      resolveTimeoutMs: 50,
      exclude: '198.18.0.21',
    });
    expect(r.addresses).toEqual(['198.18.0.20', '2001:db8::20']);
    expect(r.names).toEqual([{ name: 'web.lab', addresses: ['198.18.0.20', '2001:db8::20'] }]);
    const messages = r.errors.map((e) => e.message).sort();
    expect(messages).toEqual([
      '"empty.lab" did not resolve to any address.',
      'Could not resolve "nope.lab" (ENOTFOUND).',
      'Could not resolve "slow.lab" (resolving slow.lab timed out after 50 ms).',
    ]);
  });

  it('says when there is nothing to sweep', async () => {
    expect((await parse('   \n ')).warnings).toEqual(['No targets given.']);
    expect((await parse('198.18.0.1', { exclude: '198.18.0.0/24' })).warnings).toContain(
      'Nothing left to sweep after exclusions.',
    );
  });
});

describe('parseTargets: what each token becomes', () => {
  const lab: NameResolver = async (name) => {
    const table: Record<string, string[]> = {
      'web-01': ['198.18.0.31'],
      'db-1.lab': ['198.18.0.32', 'not an address', '198.18.0.32'],
      'gone.lab': ['198.18.0.33'],
    };
    const hit = table[name];
    if (hit) return hit;
    throw new Error('no such name');
  };

  it('takes a host name with a dash and digits as a name, not as a bad range', async () => {
    const r = await parseTargets('web-01 db-1.lab 198.18.0.1-3', { resolve: lab });
    expect(r.errors).toEqual([]);
    expect(r.addresses).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.31', '198.18.0.32']);
    expect(r.names).toEqual([
      { name: 'web-01', addresses: ['198.18.0.31'] },
      { name: 'db-1.lab', addresses: ['198.18.0.32'] },
    ]);
  });

  it('reads a range only when the whole token is one: anything before or after makes it a name', async () => {
    const asked: string[] = [];
    const none: NameResolver = async (name) => {
      asked.push(name);
      throw new Error('no such name');
    };
    const tokens = ['10.0.0.1-5x', 'x10.0.0.1-5', '10.0.0.1-10.0.0.3x'];
    const r = await parseTargets(tokens.join(' '), { resolve: none });
    expect(r.addresses).toEqual([]);
    expect(asked.sort()).toEqual([...tokens].sort());
    expect(r.errors.map((e) => e.token).sort()).toEqual([...tokens].sort());
  });

  it('refuses a prefix with anything after its digits', async () => {
    for (const token of ['10.0.0.0/24x', '10.0.0.0/x24', '10.0.0.0/', '10.0.0.0/2444', '2001:db8::/126x']) {
      const r = await parse(token);
      expect(r.addresses, token).toEqual([]);
      expect(r.errors, token).toEqual([
        { token, message: `"${token}": the prefix length after "/" must be a number.` },
      ]);
    }
    expect((await parse('10.0.0.0/0')).refused).toBe(true);
    expect((await parse('10.1.2.3/32')).addresses).toEqual(['10.1.2.3']);
  });

  it('explains each kind of bad token in its own words', async () => {
    const r = await parse(
      [
        'web.lab/24',
        '2001:db8::/129',
        '2001:db8::1/127',
        '198.18.0.1-198.18.0.300',
        '198.18.0.1-07',
        '1.2.3.4-5.6',
        'x'.repeat(254),
      ].join(' '),
    );
    expect(r.errors.map((e) => e.message)).toEqual([
      '"web.lab/24" is not a valid CIDR block (expected e.g. 198.18.0.0/24).',
      '"2001:db8::/129": an IPv6 prefix length is 0–128.',
      '"198.18.0.1-198.18.0.300": the end of the range is not an IPv4 address or a last octet.',
      '"198.18.0.1-07": the end of a short range is a last octet, 0–255.',
      '"1.2.3.4-5.6": the end of the range is not an IPv4 address or a last octet.',
      expect.stringMatching(/is too long to be an address, range or host name\.$/),
    ]);
    expect(r.warnings).toContain('2001:db8::1/127 has host bits set; sweeping 2001:db8::/127.');
    expect(r.addresses).toEqual(['2001:db8::', '2001:db8::1']);
    const start = await parse('1.2.3-4');
    expect(start.errors.map((e) => e.message)).toEqual([
      '"1.2.3-4": the start of the range is not an IPv4 address.',
    ]);
    const ctl = await parse('198.18.0.1\u007f');
    expect(ctl.errors[0]!.message).toMatch(/contains control characters\.$/);
    // Hexadecimal with colons is an IPv6 attempt; anything else with letters is a name.
    expect((await parse('fe80::zz')).errors[0]!.message).toMatch(/is not an address, range/);
    expect((await parse('abc:def:1:2:3:4:5:6:7')).errors[0]!.message).toBe(
      '"abc:def:1:2:3:4:5:6:7" is not a valid IPv6 address.',
    );
    expect((await parse('0')).errors[0]!.message).toMatch(/is not a valid IPv4 address/);
    expect((await parse('198.18.0.5-5')).addresses).toEqual(['198.18.0.5']);
    expect((await parse('198.18.0.250-0')).errors[0]!.message).toBe(
      '"198.18.0.250-0": the range ends before it starts.',
    );
  });

  it('excludes the addresses of excluded names and says how many were dropped', async () => {
    const r = await parseTargets('198.18.0.31-33', {
      resolve: lab,
      exclude: 'gone.lab 198.18.0.32 nope.lab',
    });
    expect(r.addresses).toEqual(['198.18.0.31']);
    expect(r.warnings).toContain('2 addresses excluded.');
    expect(r.errors).toEqual([
      { token: 'nope.lab', message: 'Could not resolve "nope.lab" (no such name).' },
    ]);
    const one = await parse('198.18.0.1 198.18.0.1 198.18.0.2', { exclude: '198.18.0.2 bad!' });
    expect(one.warnings).toEqual(['1 duplicate address ignored.', '1 address excluded.']);
    expect(one.errors.map((e) => e.message)).toEqual([
      'exclude: "bad!" is not an address, range (198.18.0.10-40), CIDR block (198.18.0.0/24) or host name.',
    ]);
    const hostBits = await parse('198.18.0.1', { exclude: '198.18.0.1/31' });
    expect(hostBits.warnings).toContain('exclude: 198.18.0.1/31 has host bits set; sweeping 198.18.0.0/31.');
  });

  it('resolves at most 256 names, and says so', async () => {
    const asked: string[] = [];
    const count: NameResolver = async (name) => {
      asked.push(name);
      return [];
    };
    const names = Array.from({ length: 300 }, (_, i) => `h${i}.lab`);
    const r = await parseTargets(names.join(' '), { resolve: count });
    expect(asked).toHaveLength(256);
    expect(r.warnings).toContain('Only the first 256 host names are resolved; 44 were ignored.');
  });
});

describe('proposeLocalNetworks', () => {
  it('proposes non-internal IPv4 subnets from interface data, without touching the network', () => {
    const proposals = proposeLocalNetworks({
      lo: [
        {
          address: '127.0.0.1',
          netmask: '255.0.0.0',
          family: 'IPv4',
          mac: '00:00:00:00:00:00',
          internal: true,
          cidr: '127.0.0.1/8',
        },
      ],
      eth0: [
        {
          address: '198.18.0.7',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '02:00:00:00:00:01',
          internal: false,
          cidr: '198.18.0.7/24',
        },
        {
          address: '2001:db8::7',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6',
          mac: '02:00:00:00:00:01',
          internal: false,
          cidr: '2001:db8::7/64',
          scopeid: 0,
        },
      ],
      wlan0: [
        {
          address: '198.19.4.9',
          netmask: '255.255.0.0',
          family: 'IPv4',
          mac: '02:00:00:00:00:02',
          internal: false,
          cidr: '198.19.4.9/16',
        },
      ],
      zeroconf: [
        {
          address: '169.254.3.3',
          netmask: '255.255.0.0',
          family: 'IPv4',
          mac: '02:00:00:00:00:03',
          internal: false,
          cidr: '169.254.3.3/16',
        },
      ],
    });
    expect(proposals).toEqual([
      {
        cidr: '198.18.0.0/24',
        interfaceName: 'eth0',
        address: '198.18.0.7',
        prefix: 24,
        addressCount: 254,
        needsConfirmation: false,
      },
      {
        cidr: '198.19.0.0/16',
        interfaceName: 'wlan0',
        address: '198.19.4.9',
        prefix: 16,
        addressCount: 65534,
        needsConfirmation: true,
        narrower: '198.19.4.0/24',
      },
    ]);
  });
});
