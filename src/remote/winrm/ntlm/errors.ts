/** Why an NTLM step failed; the message never holds a secret or raw remote bytes. */
export type NtlmErrorKind = 'malformed' | 'bad-signature' | 'unsupported' | 'state';

export class NtlmError extends Error {
  readonly kind: NtlmErrorKind;

  constructor(kind: NtlmErrorKind, message: string) {
    super(message);
    this.name = 'NtlmError';
    this.kind = kind;
  }
}
