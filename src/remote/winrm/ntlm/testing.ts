// A minimal NTLM acceptor for unit tests: it checks an Authenticate message the way a server
// does (NTProofStr, MIC) and holds the server side of the sealing. Not used by the product.
import { timingSafeEqual } from 'node:crypto';
import { Flags, MIC_OFFSET, encodeChallenge, parseAuthenticate, type AvPair } from './messages';
import { Rc4 } from './rc4';
import { SealingDirection, computeMic, hmacMd5, ntowfv2, sessionKeys } from './ntlmv2';

export interface TestAcceptor {
  challenge: Buffer;
  /** Checks the Authenticate message; throws when the proof or the MIC is wrong. */
  accept(negotiate: Buffer, authenticate: Buffer): { exportedSessionKey: Buffer; micChecked: boolean };
  /** Server → client wrap. */
  wrap(plain: Buffer): { signature: Buffer; sealed: Buffer };
  /** Client → server unwrap; returns null when the signature does not match. */
  unwrap(signature: Buffer, sealed: Buffer): Buffer | null;
}

export function testAcceptor(options: {
  password: string;
  flags?: number;
  serverChallenge?: Buffer;
  avPairs: AvPair[];
}): TestAcceptor {
  const flags = options.flags ?? 0xe28a8235;
  const serverChallenge = options.serverChallenge ?? Buffer.from('0123456789abcdef', 'hex');
  const challenge = encodeChallenge({
    flags,
    serverChallenge,
    targetName: 'PATCHDECK',
    avPairs: options.avPairs,
  });
  let toClient: SealingDirection | null = null;
  let fromClient: SealingDirection | null = null;
  return {
    challenge,
    accept(negotiate, authenticate) {
      const message = parseAuthenticate(authenticate);
      const key = ntowfv2(options.password, message.user, message.domain);
      const proof = message.ntChallengeResponse.subarray(0, 16);
      const temp = message.ntChallengeResponse.subarray(16);
      if (!timingSafeEqual(hmacMd5(key, serverChallenge, temp), proof)) throw new Error('wrong password');
      const base = hmacMd5(key, proof);
      const exported =
        message.flags & Flags.KEY_EXCH ? new Rc4(base).update(message.encryptedRandomSessionKey) : base;
      let micChecked = false;
      if (message.mic) {
        const zeroed = Buffer.from(authenticate);
        zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
        if (!computeMic(exported, negotiate, challenge, zeroed).equals(message.mic))
          throw new Error('bad MIC');
        micChecked = true;
      }
      const keys = sessionKeys(exported, message.flags);
      const kx = (message.flags & Flags.KEY_EXCH) !== 0;
      toClient = new SealingDirection(keys.serverSign, keys.serverSeal, kx);
      fromClient = new SealingDirection(keys.clientSign, keys.clientSeal, kx);
      return { exportedSessionKey: exported, micChecked };
    },
    wrap(plain) {
      if (!toClient) throw new Error('not accepted');
      return toClient.seal(plain);
    },
    unwrap(signature, sealed) {
      if (!fromClient) throw new Error('not accepted');
      const { plain, expected } = fromClient.unseal(sealed);
      return expected.equals(signature) ? plain : null;
    },
  };
}
