import ssh2 from 'ssh2';

/**
 * A fresh ed25519 key pair in OpenSSH format for tests' ssh2 servers and clients. ssh2's own
 * generator now and then writes a private key its parser then refuses ("Malformed OpenSSH
 * private key", seen in CI); such a pair is drawn again, so a test never fails on it.
 */
export function ed25519KeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error('ssh2 generated 20 unparseable ed25519 keys in a row');
}
