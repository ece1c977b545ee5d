import { describe, expect, it } from 'vitest';
import { RemoteError } from '../errors';
import { decodeClixmlEscapes } from './clixml';
import { faultOf } from './faults';
import type { SoapReply, SoapTransport } from './http';
import { POWERSHELL_COMMAND, WinrmSession } from './session';
import {
  commandIdOf,
  createShellEnvelope,
  parseReceive,
  sendChunkBytes,
  shellIdOf,
  type EnvelopeContext,
} from './soap';
import { loadRecording, ReplayTransport, semanticsOf, type RecordedMessage } from './testing';
import type { WinrmConnectOptions, WinrmIdentity } from './types';
import { parseXml } from './xml';

const OPTIONS: WinrmConnectOptions = {
  host: '192.168.56.11',
  port: 5985,
  https: false,
  label: 'WIN1',
  login: { method: 'ntlm', domain: 'PATCHDECK', username: 'alice', password: 'not-used-here' },
  connectTimeoutMs: 5_000,
  maxOutputBytes: 1024 * 1024,
  maxEnvelopeSize: 153_600,
};

const FAULT_NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"';

/** A fault in the shape Windows sends (s:Code/Subcode, s:Reason, f:WSManFault with Code). */
function windowsFault(subcode: string, code: number, text: string): { status: number; body: string } {
  return {
    status: 500,
    body:
      `<s:Envelope xml:lang="en-US" ${FAULT_NS}><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>` +
      '<a:MessageID>uuid:5D7A6B4C-0000-4000-8000-000000000001</a:MessageID><a:RelatesTo>uuid:0</a:RelatesTo></s:Header>' +
      `<s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:${subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${text}</s:Text></s:Reason><s:Detail>` +
      `<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="${code}" Machine="win1">` +
      `<f:Message>${text}</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`,
  };
}

const TIMED_OUT = windowsFault(
  'TimedOut',
  2150858793,
  'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
);

function actions(transport: ReplayTransport): string[] {
  return transport.sent.map((xml) => semanticsOf(xml).action);
}

/** Our request asks what the recorded one asked (same action, resource, selectors, command line…). */
function expectSameSemantics(ours: string, recorded: string): void {
  const a = semanticsOf(ours);
  const b = semanticsOf(recorded);
  expect(a.action).toBe(b.action);
  expect(a.resourceUri).toBe(b.resourceUri);
  expect(a.selectors).toEqual(b.selectors);
  // Options the recording sent are sent too (we may add WINRS_CONSOLEMODE_STDIN, codepage, noprofile).
  for (const [name, value] of Object.entries(b.options)) expect(a.options[name], name).toBe(value);
  if (b.action === 'Signal') expect(['terminate', 'ctrl_c']).toContain(a.body.signal);
  else {
    const { ...recordedBody } = b.body;
    for (const key of Object.keys(recordedBody).filter((k) => k.startsWith('env:'))) delete recordedBody[key];
    expect(a.body).toEqual(recordedBody);
  }
}

async function replayRun(
  file: string,
  command: string,
  options: Partial<WinrmConnectOptions> = {},
): Promise<{
  result: { stdout: string; stderr: string; code: number | null };
  transport: ReplayTransport;
  recording: RecordedMessage[];
}> {
  const recording = loadRecording(file);
  const transport = ReplayTransport.ofRecording(recording);
  const session = WinrmSession.overTransport(transport, { ...OPTIONS, ...options });
  const result = await session.run(command);
  await session.close();
  return { result, transport, recording };
}

