/**
 * A Windows PC in memory for the Windows step flow's tests: it answers the flow's PowerShell
 * (pre-check, schedule, poll, boot time), the Windows Update audit (the verification), and
 * shutdown.exe. The task it "runs" is the installer the schedule script carries (decoded from its
 * base64), and it installs exactly the UpdateIDs written in it. The integration test plays the
 * same PC behind a real sealed WinRM endpoint (test/winrm/pc-backend.ts).
 */
import { RemoteError } from '../../remote';

export interface PcUpdate {
  kb: string;
  updateId: string;
  revision: number;
  title: string;
  /** What installing it ends with. */
  resultCode?: number;
  hresult?: string;
  rebootRequired?: boolean;
  /** The receipt says installed, yet Windows Update goes on offering it (the re-audit lists it). */
  staysPending?: boolean;
}

export type PcScript = 'precheck' | 'schedule' | 'poll' | 'boot' | 'audit' | 'shutdown' | 'abort';

export class FakePc {
  pending: PcUpdate[] = [];
  /** KB ids Win32_QuickFixEngineering lists. */
  hotfixes: string[] = [];
  rebootReasons: string[] = [];
  freeMb = 50_000;
  boot = 1_767_000_000;
  /** Until a restart is issued the PC prints no readable boot time (pre-check and boot script). */
  bootUnreadable = false;
  /** Polls answered (progress only) before the task writes its receipt. */
  pollsBeforeReceipt = 2;
  /** Task name → state; the task unregisters itself after its receipt. */
  tasks = new Map<string, string>();
  files = new Map<string, string>();
  /** Folders someone else made (not locked to SYSTEM and Administrators), e.g. to plant a receipt. */
  unlocked = new Set<string>();
  /** The installers the schedule scripts carried, decoded. */
  readonly installers: string[] = [];
  readonly shutdowns: string[] = [];
  readonly seen: PcScript[] = [];
  /** The PC is away (rebooting, or its network driver is being replaced): connects and commands fail. */
  away = 0;
  /** Called when a restart happens (the integration test stops the endpoint then, and starts it again). */
  onRestart: (() => void) | null = null;
  /** Runs before the PC answers a script; may make it throw. */
  before: Partial<Record<PcScript, (n: number) => void>> = {};
  private polls = 0;
  private counts: Partial<Record<PcScript, number>> = {};
  /** A restart issued: it happens after the delay (counted in scripts answered, not time). */
  private restartAfter: number | null = null;

  open(): FakePcSession {
    if (this.away > 0) {
      this.away--;
      throw new RemoteError('unreachable', 'WIN1: connection refused.');
    }
    return new FakePcSession(this);
  }

  hook(script: PcScript): void {
    this.seen.push(script);
    const n = (this.counts[script] = (this.counts[script] ?? 0) + 1);
    this.before[script]?.(n);
  }

