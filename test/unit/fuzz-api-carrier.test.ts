/**
 * The API and carrier fuzz targets (test/fuzz/targets/api.ts, carrier.ts) can only find bugs if
 * their oracles refuse wrong answers and their network guard holds: both checked here on
 * answers and traffic made up for the purpose. The targets themselves run in the fixed-seed
 * slice of test/unit/fuzz.test.ts.
 */
import '../fuzz/loopback-guard';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { calls, methodNames } from '../../src/api/contract';
import { parseTargets } from '../../src/discovery/targets';
import { takeRefusedAttempts } from '../fuzz/loopback-guard';
import { checkAnswer, EXECUTED, prepared, UncleanAnswer, VALIDATION_ONLY } from '../fuzz/targets/api';
import {
  checkHttpAnswer,
  checkServerFrames,
  encodeFrame,
  responseComplete,
  UncleanConnection,
} from '../fuzz/targets/carrier';

describe('the API oracle', () => {
  const hostsGet = { method: 'hosts.get', args: { id: 1 } };
  it('accepts clean errors and results in their schema', () => {
    expect(() =>
      checkAnswer(hostsGet, { ok: false, error: { code: 'not-found', message: 'Host 1 does not exist.' } }),
    ).not.toThrow();
    expect(() => checkAnswer({ method: 'tasks.list', args: {} }, { ok: true, value: [] })).not.toThrow();
    expect(() =>
      checkAnswer(
        { method: 'hosts.get', args: { id: -1 } },
        { ok: false, error: { code: 'bad-request', message: 'id: too small' } },
      ),
    ).not.toThrow();
  });
  it('refuses internal errors, wrong codes, malformed envelopes, off-schema values and echoed secrets', () => {
    const unclean = [
      [hostsGet, { ok: false, error: { code: 'internal', message: 'hosts.get failed unexpectedly.' } }],
      [hostsGet, { ok: false, error: { code: 'not-found', message: '' } }],
      [hostsGet, { ok: false, error: { code: 'Not Found', message: 'x' } }],
      [
        hostsGet,
        { ok: false, error: { code: 'not-found', message: 'boom\n    at handler (/src/x.ts:1:2)' } },
      ],
      [hostsGet, { ok: true, value: { id: 'one' } }],
      [hostsGet, null],
      [hostsGet, { value: 1 }],
      [
        { method: 'nope.nothing', args: {} },
        { ok: false, error: { code: 'bad-request', message: 'x' } },
      ],
      [
        { method: 'hosts.get', args: { id: 'x' } },
        { ok: false, error: { code: 'not-found', message: 'x' } },
      ],
      [
        { method: 'hosts.get', args: { id: 'x' } },
        { ok: true, value: {} },
      ],
      [
        {
          method: 'credentials.add',
          args: { name: 'a', username: 'b', kind: 'password', secret: 'Sup3r-secret' },
        },
        { ok: false, error: { code: 'bad-request', message: 'bad secret Sup3r-secret' } },
      ],
    ] as const;
    for (const [payload, answer] of unclean) {
      expect(() => checkAnswer(payload, answer), JSON.stringify(answer)).toThrow(UncleanAnswer);
    }
    expect(() =>
      checkAnswer(hostsGet, { ok: false, error: { code: 'not-found', message: 'x' } }, 'forbidden'),
    ).toThrow(UncleanAnswer); // A passphrase that is an English word of the router's own sentence is no echo (found by
    // `npm run fuzz`, seed 20261201, input #73034 of api:electron-ipc).
    expect(() =>
      checkAnswer(
        {
          method: 'credentials.add',
          args: {
            name: 'a',
            username: 'b',
            kind: 'agent',
            passphrase: 'arguments',
            scope: ['y'.repeat(300)],
          },
        },
        {
          ok: false,
          error: {
            code: 'bad-request',
            message:
              'Invalid arguments for credentials.add: scope.0: Too big: expected string to have <=253 characters',
          },
        },
      ),
    ).not.toThrow();
  });
  it('classifies every contract method, and runs none that reaches hosts or the file system', () => {
    const unclassified = methodNames.filter((m) => !EXECUTED.has(m) && !(m in VALIDATION_ONLY));
    expect(
      unclassified,
      'list each new method in EXECUTED or VALIDATION_ONLY (test/fuzz/targets/api.ts)',
    ).toEqual([]);
    for (const method of [
      'discovery.start',
      'audits.start',
      'hosts.trust',
      'credentials.test',
      'jobs.plan',
      'workspace.create',
    ]) {
      expect(EXECUTED.has(method), method).toBe(false);
    }
    const start = prepared({ method: 'discovery.start', args: { targets: '127.0.0.1' } });
    expect(start.mustRefuse).toBe(true);
    expect(calls['discovery.start'].args.safeParse(start.payload.args).success).toBe(false);
    expect(prepared({ method: 'hosts.list', args: {} })).toEqual({
      payload: { method: 'hosts.list', args: {} },
      mustRefuse: false,
    });
  });
});

