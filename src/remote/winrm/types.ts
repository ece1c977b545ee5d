/** The WinRM door's types (the contract between the WinRM parts, §2 and §6). */

export interface WinrmLogin {
  /** 'ntlm' (HTTP sealed or HTTPS), 'basic' (HTTPS only; local accounts). */
  method: 'ntlm' | 'basic';
  /** NetBIOS domain ('PATCHDECK'), '' or '.' for a local account; user@realm comes as domain '' and username 'user@realm'. */
  domain: string;
  username: string;
  password: string;
}

export interface WinrmConnectOptions {
  /** Address of the PC. */
  host: string;
  /** 5985 (HTTP) or 5986 (HTTPS). */
  port: number;
  https: boolean;
  /** Host name for messages. */
  label: string;
  login: WinrmLogin;
  /**
   * HTTPS: the reviewed certificate pins ('SHA256:<base64 no padding>'). No match →
   * host-key-unknown / host-key-changed with details.presented, before any credential is sent.
   */
  pinnedCertificates?: string[];
  /**
   * HTTP + NTLM: the reviewed NTLM identity pins ('ntlm:<DNSCOMPUTER or NETBIOS>/<NETBIOSDOMAIN>').
   * No match → host-key-unknown / host-key-changed and the Type 3 is never sent.
   */
  pinnedNtlmIdentities?: string[];
  connectTimeoutMs: number;
  /** WS-Man OperationTimeout of Receive, seconds (default 20); w:TimedOut → Receive again. */
  operationTimeoutS?: number;
  /** Most bytes one command may print, stdout and stderr together. */
  maxOutputBytes: number;
  /** When absent it is asked of the host (winrm/config); default 153600 (150 KiB). */
  maxEnvelopeSize?: number;
}

export interface WinrmRunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  stdin?: string;
}

export interface WinrmIdentity {
  type: 'x509-certificate' | 'ntlm-identity';
  fingerprint: string;
  publicKey: string | null;
}

export interface WinrmResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * A session the audit and patch flows hold, SSH or WinRM (structurally: `SshSession` fits with
 * its `identity`). `runPowerShell` is present on WinRM sessions.
 */
export interface RemoteSession {
  run(
    command: string,
    options?: { sudo?: boolean; timeoutMs?: number; signal?: AbortSignal; env?: Record<string, string> },
  ): Promise<WinrmResult>;
  runPowerShell?(
    script: string,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<WinrmResult>;
  readonly isOpen: boolean;
  readonly identity: { type: string; fingerprint: string; publicKey: string | null };
  close(): void | Promise<void>;
}
