import { describe, expect, it } from 'vitest';
import { certificateFingerprint, certificatePem, ntlmIdentityFingerprint } from './http';
import { faultToError, httpStatusError } from './faults';
import {
  commandEnvelope,
  maxEnvelopeSizeOf,
  parseIdentify,
  parseReceive,
  sendChunkBytes,
  sendEnvelope,
  type EnvelopeContext,
} from './soap';
import { semanticsOf } from './testing';
import { parseXml } from './xml';

const ctx: EnvelopeContext = {
  to: 'http://win1:5985/wsman',
  maxEnvelopeSize: 153_600,
  operationTimeoutS: 20,
  sessionId: 'uuid:00000000-0000-4000-8000-000000000000',
};

describe('envelopes', () => {
  it('every envelope has a fresh MessageID, and values are escaped so a command line cannot add elements', () => {
    const a = commandEnvelope(ctx, 'S1', { command: 'echo </rsp:Command><evil/>', consoleModeStdin: true });
    const b = commandEnvelope(ctx, 'S1', { command: 'x', consoleModeStdin: true });
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.messageId).toMatch(/^uuid:[0-9A-F-]{36}$/);
    const sem = semanticsOf(a.xml);
    expect(sem.body.commandLine).toBe('echo </rsp:Command><evil/>');
    expect(sem.options).toEqual({ WINRS_CONSOLEMODE_STDIN: 'TRUE', WINRS_SKIP_CMD_SHELL: 'FALSE' });
    expect(sem.selectors).toEqual({ ShellId: 'S1' });
  });

  it('a Send chunk fits the envelope, End only when asked', () => {
    const size = sendChunkBytes(ctx.maxEnvelopeSize);
    const xml = sendEnvelope(ctx, 'S1', 'C1', Buffer.alloc(size, 0x41), true).xml;
    expect(Buffer.byteLength(xml)).toBeLessThan(ctx.maxEnvelopeSize);
    expect(xml).toContain('End="true"');
    expect(sendEnvelope(ctx, 'S1', 'C1', Buffer.from('x'), false).xml).not.toContain('End=');
  });
});

describe('replies', () => {
  const receive = (body: string): ReturnType<typeof parseXml> =>
    parseXml(
      `<s:Envelope xmlns:s="s" xmlns:rsp="r"><s:Body><rsp:ReceiveResponse>${body}</rsp:ReceiveResponse></s:Body></s:Envelope>`,
    );

  it('Receive: streams of another command are ignored; a large unsigned exit code is kept', () => {
    const chunk = parseReceive(
      receive(
        '<rsp:Stream Name="stdout" CommandId="A">aGk=</rsp:Stream><rsp:Stream Name="stdout" CommandId="B">bm8=</rsp:Stream>' +
          '<rsp:CommandState CommandId="A" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>3221225477</rsp:ExitCode></rsp:CommandState>',
      ),
      'a',
    );
    expect(chunk.stdout.map(String)).toEqual(['hi']);
    expect(chunk).toMatchObject({ done: true, exitCode: 3221225477 });
  });

  it('Receive: a running command, and a stream that is not base64', () => {
    expect(parseReceive(receive(''), 'A')).toEqual({ stdout: [], stderr: [], done: false, exitCode: null });
    expect(() => parseReceive(receive('<rsp:Stream Name="stdout">**</rsp:Stream>'), 'A')).toThrow(
      /not base64/,
    );
  });

  it('winrm/config: MaxEnvelopeSizekb in bytes; absent or absurd values are null', () => {
    const config = (v: string): ReturnType<typeof parseXml> =>
      parseXml(
        `<s:Envelope xmlns:s="s"><s:Body><cfg:Config xmlns:cfg="c"><cfg:MaxEnvelopeSizekb>${v}</cfg:MaxEnvelopeSizekb></cfg:Config></s:Body></s:Envelope>`,
      );
    expect(maxEnvelopeSizeOf(config('500'))).toBe(512_000);
    expect(maxEnvelopeSizeOf(config('1'))).toBeNull();
    expect(maxEnvelopeSizeOf(config('x'))).toBeNull();
  });

  it('Identify: vendor and versions, control characters removed; no IdentifyResponse gives null', () => {
    const root = parseXml(
      '<s:Envelope xmlns:s="s" xmlns:wsmid="w"><s:Header/><s:Body><wsmid:IdentifyResponse>' +
        '<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>' +
        '<wsmid:ProductVendor>Microsoft Corporation&#27;[31m</wsmid:ProductVendor>' +
        '<wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion></wsmid:IdentifyResponse></s:Body></s:Envelope>',
    );
    expect(parseIdentify(root)).toEqual({
      vendor: 'Microsoft Corporation [31m',
      productVersion: 'OS: 10.0.17763 SP: 0.0 Stack: 3.0',
      protocolVersion: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
    });
    expect(parseIdentify(parseXml('<s:Envelope xmlns:s="s"><s:Body/></s:Envelope>'))).toBeNull();
  });

  it('a fault reason from the PC is cleaned and cut short in the message', () => {
    const error = faultToError(
      { subcode: 'Other', wsmanCode: 2150858770, reason: 'x'.repeat(300) },
      'WIN1',
      'open a WinRM shell',
    );
    expect(error.kind).toBe('command-failed');
    expect(
      error.message.startsWith('WIN1 could not open a WinRM shell: WinRM reported a fault (0x80338012: xxx'),
    ).toBe(true);
  });
});

describe('HTTP statuses', () => {
  it('413 names MaxEnvelopeSize, 404 names winrm quickconfig, 401 is auth-failed', () => {
    expect(httpStatusError(413, 'WIN1', 5985).message).toBe(
      'WIN1 refused a WinRM message as larger than its MaxEnvelopeSize (HTTP 413).',
    );
    expect(httpStatusError(404, 'WIN1', 5985).message).toContain('`winrm quickconfig`');
    expect(httpStatusError(401, 'WIN1', 5985).kind).toBe('auth-failed');
    expect(httpStatusError(502, 'WIN1', 5985).message).toBe('WIN1 answered WinRM with HTTP 502.');
  });
});

describe('identities', () => {
  it('certificate fingerprint is SHA256 base64 without padding, like SSH; PEM wraps at 64', () => {
    const der = Buffer.from('not really a certificate');
    expect(certificateFingerprint(der)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const pem = certificatePem(Buffer.alloc(100, 1));
    expect(pem.split('\n')[1]).toHaveLength(64);
  });

  it('NTLM identity: DNS computer name else NetBIOS, then the NetBIOS domain, upper case', () => {
    expect(
      ntlmIdentityFingerprint({
        dnsComputer: 'win1.patchdeck.test',
        netbiosComputer: 'WIN1',
        netbiosDomain: 'patchdeck',
      }),
    ).toBe('ntlm:WIN1.PATCHDECK.TEST/PATCHDECK');
    expect(ntlmIdentityFingerprint({ dnsComputer: null, netbiosComputer: 'win1', netbiosDomain: null })).toBe(
      'ntlm:WIN1/',
    );
    expect(ntlmIdentityFingerprint(null)).toBe('ntlm:?/');
  });
});