describe('the loopback guard', () => {
  it('refuses name look-ups and connections beyond loopback before they leave, and records them', async () => {
    takeRefusedAttempts();
    const checked = await parseTargets('fuzz-guard-test.invalid', {});
    expect(checked.errors.length).toBeGreaterThan(0);
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      net.connect({ host: '198.18.0.1', port: 22 }).on('error', resolve);
    });
    expect(error.message).toMatch(/loopback guard/);
    expect(takeRefusedAttempts()).toEqual([
      'a DNS look-up of fuzz-guard-test.invalid',
      'a TCP connection to 198.18.0.1',
    ]);
    // Loopback still works.
    const server = net.createServer((s) => s.end('hi'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const text = await new Promise<string>((resolve) => {
      let t = '';
      net
        .connect({ host: '127.0.0.1', port })
        .on('data', (d) => (t += d))
        .on('close', () => resolve(t));
    });
    await new Promise((resolve) => server.close(resolve));
    expect(text).toBe('hi');
    expect(takeRefusedAttempts()).toEqual([]);
  });
});

describe('the carrier oracles', () => {
  const token = 'T0kenT0kenT0kenT0kenT0kenT0kenT0kenT0kenAAA';
  const answer = (text: string, closed = true) => ({ received: Buffer.from(text, 'latin1'), closed });
  it('refuses silence, answers that are no HTTP, and a token given to a request without it', () => {
    const plain = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(() => checkHttpAnswer(plain, answer('HTTP/1.1 400 Bad Request\r\n\r\n'), token)).not.toThrow();
    expect(() => checkHttpAnswer(plain, answer(''), token)).not.toThrow();
    expect(() => checkHttpAnswer(plain, answer('', false), token)).toThrow(UncleanConnection);
    expect(() => checkHttpAnswer(plain, answer('<html>'), token)).toThrow(UncleanConnection);
    const leak = answer(`HTTP/1.1 303 See Other\r\nLocation: /#token=${token}\r\n\r\n`);
    expect(() => checkHttpAnswer(plain, leak, token)).toThrow(UncleanConnection);
    expect(() =>
      checkHttpAnswer(Buffer.from(`GET /?token=${token} HTTP/1.1\r\n\r\n`), leak, token),
    ).not.toThrow();
  });
  it('reads server frames: JSON text of known types, unmasked, defined opcodes', () => {
    const frame = (opcode: number, text: string, masked = false) =>
      encodeFrame({
        fin: true,
        rsv: 0,
        opcode,
        masked,
        length: 'natural',
        lie: 0,
        payload: Buffer.from(text),
      });
    expect(() =>
      checkServerFrames(
        Buffer.concat([frame(1, '{"type":"result","id":1,"ok":true}'), frame(8, '\u0003\u00e8')]),
      ),
    ).not.toThrow();
    expect(() => checkServerFrames(frame(1, 'not json'))).toThrow(UncleanConnection);
    expect(() => checkServerFrames(frame(1, '{"type":"surprise"}'))).toThrow(UncleanConnection);
    expect(() =>
      checkServerFrames(frame(1, '{"type":"result","ok":false,"error":{"code":"internal"}}')),
    ).toThrow(UncleanConnection);
    expect(() => checkServerFrames(frame(1, '{"type":"event"}', true))).toThrow(UncleanConnection);
    expect(() => checkServerFrames(frame(3, ''))).toThrow(UncleanConnection);
  });
  it('knows when an HTTP answer is whole', () => {
    expect(responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))).toBe(true);
    expect(responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok'))).toBe(false);
    expect(
      responseComplete(
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
      ),
    ).toBe(true);
    expect(
      responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n')),
    ).toBe(false);
    expect(responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok'))).toBe(false);
  });
});
