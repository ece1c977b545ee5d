import type { JobStep } from '../../../src/api/schemas';
import { formatTime, plural } from '../../components/format';
import { useApp } from '../../stores/app';
import { isoToLocal, phaseLabel } from './model';
import {
  dryRunDone,
  listedChanges,
  unlistedHosts,
  useWizard,
  type RebootPolicy,
  type ScheduleKind,
  type WizardStep,
} from './wizard-store';

const STEPS: { id: WizardStep; label: string }[] = [
  { id: 'select', label: 'Select' },
  { id: 'review', label: 'Review dry run' },
  { id: 'schedule', label: 'Schedule and reboot' },
  { id: 'confirm', label: 'Confirm' },
];

const REBOOT: { id: RebootPolicy; label: string; hint: string }[] = [
  {
    id: 'never',
    label: 'Never',
    hint: 'Install only; a host that needs a reboot is reported, not rebooted.',
  },
  {
    id: 'if-required',
    label: 'If required',
    hint: 'Reboot the hosts whose updates ask for it (a host already waiting for a reboot reboots before installing), and wait for them.',
  },
  {
    id: 'always',
    label: 'Always',
    hint: 'Reboot every patched host (first, too, if it was already waiting for one), and wait for it to come back.',
  },
];

function SelectStep() {
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const selected = useWizard((s) => s.selectedHostIds);
  const mode = useWizard((s) => s.mode);
  const choices = useWizard((s) => s.packageChoices);
  const chosen = useWizard((s) => s.chosenPackages);
  const busy = useWizard((s) => s.busy);
  const { toggleHost, setHosts, setMode, togglePackage, review, close } = useWizard.getState();
  const auditable = hosts.filter((h) => audits[h.id]?.status === 'succeeded');
  const chosenHosts = hosts.filter((h) => selected.includes(h.id));
  const updates = chosenHosts.reduce((n, h) => n + (audits[h.id]?.updatesCount ?? 0), 0);
  const security = chosenHosts.reduce((n, h) => n + (audits[h.id]?.securityCount ?? 0), 0);
  const canReview = selected.length > 0 && (mode !== 'packages' || chosen.length > 0) && !busy;

  return (
    <form
      className="wizard-body"
      onSubmit={(e) => {
        e.preventDefault();
        if (canReview) void review();
      }}
    >
      <fieldset>
        <legend>Hosts</legend>
        {hosts.length === 0 && !busy ? (
          <p className="muted">
            No hosts in the inventory yet. Add them on the Discover or Hosts page and audit them.
          </p>
        ) : (
          <table className="grid compact" aria-label="Hosts to patch">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label="Select every audited host"
                    checked={auditable.length > 0 && auditable.every((h) => selected.includes(h.id))}
                    onChange={(e) => setHosts(e.target.checked ? auditable.map((h) => h.id) : [])}
                  />
                </th>
                <th>Host</th>
                <th>Address</th>
                <th>Last audit</th>
                <th>Pending updates</th>
              </tr>
            </thead>
            <tbody>
              {hosts.map((h) => {
                const audit = audits[h.id];
                return (
                  <tr key={h.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Patch ${h.name}`}
                        checked={selected.includes(h.id)}
                        onChange={(e) => toggleHost(h.id, e.target.checked)}
                      />
                    </td>
                    <td>{h.name}</td>
                    <td className="mono small">{h.address ?? '—'}</td>
                    <td className="small">
                      {audit ? (
                        <>
                          {audit.status === 'succeeded' ? (
                            formatTime(audit.finishedAt ?? audit.startedAt)
                          ) : (
                            <span className="warning">{audit.status}</span>
                          )}
                        </>
                      ) : (
                        <span className="warning">never audited — audit it first</span>
                      )}
                    </td>
                    <td className="small">
                      {audit?.status === 'succeeded' ? (
                        <>
                          {plural(audit.updatesCount, 'update')}
                          {audit.securityCount > 0 && (
                            <span className="badge security">{audit.securityCount} security</span>
                          )}
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </fieldset>

      <fieldset>
        <legend>Updates</legend>
        <label className="inline">
          <input type="radio" name="mode" checked={mode === 'all'} onChange={() => void setMode('all')} />
          All pending updates
        </label>
        <label className="inline">
          <input
            type="radio"
            name="mode"
            checked={mode === 'security'}
            onChange={() => void setMode('security')}
          />
          Security updates only
        </label>
        <label className="inline">
          <input
            type="radio"
            name="mode"
            checked={mode === 'packages'}
            onChange={() => void setMode('packages')}
          />
          Chosen packages
        </label>
        {mode === 'packages' &&
          (selected.length === 0 ? (
            <p className="muted small">Select hosts first: the packages pending on them are listed here.</p>
          ) : choices === null ? (
            <p className="muted small">Loading the pending packages…</p>
          ) : choices.length === 0 ? (
            <p className="muted small">Nothing is pending on the selected hosts.</p>
          ) : (
            <ul className="package-choices" aria-label="Packages to patch">
              {choices.map((c) => (
                <li key={c.name}>
                  <label className="inline">
                    <input
                      type="checkbox"
                      checked={chosen.includes(c.name)}
                      onChange={(e) => togglePackage(c.name, e.target.checked)}
                    />
                    <span className="mono">{c.name}</span>
                    {c.security && <span className="badge security">security</span>}
                    <span className="muted small">on {plural(c.hosts, 'host')}</span>
                  </label>
                </li>
              ))}
            </ul>
          ))}
      </fieldset>

      <p className="muted" aria-live="polite">
        {plural(selected.length, 'host')} selected
        {selected.length > 0 && ` · last audits found ${plural(updates, 'update')}, ${security} security`}
      </p>
      <div className="form-actions">
        <button type="submit" disabled={!canReview}>
          Review dry run
        </button>
        <button type="button" className="secondary" onClick={() => void close()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ChangeTable({ step }: { step: JobStep }) {
  const p = step.preview;
  if (!p) return null;
  const rows = [
    ...p.upgrades.map((c) => ({ ...c, kind: 'upgrade' as const })),
    ...p.newPackages.map((c) => ({ ...c, kind: 'new' as const })),
    ...p.removals.map((c) => ({ ...c, kind: 'removed' as const })),
  ];
  return (
    <>
      {rows.length > 0 && (
        <table className="grid compact changes" aria-label={`Changes on ${step.hostName}`}>
          <thead>
            <tr>
              <th>Package</th>
              <th>Installed</th>
              <th>After</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={`${c.kind}:${c.name}:${c.arch ?? ''}`}>
                <td className="mono">{c.name}</td>
                <td className="mono small">{c.from ?? '—'}</td>
                <td className="mono small">{c.to ?? '—'}</td>
                <td>
                  {c.kind === 'upgrade' && (
                    <>
                      upgrade
                      {step.packages.find((t) => t.name === c.name)?.security && (
                        <span className="badge security">security</span>
                      )}
                    </>
                  )}
                  {c.kind === 'new' && <span className="badge warn">new dependency</span>}
                  {c.kind === 'removed' && <span className="badge danger">removed</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {p.skipped.length > 0 && (
        <ul className="skipped small" aria-label={`Left out on ${step.hostName}`}>
          {p.skipped.map((k) => (
            <li key={k.name}>
              <span className="mono">{k.name}</span>: {k.reason}
            </li>
          ))}
        </ul>
      )}
      {p.command && (
        <details className="small">
          <summary>Dry-run command</summary>
          <code className="mono">{p.command}</code>
        </details>
      )}
    </>
  );
}

function HostPreview({ step }: { step: JobStep }) {
  const planning = step.phase === 'planning';
  return (
    <article className="host-preview" aria-label={`Dry run on ${step.hostName}`}>
      <header>
        <h3>{step.hostName}</h3>
        <span className="muted small">{step.packageManager ?? ''}</span>
        {planning ? (
          <span className="muted">{phaseLabel(step.phase)}…</span>
        ) : step.status === 'queued' && listedChanges(step) === 0 ? (
          <span className="badge danger">no listed change</span>
        ) : step.status === 'queued' ? (
          <span className="badge">will change</span>
        ) : step.status === 'skipped' ? (
          <span className="badge warn">nothing to patch</span>
        ) : (
          <span className={`badge ${step.status === 'failed' ? 'danger' : 'warn'}`}>{step.status}</span>
        )}
      </header>
      {step.errorMessage && step.status !== 'queued' && (
        <p className={step.status === 'failed' ? 'error' : 'muted'}>{step.errorMessage}</p>
      )}
      {!planning && step.status === 'queued' && listedChanges(step) === 0 && (
        <p className="error">
          The dry run on {step.hostName} lists no change, so there is nothing here you could approve.
        </p>
      )}
      {!planning && <ChangeTable step={step} />}
    </article>
  );
}

function ReviewStep() {
  const steps = useWizard((s) => s.steps);
  const busy = useWizard((s) => s.busy);
  const { backToSelect, toSchedule } = useWizard.getState();
  const done = steps.filter((s) => s.phase !== 'planning').length;
  const finished = dryRunDone(steps);
  const ready = steps.filter((s) => s.status === 'queued' && listedChanges(s) > 0);
  const unlisted = unlistedHosts(steps);
  return (
    <div className="wizard-body">
      <div className="dry-run-progress">
        <span>
          Dry run: {done} of {plural(steps.length, 'host')}
          {finished && ` · ${ready.length} will change`}
        </span>
        <progress max={Math.max(1, steps.length)} value={done} aria-label="Dry run progress" />
      </div>
      <p className="muted small">
        Nothing has been installed: each host only simulated the install. New dependencies and removals are
        shown so you approve exactly what will change.
      </p>
      {steps.map((s) => (
        <HostPreview key={s.id} step={s} />
      ))}
      <div className="form-actions">
        <button
          type="button"
          disabled={!finished || ready.length === 0 || unlisted.length > 0 || Boolean(busy)}
          onClick={toSchedule}
        >
          Next: schedule and reboot
        </button>
        <button type="button" className="secondary" onClick={() => void backToSelect()}>
          Back
        </button>
        {finished && unlisted.length > 0 && (
          <span className="warning" role="status">
            The dry run on {unlisted.map((s) => s.hostName).join(', ')} does not list what would change, so
            this job cannot be approved. Go back and leave{' '}
            {unlisted.length === 1 ? 'that host' : 'those hosts'} out.
          </span>
        )}
        {finished && unlisted.length === 0 && ready.length === 0 && (
          <span className="warning">No host has anything to install; go back and choose again.</span>
        )}
      </div>
    </div>
  );
}

function ScheduleStep() {
  const rebootPolicy = useWizard((s) => s.rebootPolicy);
  const onFailure = useWizard((s) => s.onFailure);
  const schedule = useWizard((s) => s.schedule);
  const job = useWizard((s) => s.job);
  const busy = useWizard((s) => s.busy);
  const { setRunOptions, toConfirm, back } = useWizard.getState();
  const setSchedule = (patch: Partial<typeof schedule>): void =>
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
  const replan = job && (job.rebootPolicy !== rebootPolicy || job.onFailure !== onFailure);
  // Hosts whose newest audit says a reboot is already pending: with a policy that allows rebooting
  // they reboot before the install, which the admin should know before confirming.
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const selected = useWizard((s) => s.selectedHostIds);
  const pendingReboot = hosts.filter((h) => selected.includes(h.id) && audits[h.id]?.rebootRequired);
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
        {REBOOT.map((r) => (
          <label key={r.id} className="inline">
            <input
              type="radio"
              name="reboot"
              checked={rebootPolicy === r.id}
              onChange={() => setRunOptions({ rebootPolicy: r.id })}
            />
            <span>
              Reboot: {r.label} <span className="muted small">— {r.hint}</span>
            </span>
          </label>
        ))}
        {pendingReboot.length > 0 && (
          <p className="muted small" data-testid="pending-reboot-note">
            {pendingReboot.length === 1 ? '1 selected host is' : `${pendingReboot.length} selected hosts are`}{' '}
            already waiting for a reboot (
            {pendingReboot
              .slice(0, 5)
              .map((h) => h.name)
              .join(', ')}
            {pendingReboot.length > 5 ? ', …' : ''}):{' '}
            {rebootPolicy === 'never'
              ? 'with “Never” they are patched without it.'
              : 'they reboot before installing.'}
          </p>
        )}
      </fieldset>
      <fieldset>
        <legend>If a host fails</legend>
        <label className="inline">
          <input
            type="radio"
            name="onFailure"
            checked={onFailure === 'continue'}
            onChange={() => setRunOptions({ onFailure: 'continue' })}
          />
          Carry on with the other hosts
        </label>
        <label className="inline">
          <input
            type="radio"
            name="onFailure"
            checked={onFailure === 'stop'}
            onChange={() => setRunOptions({ onFailure: 'stop' })}
          />
          Stop the job (hosts not started yet are skipped)
        </label>
      </fieldset>
      <fieldset>
        <legend>When</legend>
        <label className="inline">
          <input
            type="radio"
            name="when"
            checked={schedule.kind === 'now'}
            onChange={() => pickKind('now')}
          />
          Now
        </label>
        <label className="inline">
          <input type="radio" name="when" checked={schedule.kind === 'at'} onChange={() => pickKind('at')} />
          At a time
        </label>
        {schedule.kind === 'at' && (
          <label className="indent">
            Start at
            <input
              type="datetime-local"
              value={schedule.at}
              required
              onChange={(e) => setSchedule({ at: e.target.value })}
            />
          </label>
        )}
        <label className="inline">
          <input
            type="radio"
            name="when"
            checked={schedule.kind === 'window'}
            onChange={() => pickKind('window')}
          />
          In a maintenance window
        </label>
        {schedule.kind === 'window' && (
          <div className="row indent">
            <label>
              Window starts
              <input
                type="datetime-local"
                value={schedule.start}
                required
                onChange={(e) => setSchedule({ start: e.target.value })}
              />
            </label>
            <label>
              Window ends
              <input
                type="datetime-local"
                value={schedule.end}
                required
                onChange={(e) => setSchedule({ end: e.target.value })}
              />
            </label>
          </div>
        )}
        {schedule.kind !== 'now' && (
          <p className="muted small">
            Patchdeck (the app or <span className="mono">patchdeck serve</span>) must be running then. A time
            or window missed while it was closed is reported, never run late.
          </p>
        )}
      </fieldset>
      {replan && (
        <p className="warning small">
          The reboot policy and failure handling are part of the plan you approve: the dry run runs again with
          them, and you review it again only if it changed.
        </p>
      )}
      <div className="form-actions">
        <button type="submit" disabled={Boolean(busy)}>
          Next: confirm
        </button>
        <button type="button" className="secondary" onClick={() => back('review')}>
          Back
        </button>
      </div>
    </form>
  );
}

function ConfirmStep({ onDone }: { onDone: (jobId: number) => void }) {
  const steps = useWizard((s) => s.steps);
  const job = useWizard((s) => s.job);
  const schedule = useWizard((s) => s.schedule);
  const busy = useWizard((s) => s.busy);
  const operator = useApp((s) => s.settings?.operatorName ?? 'admin');
  const { confirm, back } = useWizard.getState();
  const ready = steps.filter((s) => s.status === 'queued');
  const left = steps.filter((s) => s.status !== 'queued');
  const unlisted = unlistedHosts(steps);
  const upgrades = ready.reduce((n, s) => n + s.packages.length, 0);
  const newPackages = ready.flatMap((s) =>
    (s.preview?.newPackages ?? []).map((p) => `${p.name} (${s.hostName})`),
  );
  const removals = ready.flatMap((s) => (s.preview?.removals ?? []).map((p) => `${p.name} (${s.hostName})`));
  const when =
    schedule.kind === 'now'
      ? 'now'
      : schedule.kind === 'at'
        ? `at ${formatTime(new Date(schedule.at).toISOString())}`
        : `inside the window ${formatTime(new Date(schedule.start).toISOString())} – ${formatTime(new Date(schedule.end).toISOString())}`;
  return (
    <div className="wizard-body">
      <dl className="facts confirm-facts">
        <dt>Job</dt>
        <dd>{job?.name}</dd>
        <dt>Hosts to patch</dt>
        <dd>
          {plural(ready.length, 'host')}: {ready.map((s) => s.hostName).join(', ')}
        </dd>
        {left.length > 0 && (
          <>
            <dt>Left out</dt>
            <dd>
              {left
                .map((s) => `${s.hostName} (${s.status === 'skipped' ? 'nothing to patch' : s.status})`)
                .join(', ')}
            </dd>
          </>
        )}
        <dt>Updates</dt>
        <dd>{plural(upgrades, 'package update')}</dd>
        <dt>New dependencies</dt>
        <dd>{newPackages.length ? newPackages.join(', ') : 'none'}</dd>
        <dt>Removals</dt>
        <dd className={removals.length ? 'error' : undefined}>
          {removals.length ? removals.join(', ') : 'none'}
        </dd>
        <dt>Reboot</dt>
        <dd>{REBOOT.find((r) => r.id === job?.rebootPolicy)?.label ?? job?.rebootPolicy}</dd>
        <dt>If a host fails</dt>
        <dd>{job?.onFailure === 'stop' ? 'stop the job' : 'carry on with the other hosts'}</dd>
        <dt>When</dt>
        <dd>{when}</dd>
        <dt>Approved by</dt>
        <dd>{operator} (recorded in the audit log with the exact plan)</dd>
      </dl>
      <div className="form-actions">
        <button
          type="button"
          disabled={Boolean(busy) || unlisted.length > 0}
          onClick={() =>
            void confirm().then((id) => {
              if (id !== null) onDone(id);
            })
          }
        >
          {schedule.kind === 'now' ? 'Approve and start' : 'Approve and schedule'}
        </button>
        <button type="button" className="secondary" onClick={() => back('schedule')}>
          Back
        </button>
      </div>
    </div>
  );
}

export function PatchWizard({ onDone }: { onDone: (jobId: number) => void }) {
  const step = useWizard((s) => s.step);
  const error = useWizard((s) => s.error);
  const notice = useWizard((s) => s.notice);
  const busy = useWizard((s) => s.busy);
  const close = useWizard((s) => s.close);
  const index = STEPS.findIndex((s) => s.id === step);
  return (
    <section className="wizard" aria-label="New patch job">
      <header className="wizard-head">
        <h2>New patch job</h2>
        {step !== 'select' && (
          <button type="button" className="secondary" onClick={() => void close()}>
            Discard
          </button>
        )}
      </header>
      <ol className="wizard-steps">
        {STEPS.map((s, i) => (
          <li
            key={s.id}
            aria-current={s.id === step ? 'step' : undefined}
            className={i < index ? 'done' : undefined}
          >
            <span className="wizard-number">{i + 1}</span> {s.label}
          </li>
        ))}
      </ol>
      {error && (
        <p role="alert" className="error banner">
          {error}
        </p>
      )}
      {notice && (
        <p role="status" className="warning">
          {notice}
        </p>
      )}
      {busy && (
        <p role="status" className="muted">
          {busy}
        </p>
      )}
      {step === 'select' && <SelectStep />}
      {step === 'review' && <ReviewStep />}
      {step === 'schedule' && <ScheduleStep />}
      {step === 'confirm' && <ConfirmStep onDone={onDone} />}
    </section>
  );
}