describe('WinrmSession on the recorded Windows exchanges', () => {
  it('standard: echo hi gives rc 0 and hi\\r\\n, with Create, Command, Receive, Signal, Delete in order', async () => {
    const { result, transport, recording } = await replayRun('test_winrs_standard.yml', 'cmd.exe /c echo hi');
    expect(result).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    expect(actions(transport)).toEqual(['Create', 'Command', 'Receive', 'Signal', 'Delete']);
    expect(transport.remaining).toBe(0);
    expect(transport.closed).toBe(true);
    transport.sent.forEach((xml, i) => expectSameSemantics(xml, recording[i]!.request));
  });

  it('stderr and exit code: out on stdout, err on stderr, rc 1', async () => {
    const { result, transport, recording } = await replayRun(
      'test_winrs_stderr_rc.yml',
      'cmd.exe /c echo out && echo err>&2 && exit 1',
    );
    expect(result).toEqual({ stdout: 'out \r\n', stderr: 'err \r\n', code: 1 });
    transport.sent.forEach((xml, i) => expectSameSemantics(xml, recording[i]!.request));
    // The command line's & and > travel XML-escaped.
    expect(transport.sent[1]).toContain('echo out &amp;&amp; echo err&gt;&amp;2');
  });

  it('unicode: the UTF-8 code page is asked for and Japanese text comes back intact', async () => {
    const { result, transport, recording } = await replayRun(
      'test_winrs_unicode.yml',
      'powershell.exe Write-Host こんにちは',
    );
    expect(result).toEqual({ stdout: 'こんにちは\n', stderr: '', code: 0 });
    expect(semanticsOf(transport.sent[0]!).options.WINRS_CODEPAGE).toBe('65001');
    transport.sent.forEach((xml, i) => expectSameSemantics(xml, recording[i]!.request));
  });

  it('noprofile: the shell is created without the user profile', async () => {
    const { result, transport, recording } = await replayRun('test_winrs_noprofile.yml', 'cmd.exe /c set');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('USERPROFILE=C:\\Users\\Default\r\n');
    expect(semanticsOf(transport.sent[0]!).options.WINRS_NOPROFILE).toBe('TRUE');
    transport.sent.forEach((xml, i) => expectSameSemantics(xml, recording[i]!.request));
  });

  it('environment: the variables come back, and a shell environment is escaped as Windows received it', async () => {
    const { result, transport, recording } = await replayRun('test_winrs_environment.yml', 'cmd.exe /c set');
    expect(result.stdout).toContain('env1=var1\r\n');
    expect(result.stdout).toContain(
      '_-(){}[]<>*+-/\\?"!@#$^&|;:i,.`~0=_-(){}[]<>*+-/\\?"!@#$^&|;:i,.`~0\r\n',
    );
    transport.sent.forEach((xml, i) => expectSameSemantics(xml, recording[i]!.request));
    const weird = '_-(){}[]<>*+-/\\?"!@#$^&|;:i,.`~0';
    const ctx: EnvelopeContext = {
      to: 'http://x/wsman',
      maxEnvelopeSize: 153600,
      operationTimeoutS: 20,
      sessionId: 'uuid:1',
    };
    const ours = semanticsOf(
      createShellEnvelope(ctx, { environment: { env1: 'var1', '1234': '5678', [weird]: weird } }).xml,
    );
    const recorded = semanticsOf(recording[0]!.request);
    expect(ours.body).toEqual(recorded.body);
  });

  it('execute_cmd: two sessions, dir and echo abc, each a full shell lifecycle', async () => {
    const recording = loadRecording('test_client_execute_cmd.yml');
    const transport = ReplayTransport.ofRecording(recording);
    const first = WinrmSession.overTransport(transport, OPTIONS);
    const dir = await first.run('dir');
    await first.close();
    expect(dir.code).toBe(0);
    expect(dir.stdout).toContain(' Directory of C:\\Users\\vagrant\r\n');
    expect(dir.stdout).toContain('13 Dir(s)  28,319,084,544 bytes free\r\n');
    const again = new ReplayTransport(recording.slice(5).map((m) => ({ status: 200, body: m.response })));
    const second = WinrmSession.overTransport(again, OPTIONS);
    expect(await second.run('echo abc')).toEqual({ stdout: 'abc\r\n', stderr: '', code: 0 });
    await second.close();
    [...transport.sent.slice(0, 5), ...again.sent].forEach((xml, i) =>
      expectSameSemantics(xml, recording[i]!.request),
    );
  });

  it('PowerShell recordings (PSRP shells): their Create and Receive replies parse, and the failure carries CLIXML that decodes', () => {
    for (const file of ['test_client_execute_ps.yml', 'test_client_execute_ps_failure.yml']) {
      const recording = loadRecording(file);
      expect(shellIdOf(parseXml(recording[0]!.response))).toMatch(
        /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
      );
      const commandResponse = recording.find((m) => m.request.includes('/shell/Command<'))!;
      const commandId = commandIdOf(parseXml(commandResponse.response))!;
      expect(commandId).toMatch(/^[0-9A-F-]{36}$/);
      const last = recording.findLast((m) => m.request.includes('/shell/Receive<'))!;
      const chunk = parseReceive(parseXml(last.response), commandId);
      expect(chunk.done).toBe(true);
      expect(chunk.exitCode).toBe(0);
      expect(chunk.stdout.length).toBeGreaterThan(0);
    }
    const failure = loadRecording('test_client_execute_ps_failure.yml');
    const last = failure.findLast((m) => m.request.includes('/shell/Receive<'))!;
    const chunk = parseReceive(parseXml(last.response), 'D3C3D95E-FA32-4D95-BEDF-3B7A81094D3B');
    // Each PSRP fragment: 21-byte fragment header, then a 40-byte message header, then CLIXML.
    const clixml = chunk.stdout.map((b) =>
      b
        .subarray(21 + 40)
        .toString('utf8')
        .replace(/^\ufeff/, ''),
    );
    const error = clixml.find((x) => x.includes('ErrorRecord'))!;
    const toString = /<ToString>([^<]*)<\/ToString>/.exec(
      error.slice(error.indexOf('CommandNotFoundException')),
    )![1]!;
    const text = decodeClixmlEscapes(toString);
    expect(text).toContain("The term 'Get-ServiceTypo' is not recognized as the name of a cmdlet");
    expect(text).toContain('\r\n   at System.Management.Automation');
    expect(text).not.toContain('_x000D_');
  });
});

