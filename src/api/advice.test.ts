import { describe, expect, it } from 'vitest';
import { adviceContextOf, cliAdvice, fingerprintIn } from './advice';

describe("the CLI's advice for an untrusted host", () => {
  const ssh =
    'web1 is not trusted yet, so no credential was sent. It presents the ssh-ed25519 key SHA256:' +
    'A'.repeat(43) +
    '.';
  const ntlm =
    "PC-RECEPTION's WinRM endpoint is not trusted yet, so the office credential was not sent. It presents the NTLM identity ntlm:WIN1.PATCHDECK.TEST/PATCHDECK (the names in its NTLM challenge).";
  const cert = `PC-RECEPTION's WinRM endpoint is not trusted yet, so the office credential was not sent. It presents the certificate SHA256:${'b'.repeat(43)}.`;

  it('names the SSH key to trust, as before', () => {
    expect(cliAdvice('host-key-unknown', adviceContextOf('web1', ssh))).toBe(
      `Compare the key with the machine's own, then trust it: patchdeck hosts trust web1 --fingerprint SHA256:${'A'.repeat(43)} (or patchdeck hosts review-keys).`,
    );
  });

  it("names a PC's NTLM identity or certificate with --winrm", () => {
    expect(fingerprintIn(ntlm)).toBe('ntlm:WIN1.PATCHDECK.TEST/PATCHDECK');
    expect(cliAdvice('host-key-unknown', adviceContextOf('PC-RECEPTION', ntlm))).toBe(
      "Compare it with the PC's own, then trust it: patchdeck hosts trust PC-RECEPTION --winrm --fingerprint ntlm:WIN1.PATCHDECK.TEST/PATCHDECK.",
    );
    expect(cliAdvice('host-key-unknown', adviceContextOf('PC-RECEPTION', cert))).toBe(
      `Compare it with the PC's own, then trust it: patchdeck hosts trust PC-RECEPTION --winrm --fingerprint SHA256:${'b'.repeat(43)}.`,
    );
    expect(cliAdvice('host-key-changed', adviceContextOf('PC-RECEPTION', cert))).toMatch(
      /patchdeck hosts trust PC-RECEPTION --winrm --replace;/,
    );
  });

  it('finds no fingerprint where none is named', () => {
    expect(fingerprintIn('ntlm: nothing here')).toBeNull();
    expect(fingerprintIn(null)).toBeNull();
  });
});
