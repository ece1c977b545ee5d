/**
 * `npm run testbed:pc -- [--address 127.0.77.11] [--password …]` — a simulated Windows PC to try
 * the Windows side of Patchdeck by hand, in the window or the CLI, on a machine without Windows.
 *
 * It is the test bed's WinRM endpoint (test/winrm/endpoint.ts: a real gss-ntlmssp acceptor, every
 * message sealed) on WinRM's own port 5985 of a loopback address, in front of the in-memory PC the
 * patch tests use (src/patch/testing/fake-pc.ts): two pending updates, a Windows Update audit, the
 * SYSTEM install task and its receipt, and Windows' restart (the endpoint goes away for a few
 * seconds and comes back on the same address and port). The account is PATCHDECK\alice.
 *
 * What it is not: Windows. The PowerShell Patchdeck sends is recognised by its markers and
 * answered in the shapes Patchdeck expects; none of it runs. Stop it with Ctrl-C.
 */
import { FakePc } from '../../src/patch/testing/fake-pc';
import { startPcBackend } from './pc-backend';
import { startWinrmEndpoint, writeNtlmUserFile, type WinrmEndpoint } from './endpoint';

class OfficePc extends FakePc {
  override command(command: string): { stdout: string; stderr: string; code: number } {
    // The credential test (Settings → Credentials → Test) asks who it logged in as.
    if (command === 'whoami') return { stdout: 'patchdeck\\alice\r\n', stderr: '', code: 0 };
    return super.command(command);
  }
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

async function main(): Promise<void> {
  const address = option('address', '127.0.77.11');
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address))
    throw new Error('the simulated PC listens on a loopback address (127.0.0.0/8) only');
  const password = option('password', 'Office-Pa55word!');
  const pc = new OfficePc();
  pc.pending = [
    {
      kb: 'KB5034441',
      updateId: '0b5c2f3e-7d1a-4c6b-9e8f-1a2b3c4d5e6f',
      revision: 201,
      title: '2026-01 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5034441)',
      rebootRequired: true,
    },
    {
      kb: 'KB890830',
      updateId: '7e1d9a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      revision: 1,
      title: 'Windows Malicious Software Removal Tool x64 - v5.120 (KB890830)',
      rebootRequired: false,
    },
  ];
  pc.hotfixes = ['KB5031455', 'KB5032190'];
  const backend = await startPcBackend(pc);
  const userFile = writeNtlmUserFile([{ domain: 'PATCHDECK', username: 'alice', password }]);
  const start = (): Promise<WinrmEndpoint> =>
    startWinrmEndpoint({
      mode: { backend: backend.url },
      acceptor: { userFile },
      address,
      port: 5985,
      identify: 'OS: 10.0.22631 SP: 0.0 Stack: 3.0',
    });
  let endpoint = await start();
  pc.onRestart = () => {
    console.log('The PC restarts: away for 5 s.');
    const old = endpoint;
    void (async () => {
      await old.stop();
      await new Promise((r) => setTimeout(r, 5_000));
      endpoint = await start();
      console.log('The PC is back.');
    })();
  };
  console.log(`A simulated Windows PC listens on ${address}:5985 (WinRM over HTTP, sealed NTLM).`);
  console.log(`Account: PATCHDECK\\alice   Password: ${password}   (a test account of this simulation)`);
  console.log(
    `Try: Discover ${address} (ports 5985), add a Windows credential, trust its NTLM identity, audit, patch.`,
  );
  console.log('Ctrl-C stops it.');
  const stop = async (): Promise<void> => {
    await endpoint.stop();
    await backend.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

await main();
