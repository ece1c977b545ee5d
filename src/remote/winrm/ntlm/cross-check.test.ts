// NTLM against two other implementations, run as real processes: impacket's ntlm module
// (NTLMv2 response, key exchange, sign and seal keys, SEAL with sequence numbers) and
// python3-winrm's own MS-WSMV body framing (winrm/encryption.py). Debian's /usr/bin/python3
// has both (python3-impacket, python3-winrm; CI installs them). A missing module fails the test.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NtlmContext, decryptBody, encryptBody, ENCRYPTED_CONTENT_TYPE } from './index';
import { AvId, encodeChallenge, parseAuthenticate } from './messages';
import { SealingDirection, sessionKeys } from './ntlmv2';

const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, struct, sys
from Cryptodome.Cipher import ARC4
from impacket import ntlm
import requests
from winrm.encryption import Encryption

ntlm.TEST_CASE = True  # take the AV pairs as given and a zero time, like the caller's inputs
job = json.load(sys.stdin)
h = bytes.fromhex
flags = job['flags']
nt, lm, base = ntlm.computeResponseNTLMv2(flags, h(job['serverChallenge']), h(job['clientChallenge']),
    h(job['avPairs']), job['domain'], job['user'], job['password'])
kx = ntlm.KXKEY(flags, base, lm, h(job['serverChallenge']), job['password'], '', '', True)
exported = h(job['exportedSessionKey'])
out = {'nt': nt.hex(), 'lm': lm.hex(), 'sessionBaseKey': base.hex(),
       'encryptedSessionKey': ntlm.generateEncryptedSessionKey(kx, exported).hex()}

class Side:
    def __init__(self, mode):
        self.sign = ntlm.SIGNKEY(flags, exported, mode)
        self.handle = ARC4.new(ntlm.SEALKEY(flags, exported, mode)).encrypt
        self.seq = 0
    def seal(self, data):
        sealed, sig = ntlm.SEAL(flags, self.sign, None, data, data, self.seq, self.handle)
        self.seq += 1
        return sealed, sig.getData()
    def unseal(self, sealed, sig):
        plain = self.handle(sealed)
        want = ntlm.SIGN(flags, self.sign, plain, self.seq, self.handle).getData()
        self.seq += 1
        if want != sig:
            raise Exception('bad signature')
        return plain

client = Side('Client')
server = Side('Server')
out['clientSealed'] = []
for m in job['clientMessages']:
    sealed, sig = client.seal(h(m))
    out['clientSealed'].append({'sealed': sealed.hex(), 'signature': sig.hex()})

class SessionSecurity:
    def __init__(self, side):
        self.side = side
    def wrap(self, data):
        return self.side.seal(data)
    def unwrap(self, sealed, sig):
        return self.side.unseal(sealed, sig)

class Auth:
    def __init__(self, side):
        self.session_security = SessionSecurity(side)

class Session:
    def __init__(self, side):
        self.auth = Auth(side)

# python3-winrm frames a client request; the test decrypts it as the server.
enc = Encryption(Session(client), 'ntlm')
req = enc.prepare_encrypted_request(requests.Session(), 'http://127.0.0.1:5985/wsman', h(job['winrmRequest']))
out['winrmRequestBody'] = req.body.hex()
out['winrmContentType'] = req.headers['Content-Type']

# ... and unframes the server reply the test built with encryptBody.
class Response:
    def __init__(self, body):
        self.content = body
