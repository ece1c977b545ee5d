// The NTLM layer of the WinRM client: MD4 and RC4 (absent from Node 20's OpenSSL), NTLMv2 with
// MIC, sign and seal, channel bindings, and MS-WSMV's encrypted HTTP body.
export { NtlmError, type NtlmErrorKind } from './errors';
export { md4 } from './md4';
export { Rc4 } from './rc4';
export { NtlmContext, type NtlmIdentity, type NtlmOptions, type NtlmServerIdentity } from './context';
export { ENCRYPTED_CONTENT_TYPE, encryptBody, decryptBody } from './encryption';
export { ntlmTokenOf, parseSpnego, NTLMSSP_OID, type SpnegoToken } from './spnego';
export { channelBindingsHash, certificateHashAlgorithm } from './channel-bindings';
export {
  parseChallenge,
  parseNegotiate,
  parseAuthenticate,
  Flags as NtlmFlags,
  type ChallengeMessage,
  type AuthenticateMessage,
  type NegotiateMessage,
} from './messages';
