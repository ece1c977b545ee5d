/**
 * Reading a WinRM endpoint's identity with no login, for review: over HTTPS its TLS certificate,
 * over HTTP the names its NTLM challenge announces. It is a WinRM connection with no pin and an
 * empty account: the client refuses the unpinned endpoint before any credential would be sent
 * (HTTPS: when the TLS handshake ends; HTTP: after the challenge, before the Type 3), and that
 * refusal carries what the endpoint presented.
 */
import { X509Certificate } from 'node:crypto';
import { RemoteError, WinrmSession, type WinrmIdentity } from '../remote';
import { sanitizeText } from '../util';

export async function probeWinrmIdentity(
  address: string,
  target: { port: number; https: boolean },
  options: { label: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<WinrmIdentity> {
  let session: WinrmSession;
  try {
    session = await WinrmSession.connect(
      {
        host: address,
        port: target.port,
        https: target.https,
        label: options.label,
        // Never sent: with no pin, the endpoint is refused before the login.
        login: { method: 'ntlm', domain: '', username: '', password: '' },
        pinnedCertificates: [],
        pinnedNtlmIdentities: [],
        connectTimeoutMs: options.timeoutMs ?? 10_000,
        maxOutputBytes: 64 * 1024,
        maxEnvelopeSize: 153_600,
      },
      options.signal,
    );
  } catch (error) {
    const presented =
      error instanceof RemoteError ? (error.details.presented as WinrmIdentity | undefined) : undefined;
    if (presented) return presented;
    throw error;
  }
  await session.close();
  throw new RemoteError(
    'host-key-unknown',
    `${options.label} accepted a WinRM connection without presenting an identity to check; nothing was trusted.`,
  );
}

/** What a certificate says about itself (untrusted text, cleaned), for the admin's review. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  selfSigned: boolean;
}

/** The subject, issuer and validity of a PEM certificate; null when it is not one. */
export function describeCertificate(pem: string | null): CertificateFacts | null {
  if (!pem || pem.length > 64 * 1024) return null;
  try {
    const cert = new X509Certificate(pem);
    const clean = (text: string): string => sanitizeText(text.replace(/\n/g, ', '), { maxLength: 300 });
    return {
      subject: clean(cert.subject),
      issuer: clean(cert.issuer),
      validFrom: new Date(cert.validFrom).toISOString(),
      validTo: new Date(cert.validTo).toISOString(),
      selfSigned: cert.subject === cert.issuer && cert.checkIssued(cert),
    };
  } catch {
    return null;
  }
}
