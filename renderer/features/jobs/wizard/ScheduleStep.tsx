import type { ReactNode } from 'react';
import { isoToLocal } from '../model';
import { Banner } from './Banner';
import { DateTimeField, RadioChoice } from './fields';
import { REBOOT_POLICIES } from './run-options';
import { draftJob, hostsWaitingForReboot, needsReplan } from './selectors';
import { useWizard } from './store';
import type { OnFailure, Schedule, ScheduleKind } from './types';

const ON_FAILURE: { id: OnFailure; label: string }[] = [
  { id: 'continue', label: 'Carry on with the other hosts' },
  { id: 'stop', label: 'Stop the job (hosts not started yet are skipped)' },
];

const WHEN: { id: ScheduleKind; label: string }[] = [
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
        {REBOOT_POLICIES.map((r) => (
          <RadioChoice
            key={r.id}
            name="reboot"
            checked={rebootPolicy === r.id}
            onChoose={() => setRunOptions({ rebootPolicy: r.id })}
          >
            <span>
              Reboot: {r.label} <span className="muted small">— {r.hint}</span>
            </span>
          </RadioChoice>
        ))}
        <PendingRebootNote />
      </fieldset>
      <fieldset>
        <legend>If a host fails</legend>
        {ON_FAILURE.map((f) => (
          <RadioChoice
            key={f.id}
            name="onFailure"
            checked={onFailure === f.id}
            onChoose={() => setRunOptions({ onFailure: f.id })}
          >
            {f.label}
          </RadioChoice>
        ))}
      </fieldset>
      <fieldset>
        <legend>When</legend>
        {WHEN.map((w) => (
          <WhenChoice
            key={w.id}
            label={w.label}
            checked={schedule.kind === w.id}
            onChoose={() => pickKind(w.id)}
          >
            {w.id === 'at' && schedule.kind === 'at' && (
              <DateTimeField
                className="indent"
                label="Start at"
                value={schedule.at}
                onChange={(at) => setSchedule({ at })}
              />
            )}
            {w.id === 'window' && schedule.kind === 'window' && (
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
            )}
          </WhenChoice>
        ))}
        {schedule.kind !== 'now' && (
          <Banner tone="muted" small>
            Patchdeck (the app or <span className="mono">patchdeck serve</span>) must be running then. A time
            or window missed while it was closed is reported, never run late.
          </Banner>
        )}
      </fieldset>
      {needsReplan(job, options) && (
        <Banner tone="warning" small>
          The reboot policy and failure handling are part of the plan you approve: the dry run runs again with
          them, and you review it again only if it changed.
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

/** A "When" option, and below it the times it needs once it is chosen. */
function WhenChoice({
  label,
  checked,
  onChoose,
  children,
}: {
  label: string;
  checked: boolean;
  onChoose: () => void;
  children: ReactNode;
}) {
  return (
    <>
      <RadioChoice name="when" checked={checked} onChoose={onChoose}>
        {label}
      </RadioChoice>
      {children}
    </>
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