  powershell(script: string): { stdout: string; stderr: string; code: number } {
    const first = script.split('\n', 1)[0]!;
    const ok = (stdout: string) => ({ stdout: `${stdout}\r\n`, stderr: '', code: 0 });
    if (first === '# patchdeck:precheck') {
      this.hook('precheck');
      const dir = /\$dir='([^']+)'; \$name='([^']+)'/.exec(script)!;
      const want = [...(/\$want=@\(([^)]*)\)/.exec(script)?.[1] ?? '').matchAll(/'(KB\d+)'/g)].map(
        (m) => m[1]!,
      );
      return ok(
        `PATCHDECK-PRECHECK-JSON:${JSON.stringify({
          v: 1,
          freeMb: this.freeMb,
          rebootReasons: this.rebootReasons,
          installed: this.hotfixes.filter((h) => want.includes(h)),
          task: this.tasks.get(dir[2]!) ?? null,
          receipt: this.files.has(`${dir[1]}\\receipt.json`) && !this.unlocked.has(dir[1]!),
          foreignReceipt: this.files.has(`${dir[1]}\\receipt.json`) && this.unlocked.has(dir[1]!),
          boot: this.bootUnreadable ? null : this.boot,
        })}`,
      );
    }
    if (first === '# patchdeck:schedule') {
      this.hook('schedule');
      const name = /-TaskName '([^']+)'/.exec(script)![1]!;
      const b64 = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(script)![1]!;
      this.installers.push(Buffer.from(b64, 'base64').toString('utf8'));
      // The task's folder is made afresh and locked: whatever was in it is gone.
      const leaf = /\$pdLeaf='([^']+)'/.exec(script)?.[1];
      if (leaf) {
        for (const k of [...this.files.keys()]) if (k.startsWith(`${leaf}\\`)) this.files.delete(k);
        this.unlocked.delete(leaf);
      }
      this.tasks.set(name, 'Running');
      this.polls = 0;
      return ok(`PATCHDECK-TASK-STARTED:${name}`);
    }
    if (first === '# patchdeck:poll') {
      this.hook('poll');
      const [, dir, name] = /\$dir='([^']+)'; \$name='([^']+)'/.exec(script)!;
      const step = /(\d+-\d+)$/.exec(dir!)![1]!;
      if (this.tasks.get(name!) === 'Running' && ++this.polls > this.pollsBeforeReceipt)
        this.runTask(dir!, name!, step);
      else if (this.tasks.get(name!) === 'Running')
        this.files.set(
          `${dir}\\progress.json`,
          JSON.stringify({ version: 1, jobStep: step, stage: 'installing' }),
        );
      return ok(
        `PATCHDECK-POLL-JSON:${JSON.stringify({
          v: 1,
          progress: this.files.get(`${dir}\\progress.json`) ?? null,
          receipt: this.files.get(`${dir}\\receipt.json`) ?? null,
          task: this.tasks.get(name!) ?? null,
          lastResult: this.tasks.has(name!) ? 0x41301 : null,
          boot: this.boot,
        })}`,
      );
    }
    if (first === '# patchdeck:boot') {
      this.hook('boot');
      this.tick();
      return ok(`PATCHDECK-BOOT-JSON:${this.bootUnreadable ? '' : this.boot}`);
    }
    if (script.includes('PATCHDECK-WUA-JSON:')) {
      this.hook('audit');
      return ok(
        `PATCHDECK-WUA-JSON:${JSON.stringify({
          v: 2,
          ok: true,
          rebootRequired: this.rebootReasons.length > 0,
          rebootReasons: this.rebootReasons,
          now: 1_767_225_600,
          lastSearch: 1_767_225_000,
          os: { caption: 'Microsoft Windows 11 Pro', version: '10.0.22631', build: '22631', ubr: 3007 },
          hotfixes: this.hotfixes.map((id) => ({ id })),
          updates: this.pending.map((u) => ({
            title: u.title,
            kb: [u.kb.slice(2)],
            categories: ['Security Updates'],
            severity: 'Critical',
            updateId: u.updateId,
            revision: u.revision,
            rebootBehavior: 1,
            type: 1,
          })),
        })}`,
      );
    }
    throw new Error(`the fake PC does not know this script: ${first}`);
  }

  command(command: string): { stdout: string; stderr: string; code: number } {
    const restart = /^shutdown\.exe \/r \/t (\d+) \/c "([^"]*)" \/d p:2:17$/.exec(command);
    if (restart) {
      this.hook('shutdown');
      this.shutdowns.push(command);
      this.bootUnreadable = false;
      this.restartAfter = 1;
      return { stdout: '', stderr: '', code: 0 };
    }
    if (command === 'shutdown.exe /a') {
      // Calls off a restart still in its warning delay; Windows answers 1116 when none is pending.
      this.hook('abort');
      this.shutdowns.push(command);
      if (this.restartAfter === null)
        return {
          stdout: '',
          stderr: 'Unable to abort the system shutdown because no shutdown was in progress.(1116)',
          code: 1116,
        };
      this.restartAfter = null;
      return { stdout: '', stderr: '', code: 0 };
    }
    throw new Error(`the fake PC does not know: ${command}`);
  }

  /** A restart issued earlier happens now: new boot time, pending signals cleared, the PC away a while. */
  private tick(): void {
    if (this.restartAfter === null) return;
    if (this.restartAfter-- > 0) return;
    this.restartAfter = null;
    this.boot += 3600;
    this.rebootReasons = [];
    this.away = 2;
    this.onRestart?.();
    throw new RemoteError('unreachable', 'WIN1: the connection was reset.');
  }

  /** What the SYSTEM task does: installs exactly the UpdateIDs its installer names, writes the receipt, unregisters. */
  private runTask(dir: string, name: string, jobStep: string): void {
    const installer = this.installers.at(-1)!;
    const want = [...installer.matchAll(/@\{id='([0-9a-f-]{36})';rev=(-?\d+)\}/g)].map((m) => ({
      id: m[1]!,
      rev: Number(m[2]),
    }));
    const updates = want.map((w) => {
      const u = this.pending.find((p) => p.updateId === w.id && (w.rev < 0 || p.revision === w.rev));
      if (!u)
        return {
          updateId: w.id,
          kb: [],
          title: '',
          resultCode: 0,
          hresult: '0x80240024',
          rebootRequired: false,
        };
      const resultCode = u.resultCode ?? 2;
      if (resultCode === 2 || resultCode === 3) {
        if (!u.staysPending) this.pending = this.pending.filter((p) => p !== u);
        this.hotfixes.push(u.kb);
        if (u.rebootRequired) this.rebootReasons = ['WindowsUpdate RebootRequired'];
      }
      return {
        updateId: u.updateId,
        revision: u.revision,
        kb: [u.kb.slice(2)],
        title: u.title,
        resultCode,
        hresult: u.hresult ?? '0x00000000',
        rebootRequired: u.rebootRequired === true && resultCode === 2,
        uninstallable: true,
      };
    });
    const failed = updates.some((u) => u.resultCode === 4);
    this.files.set(
      `${dir}\\receipt.json`,
      JSON.stringify({
        version: 1,
        jobStep,
        finishedAt: 1_767_225_900,
        rebootRequired: updates.some((u) => u.rebootRequired),
        resultCode: failed ? 4 : 2,
        hresult: failed ? updates.find((u) => u.resultCode === 4)!.hresult : '0x00000000',
        updates,
      }),
    );
    this.files.set(`${dir}\\progress.json`, JSON.stringify({ version: 1, jobStep, stage: 'done' }));
    this.tasks.delete(name);
  }
}

/** A session to the fake PC: WinRM-shaped (runPowerShell through stdin). */
export class FakePcSession {
  isOpen = true;
  readonly identity = {
    type: 'ntlm-identity',
    fingerprint: 'ntlm:WIN1.PATCHDECK.TEST/PATCHDECK',
    publicKey: null,
  };
  constructor(private readonly pc: FakePc) {}

  private guard<T>(fn: () => T): Promise<T> {
    if (!this.isOpen) return Promise.reject(new RemoteError('unreachable', 'WIN1: the session was closed.'));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      if (error instanceof RemoteError && error.kind === 'unreachable') this.isOpen = false;
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  run(command: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
    return this.guard(() => this.pc.command(command));
  }

  runPowerShell(script: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
    return this.guard(() => this.pc.powershell(script));
  }

  close(): void {
    this.isOpen = false;
  }
}
