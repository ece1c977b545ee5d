import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  AVAHI_NAME,
  AVAHI_REPLY,
  avahiReplyTo,
  startMdnsResponder,
} from '../../test/fixtures/mdns/responder';
import { decodeReverseAnswer, queryMdnsName, reverseName } from './mdns-unicast';

describe('reverseName', () => {
  it('writes IPv4 and IPv6 reverse names', () => {
    expect(reverseName('198.18.0.200')).toBe('200.0.18.198.in-addr.arpa');
    expect(reverseName('2001:db8::1')).toBe(
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
    expect(reverseName('nas.local')).toBeNull();
  });
});

describe('decodeReverseAnswer on avahi-daemon 0.8’s real reply (test/fixtures/mdns)', () => {
  it('reads the name for the address and id asked', () => {
    expect(decodeReverseAnswer(AVAHI_REPLY, '198.18.0.200', 0x4f34)).toEqual([AVAHI_NAME]);
  });

  it('ignores another id, another address, truncations and garbage', () => {
    expect(decodeReverseAnswer(AVAHI_REPLY, '198.18.0.200', 0x4f35)).toEqual([]);
    expect(decodeReverseAnswer(AVAHI_REPLY, '198.18.0.201', 0x4f34)).toEqual([]);
    for (let n = 0; n < AVAHI_REPLY.length; n++)
      expect(decodeReverseAnswer(AVAHI_REPLY.subarray(0, n), '198.18.0.200', 0x4f34)).toEqual([]);
    expect(decodeReverseAnswer(Buffer.alloc(20000), '198.18.0.200', 0)).toEqual([]);
  });

  it('keeps at most 8 names, sanitised', () => {
    const reply = dnsPacket.encode({
      type: 'response',
      id: 7,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      answers: Array.from({ length: 50 }, (_, i) => ({
        type: 'PTR' as const,
        name: '200.0.18.198.in-addr.arpa',
        data: i === 0 ? 'evil\u001b[2J.local' : `h${i}.local`,
      })),
    });
    const names = decodeReverseAnswer(reply, '198.18.0.200', 7);
    expect(names).toHaveLength(8);
    expect(names.join('')).not.toContain('\u001b');
  });
});

describe('queryMdnsName against a real UDP responder on loopback', () => {
  it('asks the host itself by unicast on UDP 5353, from an ephemeral port, and learns its name', async () => {
    const responder = await startMdnsResponder('127.0.0.151');
    try {
      expect(await queryMdnsName('127.0.0.151', { timeoutMs: 3000 })).toEqual([AVAHI_NAME]);
      expect(responder.queries).toHaveLength(1);
      const query = responder.queries[0]!;
      expect(query.fromPort).not.toBe(5353); // legacy unicast: the answer comes back to us alone
      expect(dnsPacket.decode(query.bytes).questions).toEqual([
        { name: '151.0.0.127.in-addr.arpa', type: 'PTR', class: 'IN' },
      ]);
    } finally {
      await responder.close();
    }
  });

  it('ignores a reply from another address, even one that answers first', async () => {
    const bystander = createSocket('udp4');
    await new Promise<void>((resolve) => bystander.bind(0, '127.0.0.156', resolve));
    const host = createSocket('udp4');
    await new Promise<void>((resolve) => host.bind(5353, '127.0.0.157', resolve));
    host.on('message', (q, remote) => {
      const id = q.readUInt16BE(0);
      const claim = dnsPacket.encode({
        type: 'response',
        id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        answers: [{ type: 'PTR', name: '157.0.0.127.in-addr.arpa', data: 'bystander.local' }],
      });
      bystander.send(claim, remote.port, remote.address, () =>
        host.send(avahiReplyTo(q), remote.port, remote.address),
      );
    });
    try {
      expect(await queryMdnsName('127.0.0.157', { timeoutMs: 3000 })).toEqual([AVAHI_NAME]);
    } finally {
      bystander.close();
      host.close();
    }
  });

  it('ignores a reply with another id and still takes the right one', async () => {
    const responder = await startMdnsResponder('127.0.0.152', (q) => {
      const wrong = avahiReplyTo(q);
      wrong.writeUInt16BE((q.readUInt16BE(0) + 1) & 0xffff, 0);
      return [wrong, Buffer.from('garbage'), avahiReplyTo(q)];
    });
    try {
      expect(await queryMdnsName('127.0.0.152', { timeoutMs: 3000 })).toEqual([AVAHI_NAME]);
    } finally {
      await responder.close();
    }
  });

  it('resolves [] when nobody answers, and on cancel', async () => {
    // Nothing listens on 127.0.0.153:5353.
    expect(await queryMdnsName('127.0.0.153', { timeoutMs: 200 })).toEqual([]);
    // A host without a responder refuses the datagram (ICMP port unreachable): that answer
    // ends the query, which does not wait out its timeout (here longer than the test's own).
    expect(await queryMdnsName('127.0.0.153', { timeoutMs: 600_000 })).toEqual([]);

    const responder = await startMdnsResponder('127.0.0.154', () => null);
    try {
      const controller = new AbortController();
      const pending = queryMdnsName('127.0.0.154', { timeoutMs: 60_000, signal: controller.signal });
      while (responder.queries.length === 0) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      expect(await pending).toEqual([]);
    } finally {
      await responder.close();
    }
  });
});
