// Reading the recorded WS-Man exchanges (YAML) and writing the derived scenarios of the WinRM test bed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SYSTEM_PYTHON } from './endpoint';
import {
  invalidParameterFault,
  parseRequest,
  receiveResponse,
  shellNotFoundFault,
  timedOutFault,
} from './soap-replies';

export const RECORDINGS_DIR = path.resolve(import.meta.dirname, '../fixtures/winrm/wsman');
export const SCENARIOS_DIR = path.resolve(import.meta.dirname, '../fixtures/winrm/scenarios');

export interface RecordedMessage {
  request: string;
  response: string;
  optional?: boolean;
  repeat?: boolean;
}

/** The messages of a recording, read with python3-yaml (the files are YAML; one reader for both sides). */
export function readRecording(file: string): RecordedMessage[] {
  const r = spawnSync(
    SYSTEM_PYTHON,
    [
      '-c',
      'import sys, json, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding="utf-8")), sys.stdout)',
      file,
    ],
    { encoding: 'utf8', timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`cannot read ${file}: ${r.stderr}`);
  const data = JSON.parse(r.stdout) as { messages?: RecordedMessage[] };
  if (!Array.isArray(data.messages)) throw new Error(`${file} has no messages`);
  return data.messages;
}

function quote(s: string): string {
  if (/[\r\n]/.test(s)) throw new Error('scenario scalars are single lines');
  return `'${s.replace(/'/g, "''")}'`;
}

export function scenarioYaml(note: string, messages: RecordedMessage[]): string {
  const lines = [
    `# DERIVED, NOT RECORDED: ${note}`,
    '# Made by test/winrm/recordings.ts (buildScenarios); see README.md here.',
  ];
  lines.push('messages:');
  for (const m of messages) {
    lines.push(`- request: ${quote(m.request)}`);
    lines.push(`  response: ${quote(m.response)}`);
    if (m.optional) lines.push('  optional: true');
    if (m.repeat) lines.push('  repeat: true');
  }
  return `${lines.join('\n')}\n`;
}

const LINE = (i: number) => `line ${String(i).padStart(6, '0')} of a long listing from WIN1\r\n`;

/**
 * The derived scenarios, made from the recorded standard session (test_winrs_standard.yml): its recorded
 * requests and replies, with the Receive replaced or preceded by fault or output replies built by
 * soap-replies.ts in the recorded shapes. Cleanup messages after a fault are optional.
 */
export function buildScenarios(): Record<string, { note: string; messages: RecordedMessage[] }> {
  const built = buildScenarioMessages();
  return Object.fromEntries(
    Object.entries(built).map(([name, s]) => [name, { note: s.note, messages: fixedIds(s.messages, name) }]),
  );
}

function buildScenarioMessages(): Record<string, { note: string; messages: RecordedMessage[] }> {
  const std = readRecording(path.join(RECORDINGS_DIR, 'test_winrs_standard.yml'));
  const [create, command, receive, signal, del] = std;
  if (!create || !command || !receive || !signal || !del) throw new Error('the standard recording changed');
  const receiveReq = parseRequest(receive.request);
  const commandId = receiveReq.commandId ?? '';
  const shellId = receiveReq.shellId ?? '';
  const rel = receiveReq.messageId;

  const bigOutput = Buffer.from(Array.from({ length: 6000 }, (_, i) => LINE(i + 1)).join(''), 'latin1');
  const third = Math.ceil(bigOutput.length / 3);
  const big: RecordedMessage[] = [0, 1, 2].map((k) => ({
    request: receive.request,
    response: receiveResponse(rel, commandId, {
      stdout: bigOutput.subarray(k * third, (k + 1) * third),
      ...(k === 2 ? { done: { exitCode: 0 } } : {}),
    }),
  }));

  return {
    'receive_timed_out.yml': {
      note: 'the standard session where the first Receive ends with w:TimedOut (HTTP 500), then the recorded output',
      messages: [
        create,
        command,
        { request: receive.request, response: timedOutFault(rel) },
        receive,
        signal,
        del,
      ],
    },
    'receive_invalid_selectors.yml': {
      note: 'the standard session where Receive fails with w:InvalidSelectors: the shell is gone (HTTP 500)',
      messages: [
        create,
        command,
        { request: receive.request, response: shellNotFoundFault(rel, shellId) },
        { ...signal, optional: true },
        { ...del, optional: true },
      ],
    },
    'receive_invalid_parameter.yml': {
      note: 'the standard session where Receive fails with w:InvalidParameter, Win32 code 87 (HTTP 500)',
      messages: [
        create,
        command,
        { request: receive.request, response: invalidParameterFault(rel) },
        { ...signal, optional: true },
        { ...del, optional: true },
      ],
    },
    'large_output.yml': {
      note: `the standard session where the output is ${bigOutput.length} bytes over three Receives (6000 lines)`,
      messages: [create, command, ...big, signal, del],
    },
  };
}

/** Built replies carry random MessageIDs; the scenario files get fixed ones, so they can be rebuilt identically. */
function fixedIds(messages: RecordedMessage[], scenario: string): RecordedMessage[] {
  let n = 0;
  return messages.map((m) => {
    const response = m.response.replace(
      /<a:MessageID>uuid:[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}<\/a:MessageID>/,
      () => {
        n += 1;
        const tag = createHash('sha256').update(`${scenario} ${n}`).digest('hex').toUpperCase();
        return `<a:MessageID>uuid:${tag.slice(0, 8)}-${tag.slice(8, 12)}-4${tag.slice(13, 16)}-8${tag.slice(17, 20)}-${tag.slice(20, 32)}</a:MessageID>`;
      },
    );
    return { ...m, response };
  });
}

/** Writes the derived scenarios: `npx tsx test/winrm/recordings.ts`. */
export function writeScenarios(): string[] {
  fs.mkdirSync(SCENARIOS_DIR, { recursive: true });
  return Object.entries(buildScenarios()).map(([name, s]) => {
    const file = path.join(SCENARIOS_DIR, name);
    fs.writeFileSync(file, scenarioYaml(s.note, s.messages));
    return file;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const f of writeScenarios()) console.log(`wrote ${path.relative(process.cwd(), f)}`);
}
