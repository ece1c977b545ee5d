// SPNEGO (RFC 4178) just far enough to find the NTLM token inside: some servers answer the
// HTTP "Negotiate" scheme with a NegTokenResp around the NTLM challenge instead of the bare
// NTLMSSP message Windows sends.
import { oidToString, readChildren, readElement } from './der';
import { NtlmError } from './errors';
import { SIGNATURE } from './messages';

export const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';

export interface SpnegoToken {
  /** 'init' for a NegTokenInit(2) inside the initial context token, 'resp' for a NegTokenResp. */
  kind: 'init' | 'resp';
  mechTypes: string[];
  /** mechToken (init) or responseToken (resp). */
  mechToken: Buffer | null;
  negState: number | null;
  supportedMech: string | null;
  mechListMic: Buffer | null;
}

function fieldsOf(sequence: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const child of readChildren(sequence)) {
    if ((child.tag & 0xe0) !== 0xa0) continue; // context-specific, constructed
    out.set(child.tag & 0x1f, child.content);
  }
  return out;
}

function octets(explicit: Buffer | undefined): Buffer | null {
  if (!explicit) return null;
  const inner = readElement(explicit);
  if (inner.tag !== 0x04)
    throw new NtlmError('malformed', 'The SPNEGO token has a token field that is not an OCTET STRING.');
  return inner.content;
}

export function parseSpnego(token: Buffer): SpnegoToken {
  const outer = readElement(token);
  if (outer.tag === 0x60) {
    const [oid, body] = readChildren(outer.content);
    if (!oid || oid.tag !== 0x06 || oidToString(oid.content) !== SPNEGO_OID || !body || body.tag !== 0xa0) {
      throw new NtlmError('malformed', 'The initial context token is not SPNEGO.');
    }
    const init = readElement(body.content);
    if (init.tag !== 0x30) throw new NtlmError('malformed', 'The SPNEGO NegTokenInit is not a SEQUENCE.');
    const fields = fieldsOf(init.content);
    const mechList = fields.get(0);
    const mechTypes = mechList
      ? readChildren(readElement(mechList).content)
          .filter((e) => e.tag === 0x06)
          .map((e) => oidToString(e.content))
      : [];
    return {
      kind: 'init',
      mechTypes,
      mechToken: octets(fields.get(2)),
      negState: null,
      supportedMech: null,
      mechListMic: null,
    };
  }
  if (outer.tag === 0xa1) {
    const resp = readElement(outer.content);
    if (resp.tag !== 0x30) throw new NtlmError('malformed', 'The SPNEGO NegTokenResp is not a SEQUENCE.');
    const fields = fieldsOf(resp.content);
    const state = fields.get(0);
    const mech = fields.get(1);
    let negState: number | null = null;
    if (state) {
      const e = readElement(state);
      if (e.tag !== 0x0a || e.content.length !== 1)
        throw new NtlmError('malformed', 'The SPNEGO negState is not a small ENUMERATED.');
      negState = e.content[0]!;
    }
    let supportedMech: string | null = null;
    if (mech) {
      const e = readElement(mech);
      if (e.tag !== 0x06) throw new NtlmError('malformed', 'The SPNEGO supportedMech is not an OID.');
      supportedMech = oidToString(e.content);
    }
    return {
      kind: 'resp',
      mechTypes: [],
      mechToken: octets(fields.get(2)),
      negState,
      supportedMech,
      mechListMic: octets(fields.get(3)),
    };
  }
  throw new NtlmError('malformed', 'The token is neither NTLMSSP nor SPNEGO.');
}

/** The NTLM message in an HTTP Negotiate/NTLM token: the bare message, or the one SPNEGO carries. */
export function ntlmTokenOf(token: Buffer): Buffer {
  if (token.length >= 8 && token.subarray(0, 8).equals(SIGNATURE)) return token;
  const spnego = parseSpnego(token);
  if (spnego.supportedMech && spnego.supportedMech !== NTLMSSP_OID) {
    throw new NtlmError('unsupported', `The server chose the mechanism ${spnego.supportedMech}, not NTLM.`);
  }
  const inner = spnego.mechToken;
  if (!inner || inner.length < 8 || !inner.subarray(0, 8).equals(SIGNATURE)) {
    throw new NtlmError('unsupported', 'The SPNEGO token does not carry an NTLM message.');
  }
  return inner;
}