describe('WinrmSession protocol behaviour', () => {
  const standard = (): RecordedMessage[] => loadRecording('test_winrs_standard.yml');

  it('refuses a reply whose RelatesTo names another request', async () => {
    const rec = standard();
    const transport = new ReplayTransport([{ status: 200, body: rec[0]!.response, keepRelatesTo: true }]);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    const error = await session.run('cmd.exe /c echo hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).kind).toBe('command-failed');
    expect((error as RemoteError).message).toMatch(
      /^WIN1 answered a WinRM request with the reply to another one/,
    );
  });

  it('issues Receive again after w:TimedOut (2150858793) and gets the output', async () => {
    const rec = standard();
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      TIMED_OUT,
      TIMED_OUT,
      rec[2]!.response,
      rec[3]!.response,
    ]);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    expect(await session.run('cmd.exe /c echo hi')).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    expect(actions(transport)).toEqual(['Create', 'Command', 'Receive', 'Receive', 'Receive', 'Signal']);
  });

  it('a bad command id (w:InvalidSelectors on Receive) fails clearly and the command is signalled', async () => {
    const rec = standard();
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      windowsFault(
        'InvalidSelectors',
        2150858843,
        'The request for the Windows Remote Shell with ShellId 4283CBDC failed because the shell was not found on the server.',
      ),
      rec[3]!.response,
    ]);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    const error = (await session.run('cmd.exe /c echo hi').catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('command-failed');
    expect(error.message).toContain(
      'WIN1 could not read the command output: the command is no longer known to the PC (its shell was closed)',
    );
    expect(error.message).toContain('0x8033805B');
    expect(actions(transport)).toEqual(['Create', 'Command', 'Receive', 'Signal']);
  });

  it('a shell the PC closed is opened again once when the next command starts', async () => {
    const rec = standard();
    const transport = new ReplayTransport([
      rec[0]!.response,
      windowsFault('InvalidSelectors', 2150858843, 'The shell was not found on the server.'),
      rec[0]!.response,
      rec[1]!.response,
      rec[2]!.response,
      rec[3]!.response,
    ]);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    expect((await session.run('cmd.exe /c echo hi')).stdout).toBe('hi\r\n');
    expect(actions(transport)).toEqual(['Create', 'Command', 'Create', 'Command', 'Receive', 'Signal']);
  });

  it('access denied on Create names UAC remote restrictions and the one reg add command', async () => {
    const transport = new ReplayTransport([windowsFault('AccessDenied', 5, 'Access is denied. ')]);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    const error = (await session.run('whoami').catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('auth-failed');
    expect(error.message).toContain('WIN1 accepted the Windows credentials but refused them a remote shell');
    expect(error.message).toContain('LocalAccountTokenFilterPolicy');
    expect(error.message).toContain(
      '`reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System /v LocalAccountTokenFilterPolicy /t REG_DWORD /d 1 /f`',
    );
    expect(error.message).not.toContain('not-used-here');
  });

  it('an invalid parameter fault keeps its Win32 code in the sentence', async () => {
    const rec = standard();
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      windowsFault('InvalidParameter', 87, 'The parameter is incorrect. '),
      rec[3]!.response,
    ]);
    const error = (await WinrmSession.overTransport(transport, OPTIONS)
      .run('x')
      .catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('command-failed');
    expect(error.message).toBe(
      'WIN1 refused to read the command output: the PC called a parameter of the request invalid (Win32 error 87: The parameter is incorrect.).',
    );
  });

  it('output beyond maxOutputBytes fails as output-too-large and terminates the command', async () => {
    const rec = standard();
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      rec[2]!.response,
      rec[3]!.response,
    ]);
    const session = WinrmSession.overTransport(transport, { ...OPTIONS, maxOutputBytes: 3 });
    const error = (await session.run('cmd.exe /c echo hi').catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('output-too-large');
    expect(error.details).toEqual({ limitBytes: 3 });
    expect(error.message).toMatch(/ The command was stopped on the PC\.$/);
    expect(semanticsOf(transport.sent[3]!).body.signal).toBe('terminate');
  });

  it('several Receives are joined, multi-byte characters split across them included', async () => {
    const rec = standard();
    const commandId = 'CF84C20A-0A35-43FA-AF78-0B4711DA5F30';
    const text = Buffer.from('héllo wörld ✓\r\n', 'utf8');
    const part = (bytes: Buffer, done: boolean): string =>
      rec[2]!.response.replace(
        /<rsp:ReceiveResponse>.*<\/rsp:ReceiveResponse>/,
        `<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="${commandId}">${bytes.toString('base64')}</rsp:Stream>` +
          (done
            ? `<rsp:CommandState CommandId="${commandId}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>`
            : `<rsp:CommandState CommandId="${commandId}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/>`) +
          '</rsp:ReceiveResponse>',
      );
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      part(text.subarray(0, 2), false),
      part(text.subarray(2, 15), false),
      part(text.subarray(15), true),
      rec[3]!.response,
    ]);
    const result = await WinrmSession.overTransport(transport, OPTIONS).run('x');
    expect(result.stdout).toBe('héllo wörld ✓\r\n');
  });
});

