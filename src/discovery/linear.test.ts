/**
 * Discovery's parsers of what other machines send (banners, HTTP heads, NetBIOS answers, the
 * neighbour table, typed targets) run in time linear in their input.
 *
 * Nothing is timed: src/collectors/testing/regex-work.ts replaces RegExp.prototype.exec with a
 * step-counting backtracking matcher (ECMAScript semantics) while a parser runs, and the test
 * bounds the steps per input character at every size from 16 KiB to 1 MiB. A quadratic pattern
 * (like the `arp -a` tail `(\S+)(.*)$` before it was fixed) exceeds the bound at the first size.
 */
import { describe, expect, it } from 'vitest';
import { measureRegexWork } from '../collectors/testing/regex-work';
import { parseHttpHead, parseSshIdentification } from './protocols';
import { collectOsEvidence, sshEvidence } from './os';
import { normalizeMac, parseArpA, parseIpNeigh, parseProcNetArp } from './neighbours';
import { decodeNbstatResponse } from './netbios';
import { parsePingOutput } from './icmp';
import { parseTargets } from './targets';

const KIB = 1024;
const SIZES = [16 * KIB, 64 * KIB, 256 * KIB, 1024 * KIB];
const STEPS_PER_CHAR = 60;

function line(head: string, filler: string, tail: string, length: number): string {
  const room = Math.max(0, length - head.length - tail.length);
  return head + filler.repeat(Math.ceil(room / filler.length)).slice(0, room) + tail;
}

interface Case {
  name: string;
  build: (size: number) => string;
  parse: (text: string) => unknown;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

const CASES: Case[] = [
  {
    name: 'arp -a tail with a stray carriage return',
    build: (n) => line('h (198.18.0.1) at 00:11:22:33:44:55 on ', 'a', '\rx', n),
    parse: parseArpA,
  },
  {
    name: 'arp -a address in parentheses',
    build: (n) => line('h (', '(', ') at', n),
    parse: parseArpA,
  },
  { name: 'arp -a Windows rows', build: (n) => line('198.18.0.1 ', ' ', '00-11', n), parse: parseArpA },
  { name: 'ip neigh', build: (n) => line('198.18.0.1 dev ', 'lladdr ', 'x', n), parse: parseIpNeigh },
  { name: '/proc/net/arp', build: (n) => `h\n${line('1 ', '0x2 ', '', n - 2)}`, parse: parseProcNetArp },
  { name: 'MAC address', build: (n) => line('00:', '0:', '', n), parse: normalizeMac },
  {
    name: 'SSH banner',
    build: (n) => line('SSH-2.0-', 'a-', '\r\n', n),
    parse: (t) => parseSshIdentification(bytes(t)),
  },
  {
    name: 'SSH banner evidence',
    build: (n) => line('SSH-2.0-OpenSSH_9.2p1 Debian-2', '+deb1', '\r\n', n),
    parse: (t) => sshEvidence(t),
  },
  {
    name: 'HTTP head',
    build: (n) => line('HTTP/1.1 401 ', '\r\n', 'x', n),
    parse: (t) => parseHttpHead(bytes(t)),
  },
  {
    name: 'HTTP server evidence',
    build: (n) => line('', 'Ubuntu', 'x', n),
    parse: (t) =>
      collectOsEvidence({
        services: [
          { port: 80, kind: 'http', tls: false, status: 200, server: t, authenticate: null, winrm: false },
        ],
        macVendor: t,
        mdnsModel: t,
      }),
  },
  {
    name: 'NetBIOS answer',
    build: (n) => line('\x00\x01\x84\x00\x00\x00\x00\x01', '\x3f', '', n),
    parse: (t) => decodeNbstatResponse(bytes(t)),
  },
  { name: 'ping output', build: (n) => line('', 'time=1', ' ms', n), parse: parsePingOutput },
  {
    name: 'typed targets',
    build: (n) => line('', '198.18.0.', '1', Math.min(n, 90_000)),
    parse: (t) => parseTargets(t, { resolve: () => Promise.resolve([]) }),
  },
];

describe('discovery parsers are linear in their input (regex work counted, not timed)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const perChar: number[] = [];
      for (const size of SIZES) {
        const text = c.build(size);
        const counted = await measureRegexWork(() => c.parse(text), STEPS_PER_CHAR * text.length);
        expect(JSON.stringify(counted.result)).toBe(JSON.stringify(await c.parse(text)));
        expect(counted.steps).toBeLessThanOrEqual(STEPS_PER_CHAR * text.length);
        perChar.push(counted.steps / text.length);
      }
      for (let i = 1; i < perChar.length; i++)
        expect(perChar[i]!, perChar.join(', ')).toBeLessThanOrEqual(perChar[i - 1]! * 1.25 + 0.05);
    });
  }
});
