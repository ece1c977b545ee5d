import { isoToLocal } from '../model';
import { Banner } from './Banner';
import { DateTimeField, RadioGroup, type RadioOption } from './fields';
import { REBOOT_POLICIES } from './run-options';
import { draftJob, hostsWaitingForReboot, needsReplan, selectedWindowsHosts } from './selectors';
import { useWizard } from './store';
import type { OnFailure, RebootPolicy, Schedule, ScheduleKind } from './types';
import { MAX_RESTART_DELAY_SECONDS, restartNoticeText } from './windows';

const REBOOT: RadioOption<RebootPolicy>[] = REBOOT_POLICIES.map((r) => ({
  id: r.id,
  label: (
    <span>
      Reboot: {r.label} <span className="muted small">— {r.hint}</span>
    </span>
  ),
}));

const ON_FAILURE: RadioOption<OnFailure>[] = [
  { id: 'continue', label: 'Carry on with the other hosts' },
  { id: 'stop', label: 'Stop the job (hosts not started yet are skipped)' },
];

const WHEN: RadioOption<ScheduleKind>[] = [
  { id: 'now', label: 'Now' },
  { id: 'at', label: 'At a time' },
  { id: 'window', label: 'In a maintenance window' },
];

/** Step 3: the reboot policy, what happens when a host fails, and when the job runs. */
export function ScheduleStep() {
  const options = useWizard((s) => s.options);
  const job = useWizard(draftJob);
  const busy = useWizard((s) => s.busy);
  const { setRunOptions, toConfirm, backToReview } = useWizard.getState();
  const { rebootPolicy, onFailure, schedule } = options;
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const choices = useWizard((s) => s.choices);
  const windowsSelected = selectedWindowsHosts({ hosts, audits, choices }).length > 0;
  const setSchedule = (patch: Partial<Schedule>): void =>
    setRunOptions({ schedule: { ...schedule, ...patch } });
  const pickKind = (kind: ScheduleKind): void => {
    const soon = new Date(Date.now() + 60 * 60_000);
    soon.setMinutes(0, 0, 0);
    const later = new Date(soon.getTime() + 2 * 60 * 60_000);
    setSchedule({
      kind,
      at: schedule.at || isoToLocal(soon),
      start: schedule.start || isoToLocal(soon),
      end: schedule.end || isoToLocal(later),
    });
  };
  return (
    <form
      className="wizard-body"
      onSubmit={(e) => {
        e.preventDefault();
        void toConfirm();
      }}
    >
      <fieldset>
        <legend>Reboot policy</legend>
        <RadioGroup
          name="reboot"
          options={REBOOT}
          value={rebootPolicy}
          onChoose={(id) => setRunOptions({ rebootPolicy: id })}
        />
        <PendingRebootNote />
        <WindowsRestart />
      </fieldset>
      <fieldset>
        <legend>If a host fails</legend>
        <RadioGroup
          name="onFailure"
          options={ON_FAILURE}
          value={onFailure}
          onChoose={(id) => setRunOptions({ onFailure: id })}
        />
      </fieldset>
      <fieldset>
        <legend>When</legend>
        <RadioGroup
          name="when"
          options={WHEN}
          value={schedule.kind}
          onChoose={pickKind}
          after={(kind) =>
            kind !== schedule.kind ? null : kind === 'at' ? (
              <DateTimeField
                className="indent"
                label="Start at"
                value={schedule.at}
                onChange={(at) => setSchedule({ at })}
              />
            ) : kind === 'window' ? (
              <div className="row indent">
                <DateTimeField
                  label="Window starts"
                  value={schedule.start}
                  onChange={(start) => setSchedule({ start })}
                />
                <DateTimeField
                  label="Window ends"
                  value={schedule.end}
                  onChange={(end) => setSchedule({ end })}
                />
              </div>
            ) : null
          }
        />
        {schedule.kind !== 'now' && (
          <Banner tone="muted" small>
            Patchdeck (the app or <span className="mono">patchdeck serve</span>) must be running then. A time
            or window missed while it was closed is reported, never run late.
          </Banner>
        )}
      </fieldset>
      {needsReplan(job, options) && (
        <Banner tone="warning" small>
          {windowsSelected
            ? 'The reboot policy, failure handling and restart notice are part of the plan you approve: it is planned again with them (the dry run runs again on the other hosts), and you review it again only if it changed.'
            : 'The reboot policy and failure handling are part of the plan you approve: the dry run runs again with them, and you review it again only if it changed.'}
        </Banner>
      )}
      <div className="form-actions">
        <button type="submit" disabled={Boolean(busy)}>
          Next: confirm
        </button>
        <button type="button" className="secondary" onClick={backToReview}>
          Back
        </button>
      </div>
    </form>
  );
}

/**
 * Windows PCs restart with Windows' own restart (shutdown.exe /r /t <delay> /c "<message>"): the
 * signed-in employee sees a notice and has the delay to save their work. The admin picks the delay.
 */
function WindowsRestart() {
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const choices = useWizard((s) => s.choices);
  const rebootPolicy = useWizard((s) => s.options.rebootPolicy);
  const delay = useWizard((s) => s.options.windowsRestartDelaySeconds);
  const { setRunOptions } = useWizard.getState();
  const windows = selectedWindowsHosts({ hosts, audits, choices });
  if (windows.length === 0) return null;
  const names = windows
    .slice(0, 5)
    .map((h) => h.name)
    .join(', ');
  return (
    <div className="windows-restart" role="group" aria-label="Windows restart">
      <label className="inline">
        Windows PCs restart after a notice of{' '}
        <input
          type="number"
          min={0}
          max={MAX_RESTART_DELAY_SECONDS / 60}
          step={1}
          value={Math.round(delay / 60)}
          aria-label="Restart notice in minutes"
          onChange={(e) => {
            const minutes = Math.max(
              0,
              Math.min(MAX_RESTART_DELAY_SECONDS / 60, Math.floor(Number(e.target.value) || 0)),
            );
            setRunOptions({ windowsRestartDelaySeconds: minutes * 60 });
          }}
        />{' '}
        minutes
      </label>
      <Banner tone="muted" small testId="windows-restart-note">
        {windows.length === 1
          ? '1 selected host is a Windows PC'
          : `${windows.length} selected hosts are Windows PCs`}{' '}
        ({names}
        {windows.length > 5 ? ', …' : ''}).{' '}
        {rebootPolicy === 'never'
          ? 'With “Never” they are not restarted; a PC whose updates need a restart is reported as waiting for one.'
          : restartNoticeText(delay)}
      </Banner>
    </div>
  );
}

/**
 * Hosts whose newest audit says a reboot is already pending: with a policy that allows rebooting
 * they reboot before the install, which the admin should know before confirming.
 */
function PendingRebootNote() {
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const choices = useWizard((s) => s.choices);
  const rebootPolicy = useWizard((s) => s.options.rebootPolicy);
  const pending = hostsWaitingForReboot({ hosts, audits, choices });
  if (pending.length === 0) return null;
  return (
    <Banner tone="muted" small testId="pending-reboot-note">
      {pending.length === 1 ? '1 selected host is' : `${pending.length} selected hosts are`} already waiting
      for a reboot (
      {pending
        .slice(0, 5)
        .map((h) => h.name)
        .join(', ')}
      {pending.length > 5 ? ', …' : ''}):{' '}
      {rebootPolicy === 'never'
        ? 'with “Never” they are patched without it.'
        : 'they reboot before installing.'}
    </Banner>
  );
}