dec = Encryption(Session(server), 'ntlm')
out['winrmReplyPlain'] = dec._decrypt_response(Response(h(job['serverReplyBody'])), '127.0.0.1').hex()
json.dump(out, sys.stdout)
`;

function python(job: unknown): Record<string, unknown> {
  const stdout = execFileSync(PYTHON, ['-c', SCRIPT], {
    input: JSON.stringify(job),
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const fixed = (n: number): Buffer => Buffer.alloc(n, n === 8 ? 0xaa : 0x55);
const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

describe('NTLM matches impacket and python3-winrm byte for byte', () => {
  // A Windows-like challenge, then servers that refuse key exchange or 128-bit keys.
  it.each([
    ['all flags', 0xe28a8235],
    ['no key exchange', 0xe28a8235 & ~0x40000000],
    ['56-bit sealing', 0xe28a8235 & ~0x20000000],
    ['40-bit sealing', 0xe28a8235 & ~0x20000000 & ~0x80000000],
  ])('NTLMv2 response, session key, sealed messages and the MS-WSMV body (%s)', (_name, flags) => {
    const serverChallenge = Buffer.from('7d2a1b9c0e3f4a55', 'hex');
    const ctx = new NtlmContext(
      { domain: 'PATCHDECK', username: 'alice', password: 'Secret-123', workstation: 'PATCHDECK' },
      // FILETIME zero: impacket's test mode puts a zero time in the blob.
      { random: fixed, now: () => new Date(-11_644_473_600_000) },
    );
    const negotiate = ctx.negotiateMessage();
    expect(negotiate.length).toBe(40);
    const challenge = encodeChallenge({
      flags,
      serverChallenge,
      targetName: 'PATCHDECK',
      avPairs: [
        { id: AvId.NbDomainName, value: utf16('PATCHDECK') },
        { id: AvId.NbComputerName, value: utf16('WIN1') },
        { id: AvId.DnsComputerName, value: utf16('win1.patchdeck.test') },
      ],
    });
    const auth = parseAuthenticate(ctx.authenticateMessage(challenge));
    // The AV pairs our client put in its blob (server's plus MsvAvFlags, channel bindings).
    const avPairs = auth.ntChallengeResponse.subarray(44, auth.ntChallengeResponse.length - 4);

    const clientMessages = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('ünïcødé '.repeat(300))];
    const ours = clientMessages.map((m) => ctx.wrap(m));
    const winrmRequest = Buffer.from(
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
    );
    const ourRequestBody = encryptBody(ctx, winrmRequest);

    // Our server side (from the same exported key) frames a reply for python3-winrm to decrypt.
    const keys = sessionKeys(ctx.exportedSessionKey, auth.flags);
    const keyExchange = (auth.flags & 0x40000000) !== 0;
    const serverSide = new SealingDirection(keys.serverSign, keys.serverSeal, keyExchange);
    const serverReply = Buffer.from('<s:Envelope><s:Body>reply ✓</s:Body></s:Envelope>');
    const serverReplyBody = encryptBody({ wrap: (p) => serverSide.seal(p) }, serverReply);

    const py = python({
      flags: auth.flags,
      serverChallenge: serverChallenge.toString('hex'),
      clientChallenge: fixed(8).toString('hex'),
      avPairs: avPairs.toString('hex'),
      domain: 'PATCHDECK',
      user: 'alice',
      password: 'Secret-123',
      exportedSessionKey: ctx.exportedSessionKey.toString('hex'),
      clientMessages: clientMessages.map((m) => m.toString('hex')),
      winrmRequest: winrmRequest.toString('hex'),
      serverReplyBody: serverReplyBody.toString('hex'),
    });

    expect(py.nt).toBe(auth.ntChallengeResponse.toString('hex'));
    expect(py.lm).toBe(auth.lmChallengeResponse.toString('hex'));
    if (keyExchange) {
      expect(py.encryptedSessionKey).toBe(auth.encryptedRandomSessionKey.toString('hex'));
    } else {
      // Without key exchange the exported key is the session base key itself.
      expect(auth.encryptedRandomSessionKey.length).toBe(0);
      expect(ctx.exportedSessionKey.toString('hex')).toBe(py.sessionBaseKey);
    }
    expect(py.clientSealed).toEqual(
      ours.map((o) => ({ sealed: o.sealed.toString('hex'), signature: o.signature.toString('hex') })),
    );
    expect(py.winrmRequestBody).toBe(ourRequestBody.toString('hex'));
    expect(py.winrmContentType).toBe(ENCRYPTED_CONTENT_TYPE);
    expect(Buffer.from(py.winrmReplyPlain as string, 'hex').toString()).toBe(serverReply.toString());

    // And our parser reads python3-winrm's body (as the server would, with the client keys).
    const asServer = sessionKeys(ctx.exportedSessionKey, auth.flags);
    const fromClient = new SealingDirection(asServer.clientSign, asServer.clientSeal, keyExchange);
    for (const o of ours) fromClient.unseal(o.sealed); // catch up with the three messages above
    const body = Buffer.from(py.winrmRequestBody as string, 'hex');
    const plain = decryptBody(
      {
        unwrap: (signature, sealed) => {
          const { plain, expected } = fromClient.unseal(sealed);
          expect(expected.equals(signature)).toBe(true);
          return plain;
        },
      },
      body,
    );
    expect(plain.equals(winrmRequest)).toBe(true);
  });
});
