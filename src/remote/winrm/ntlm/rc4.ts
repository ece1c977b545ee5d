// RC4 (the keystream RFC 6229 gives vectors for). NTLM sealing needs it and Node 20's OpenSSL 3
// has dropped it. One state per direction of an NTLM session: the keystream runs on across
// messages, so `update` must be called in the order the bytes go over the wire.

export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Buffer) {
    if (key.length < 1 || key.length > 256) throw new RangeError('RC4 key must be 1 to 256 bytes');
    const s = this.s;
    for (let n = 0; n < 256; n++) s[n] = n;
    let j = 0;
    for (let n = 0; n < 256; n++) {
      j = (j + s[n]! + key[n % key.length]!) & 0xff;
      const t = s[n]!;
      s[n] = s[j]!;
      s[j] = t;
    }
  }

  /** The bytes XORed with the next keystream bytes, in a new buffer. */
  update(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    this.transform(data, out);
    return out;
  }

  /** XOR `input` with the keystream into `output` (which may be `input`). */
  transform(input: Uint8Array, output: Uint8Array): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    const n = input.length;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      output[k] = input[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
  }
}