/** A transport whose Receive never answers until the request is aborted. */
class StallingTransport implements SoapTransport {
  readonly sent: string[] = [];
  readonly identity: WinrmIdentity = {
    type: 'ntlm-identity',
    fingerprint: 'ntlm:WIN1/PATCHDECK',
    publicKey: null,
  };
  private readonly replay: ReplayTransport;
  constructor(replies: string[]) {
    this.replay = new ReplayTransport(replies);
  }
  exchange(xml: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<SoapReply> {
    this.sent.push(xml);
    if (xml.includes('/shell/Receive<'))
      return new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => reject(new RemoteError('cancelled', 'Cancelled.')));
      });
    return this.replay.exchange(xml, options);
  }
  close(): void {}
}

describe('WinrmSession time limits and cancel', () => {
  const rec = loadRecording('test_winrs_standard.yml');
  const replies = [rec[0]!.response, rec[1]!.response, rec[3]!.response, rec[3]!.response];

  it('a per-command timeout sends Signal terminate and fails as timeout', async () => {
    const transport = new StallingTransport(replies);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    const error = (await session
      .run('ping -t 127.0.0.1', { timeoutMs: 50 })
      .catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(
      'WIN1: the command did not finish within 50 ms; Patchdeck stopped it on the PC.',
    );
    expect(transport.sent.map((x) => semanticsOf(x).action)).toEqual([
      'Create',
      'Command',
      'Receive',
      'Signal',
    ]);
    expect(semanticsOf(transport.sent[3]!).body.signal).toBe('terminate');
  });

  it('a timeout whose Signal cannot be delivered says the command may still run on the PC', async () => {
    const transport = new StallingTransport([rec[0]!.response, rec[1]!.response]);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    const error = (await session
      .run('ping -t 127.0.0.1', { timeoutMs: 50 })
      .catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(
      "WIN1: the command did not finish within 50 ms; Patchdeck's request to stop it on the PC failed, so it may still be running there.",
    );
  });

  it('cancel sends Signal terminate and fails as cancelled; the session stays usable', async () => {
    const transport = new StallingTransport(replies);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    const controller = new AbortController();
    const running = session.run('ping -t 127.0.0.1', { signal: controller.signal });
    setImmediate(() => controller.abort());
    const error = (await running.catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('cancelled');
    expect(semanticsOf(transport.sent.at(-1)!).body.signal).toBe('terminate');
    expect(session.isOpen).toBe(true);
  });
});

describe('runPowerShell', () => {
  const rec = loadRecording('test_winrs_standard.yml');
  const send = rec[3]!.response
    .replace('/shell/SignalResponse', '/shell/SendResponse')
    .replace('<rsp:SignalResponse/>', '<rsp:SendResponse/>');

  it('streams a long script through stdin in chunks under MaxEnvelopeSize, End only on the last', async () => {
    const script = `${'Write-Output "line"\n'.repeat(2000)}Write-Output 'ünïcødé'`;
    const stdinBytes = Buffer.from(script, 'utf8').toString('base64').length + 2;
    const chunks = Math.ceil(stdinBytes / sendChunkBytes(16 * 1024));
    expect(chunks).toBeGreaterThan(2);
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      ...Array.from({ length: chunks }, () => send),
      rec[2]!.response,
      rec[3]!.response,
    ]);
    const session = WinrmSession.overTransport(transport, { ...OPTIONS, maxEnvelopeSize: 16 * 1024 });
    const result = await session.runPowerShell(script);
    expect(result).toEqual({ stdout: 'hi\r\n', stderr: '', code: 0 });
    const sent = transport.sent.map(semanticsOf);
    const command = sent[1]!;
    expect(command.body.commandLine).toBe(POWERSHELL_COMMAND);
    expect(command.body.commandLine!.length).toBeLessThan(8000);
    expect(command.options.WINRS_CONSOLEMODE_STDIN).toBe('FALSE');
    const sends = transport.sent.filter((x) => x.includes('/shell/Send<'));
    expect(sends.length).toBe(chunks);
    for (const xml of sends) expect(xml.length).toBeLessThan(16 * 1024);
    expect(sends.map((x) => x.includes('End="true"'))).toEqual([...sends.map(() => false).slice(1), true]);
    const stdin = sends.map((x) => semanticsOf(x).body.stdin).join('');
    expect(Buffer.from(stdin.trim(), 'base64').toString('utf8')).toBe(script);
  });

  it('the bootstrap reads stdin to its end and runs it as one script block', () => {
    const encoded = POWERSHELL_COMMAND.split(' ').at(-1)!;
    const bootstrap = Buffer.from(encoded, 'base64').toString('utf16le');
    expect(POWERSHELL_COMMAND).toMatch(
      /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand /,
    );
    expect(bootstrap).toContain('[Console]::In.ReadToEnd()');
    expect(bootstrap).toContain('[Convert]::FromBase64String(');
    expect(bootstrap).toContain('& ([scriptblock]::Create($patchdeckScript))');
    expect(bootstrap).toContain('[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false');
  });

  it('decodes CLIXML on stderr into readable text', async () => {
    const commandId = 'CF84C20A-0A35-43FA-AF78-0B4711DA5F30';
    const clixml =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Get-ServiceTypo : The term \'Get-ServiceTypo\' is not recognized_x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>';
    const receive = rec[2]!.response.replace(
      /<rsp:ReceiveResponse>.*<\/rsp:ReceiveResponse>/,
      `<rsp:ReceiveResponse><rsp:Stream Name="stderr" CommandId="${commandId}">${Buffer.from(clixml).toString('base64')}</rsp:Stream>` +
        `<rsp:CommandState CommandId="${commandId}" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>1</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>`,
    );
    const transport = new ReplayTransport([
      rec[0]!.response,
      rec[1]!.response,
      send,
      receive,
      rec[3]!.response,
    ]);
    const result = await WinrmSession.overTransport(transport, OPTIONS).runPowerShell('Get-ServiceTypo');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "Get-ServiceTypo : The term 'Get-ServiceTypo' is not recognized\r\nAt line:1 char:1",
    );
  });
});

describe('run options', () => {
  it('sets env for the one command, and refuses values cmd.exe would interpret', async () => {
    const rec = loadRecording('test_winrs_standard.yml');
    const transport = ReplayTransport.ofRecording(rec);
    const session = WinrmSession.overTransport(transport, OPTIONS);
    await session.run('echo %LANG%', { env: { LANG: 'C', B: 'x y' } });
    expect(semanticsOf(transport.sent[1]!).body.commandLine).toBe('set "LANG=C"&& set "B=x y"&& echo %LANG%');
    await expect(session.run('echo', { env: { A: '50%' } })).rejects.toThrow(
      /cannot be passed to cmd.exe safely/,
    );
    await expect(session.run('echo', { env: { 'A B': 'x' } })).rejects.toThrow(/cannot be passed/);
  });

  it('faults are read from Windows-shaped replies', () => {
    const fault = faultOf(parseXml(TIMED_OUT.body));
    expect(fault).toEqual({
      subcode: 'TimedOut',
      wsmanCode: 2150858793,
      reason:
        'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.',
    });
  });
});
