import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingTestbedParts } from '../winrm/endpoint';
import {
  RECORDINGS_DIR,
  SCENARIOS_DIR,
  buildScenarios,
  readRecording,
  scenarioYaml,
} from '../winrm/recordings';
import {
  ACTIONS,
  commandResponse,
  createShellResponse,
  deleteResponse,
  fault,
  parseRequest,
  receiveResponse,
  signalResponse,
  timedOutFault,
} from '../winrm/soap-replies';

/**
 * The fake-PC builders of the WinRM test bed answer in the shapes a real Windows Server recorded, and
 * the request parser reads what real clients sent. The recordings are YAML read with python3-yaml.
 */
const missing = missingTestbedParts();
if (missing.length && process.env.CI === 'true') {
  throw new Error(`the WinRM test bed is incomplete: ${missing.join('; ')}`);
}
const d = missing.length ? describe.skip : describe;

/** The recorded reply with its MessageID replaced by the built one (the only part that is random). */
function sameShape(built: string, recorded: string): void {
  const id = /<a:MessageID>([^<]*)<\/a:MessageID>/.exec(built)?.[1] ?? '';
  expect(built).toBe(
    recorded.replace(/<a:MessageID>[^<]*<\/a:MessageID>/, `<a:MessageID>${id}</a:MessageID>`),
  );
}

d('WinRM test bed: reply builders and request parser', () => {
  const std = readRecording(path.join(RECORDINGS_DIR, 'test_winrs_standard.yml'));
  const [create, command, receive, signal, del] = std.map((m) => ({ ...m, req: parseRequest(m.request) }));

  it('parses the recorded standard requests', () => {
    expect(create?.req).toMatchObject({
      action: ACTIONS.create,
      messageId: 'uuid:FC40E3CD-53E9-4315-B486-6D538B25D1F5',
      maxEnvelopeSize: 153600,
      operationTimeout: 'PT20S',
      resourceUri: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd',
    });
    expect(command?.req).toMatchObject({
      action: ACTIONS.command,
      shellId: '4283CBDC-3706-415B-88BD-B385F3E51A53',
      command: 'cmd.exe',
      arguments: ['/c', 'echo', 'hi'],
      options: { WINRS_SKIP_CMD_SHELL: 'False' },
    });
    expect(receive?.req).toMatchObject({
      action: ACTIONS.receive,
      commandId: 'CF84C20A-0A35-43FA-AF78-0B4711DA5F30',
    });
    expect(signal?.req.signal).toBe('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c');
    expect(del?.req).toMatchObject({
      action: ACTIONS.delete,
      shellId: '4283CBDC-3706-415B-88BD-B385F3E51A53',
    });
  });

  it('parses environment variables, a Send with stdin and one argument or none', () => {
    const env = readRecording(path.join(RECORDINGS_DIR, 'test_winrs_environment.yml'));
    expect(Object.keys(parseRequest(env[0]?.request ?? '').environment).length).toBeGreaterThan(0);
    const send = parseRequest(
      '<s:Envelope xmlns:s="x" xmlns:rsp="y"><s:Header><wsa:Action>' +
        `${ACTIONS.send}</wsa:Action><wsa:MessageID>uuid:1</wsa:MessageID></s:Header><s:Body><rsp:Send>` +
        '<rsp:Stream Name="stdin" CommandId="C1">aGk=</rsp:Stream>' +
        '<rsp:Stream Name="stdin" CommandId="C1" End="true">DQo=</rsp:Stream></rsp:Send></s:Body></s:Envelope>',
    );
    expect(send).toMatchObject({ action: ACTIONS.send, commandId: 'C1', stdinEnd: true });
    expect(send.stdin?.toString()).toBe('hi\r\n');
    const one = parseRequest(
      `<a:Action>${ACTIONS.command}</a:Action><rsp:CommandLine><rsp:Command>whoami</rsp:Command></rsp:CommandLine>`,
    );
    expect(one).toMatchObject({ command: 'whoami', arguments: [] });
    const escaped = parseRequest(
      `<a:Action>${ACTIONS.command}</a:Action><rsp:Command>echo a&amp;b &lt;x&gt;</rsp:Command>` +
        '<rsp:Arguments>&quot;q&quot;</rsp:Arguments>',
    );
    expect(escaped).toMatchObject({ command: 'echo a&b <x>', arguments: ['"q"'] });
  });

  it('builds the recorded Command, Receive, Signal and Delete replies byte for byte (but the MessageID)', () => {
    const rel = (m: typeof command) => m?.req.messageId ?? '';
    sameShape(commandResponse(rel(command), 'CF84C20A-0A35-43FA-AF78-0B4711DA5F30'), command?.response ?? '');
    sameShape(
      receiveResponse(rel(receive), 'CF84C20A-0A35-43FA-AF78-0B4711DA5F30', {
        stdout: Buffer.from('hi\r\n'),
        done: { exitCode: 0 },
      }),
      receive?.response ?? '',
    );
    sameShape(signalResponse(rel(signal)), signal?.response ?? '');
    sameShape(deleteResponse(rel(del)), del?.response ?? '');
    const shell = createShellResponse(rel(create), '4283CBDC-3706-415B-88BD-B385F3E51A53');
    expect(shell).toContain('<w:Selector Name="ShellId">4283CBDC-3706-415B-88BD-B385F3E51A53</w:Selector>');
    expect(shell).toContain(`<a:RelatesTo>${rel(create)}</a:RelatesTo>`);
  });

  it('a running Receive has no End markers and no exit code; big output is split in Stream elements', () => {
    const r = receiveResponse('uuid:1', 'C1', { stdout: Buffer.alloc(70_000, 0x41), chunkBytes: 32_768 });
    expect(r.match(/<rsp:Stream Name="stdout"/g)).toHaveLength(3);
    expect(r).not.toContain('End="true"');
    expect(r).not.toContain('ExitCode');
    expect(r).toContain('CommandState/Running');
  });

  it('faults carry the subcode, the reason and the WSManFault code', () => {
    const t = timedOutFault('uuid:9');
    expect(t).toContain('<s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value>');
    expect(t).toContain('Code="2150858793"');
    expect(t).toContain('<a:RelatesTo>uuid:9</a:RelatesTo>');
    const f = fault('uuid:9', { code: 'w:InvalidParameter', wsmanCode: 87, text: 'a <b> & c' });
    expect(f).toContain('<s:Value>s:Sender</s:Value>');
    expect(f).toContain('<s:Text xml:lang="en-US">a &lt;b&gt; &amp; c</s:Text>');
  });

  it('the derived scenario files are exactly what the generator builds from the recordings', () => {
    const built = buildScenarios();
    const files = fs.readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.yml'));
    expect(files.sort()).toEqual(Object.keys(built).sort());
    for (const [name, s] of Object.entries(built)) {
      const text = fs.readFileSync(path.join(SCENARIOS_DIR, name), 'utf8');
      expect(text.startsWith('# DERIVED, NOT RECORDED')).toBe(true);
      expect(text, name).toBe(scenarioYaml(s.note, s.messages));
      expect(readRecording(path.join(SCENARIOS_DIR, name))).toEqual(s.messages);
    }
  });
});
