import { useEffect, useMemo, useRef, useState } from 'react';
import { windowAdvice } from '../../components/advice';
import type { JobLogLine, JobStep, PatchJob } from '../../../src/api/schemas';
import { formatTime, plural } from '../../components/format';
import {
  PHASES,
  countsText,
  isSettled,
  jobActions,
  phaseLabel,
  statusLabel,
  stepProgress,
  tone,
  versionChanges,
  waitsForReboot,
} from './model';
import { isWindowsStep } from './wizard/windows';
import { jobOutcome } from './outcome';
import { LOG_KEEP, useJobs } from './store';

/** Lines rendered at once; the rest of what is held is a scroll away in the workspace's log. */
const LOG_SHOWN = 2000;

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${tone(status)}`}>{statusLabel(status)}</span>;
}

function selectionText(job: PatchJob): string {
  if (job.selection.mode === 'security') return 'security updates only';
  if (job.selection.mode === 'packages')
    return `chosen packages: ${(job.selection.packages ?? []).join(', ')}`;
  return 'all pending updates';
}

function HostProgress({ step }: { step: JobStep }) {
  const value = stepProgress(step);
  const label =
    step.status === 'queued'
      ? 'waiting'
      : step.status === 'running'
        ? phaseLabel(step.phase)
        : step.status === 'succeeded'
          ? 'done, verified'
          : step.status === 'reboot-pending'
            ? 'installed, verified; waits for a reboot'
            : `${step.status}${step.phase && step.phase !== 'planned' ? ` during ${phaseLabel(step.phase)}` : ''}`;
  return (
    <div className="host-progress">
      <div
        className={`bar bar-${tone(step.status)}`}
        role="progressbar"
        aria-label={`${step.hostName} progress`}
        aria-valuemin={0}
        aria-valuemax={PHASES.length}
        aria-valuenow={value}
        aria-valuetext={label}
      >
        <div className="bar-fill" style={{ width: `${(100 * value) / PHASES.length}%` }} />
      </div>
      <span className="small muted">{label}</span>
    </div>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="secondary small-button"
      aria-label={label}
      onClick={() =>
        void navigator.clipboard
          ?.writeText(text)
          .then(() => setCopied(true))
          .catch(() => setCopied(false))
      }
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

function HostStep({
  step,
  onShowLog,
  onReboot,
}: {
  step: JobStep;
  onShowLog: (stepId: number) => void;
  /** Null when the job cannot reboot its hosts now (running, or another action under way). */
  onReboot: ((hostId: number) => void) | null;
}) {
  const changes = versionChanges(step);
  const planned = step.packages;
  const windows = isWindowsStep(step);
  const what = windows ? 'Windows update' : 'package';
  return (
    <li className={`host-step host-${tone(step.status)}`} data-step-id={step.id} aria-label={step.hostName}>
      <div className="host-step-head">
        <strong className="host-name">{step.hostName}</strong>
        <StatusBadge status={step.status} />
        <HostProgress step={step} />
        <button type="button" className="link" onClick={() => onShowLog(step.id)}>
          Log
        </button>
        {waitsForReboot(step) && onReboot && (
          <button
            type="button"
            className="small-button"
            aria-label={`Reboot ${step.hostName} now`}
            onClick={() => onReboot(step.hostId)}
          >
            Reboot now
          </button>
        )}
      </div>
      {step.status === 'reboot-pending' && (
        <p className="warning small">
          {step.verifyAuditId !== null ? `Verified by re-audit #${step.verifyAuditId}: ` : ''}
          the updates are installed; the host needs a reboot to finish them.
        </p>
      )}
      {step.errorMessage && step.status !== 'succeeded' && step.status !== 'reboot-pending' && (
        <p className={step.status === 'failed' || step.status === 'interrupted' ? 'error' : 'muted'}>
          {step.errorKind && step.errorKind !== step.status && (
            <span className="mono small">{step.errorKind}: </span>
          )}
          {step.errorMessage}
          {windowAdvice(step.errorKind) && <span className="advice"> {windowAdvice(step.errorKind)}</span>}
        </p>
      )}
      {step.status === 'succeeded' && step.verifyAuditId !== null && (
        <p className="ok small">Verified by re-audit #{step.verifyAuditId}: the targeted updates are gone.</p>
      )}
      <details open={step.status === 'failed' || undefined}>
        <summary>
          {changes.length
            ? `${windows ? 'Before → after' : 'Versions before → after'} (${plural(changes.length, what)})`
            : `Planned: ${plural(planned.length, what)}`}
          {step.undoRecipe ? ' · undo recipe' : ''}
        </summary>
        {changes.length > 0 ? (
          <table className="grid compact" aria-label={`Versions on ${step.hostName}`}>
            <thead>
              <tr>
                <th>{windows ? 'KB' : 'Package'}</th>
                <th>Before</th>
                <th>After</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.name} className={c.before === c.after ? 'unchanged' : undefined}>
                  <td className="mono">{c.name}</td>
                  <td className="mono small">{c.before ?? 'not installed'}</td>
                  <td className="mono small">
                    {c.after === undefined ? (
                      <span className="muted" title="The run stopped before the after-snapshot">
                        not recorded
                      </span>
                    ) : (
                      (c.after ?? 'removed')
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : planned.length > 0 ? (
          <ul className="small planned">
            {planned.map((p) => (
              <li key={p.name}>
                <span className="mono">{p.name}</span>{' '}
                {windows ? (
                  <span className="muted">UpdateID {p.to}</span>
                ) : (
                  <>
                    {p.from ?? '?'} → {p.to}
                  </>
                )}
                {p.security && <span className="badge security">security</span>}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted small">Nothing targeted on this host.</p>
        )}
        {step.undoRecipe && (
          <div className="undo">
            <div className="undo-head">
              <strong>Undo recipe</strong>
              <span className="muted small">shown for you to run if needed — Patchdeck never runs it</span>
              <CopyButton text={step.undoRecipe} label={`Copy the undo recipe for ${step.hostName}`} />
            </div>
            <pre className="mono" aria-label={`Undo recipe for ${step.hostName}`}>
              {step.undoRecipe}
            </pre>
          </div>
        )}
      </details>
    </li>
  );
}

function JobLog({
  events,
  dropped,
  steps,
  stepFilter,
  setStepFilter,
}: {
  events: JobLogLine[];
  dropped: number;
  steps: JobStep[];
  stepFilter: number | null;
  setStepFilter: (id: number | null) => void;
}) {
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const hostOf = useMemo(() => new Map(steps.map((s) => [s.id, s.hostName])), [steps]);
  const filtered = stepFilter === null ? events : events.filter((e) => e.stepId === stepFilter);
  const shown = filtered.slice(-LOG_SHOWN);
  const last = shown.length ? shown[shown.length - 1]!.id : 0;
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [follow, last, stepFilter]);
  return (
    <section className="job-log" aria-label="Job log">
      <div className="toolbar">
        <h3>Log</h3>
        <label className="inline">
          Host
          <select
            aria-label="Show the log of"
            value={stepFilter ?? ''}
            onChange={(e) => setStepFilter(e.target.value ? Number(e.target.value) : null)}
          >
            <option value="">every host</option>
            {steps.map((s) => (
              <option key={s.id} value={s.id}>
                {s.hostName}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow new lines
        </label>
        <span className="muted small">
          {plural(filtered.length, 'line')}
          {filtered.length > shown.length || dropped > 0
            ? ` (showing the newest ${shown.length.toLocaleString('en')} of ${filtered.length.toLocaleString('en')}${dropped > 0 ? `; this page keeps the newest ${LOG_KEEP.toLocaleString('en')} lines only` : ''}; choose one host above to see its lines alone)`
            : ''}
        </span>
      </div>
      <div className="log-lines mono" ref={box} role="log" aria-label="Log lines" tabIndex={0}>
        {shown.length === 0 ? (
          <div className="muted">No log lines yet.</div>
        ) : (
          shown.map((e) => (
            <div key={e.id} className={`log-line log-${e.stream}`} data-event-id={e.id}>
              <span className="log-time">{new Date(e.at).toLocaleTimeString()}</span>
              <span className="log-host">{e.stepId !== null ? (hostOf.get(e.stepId) ?? '') : 'job'}</span>
              <span className="log-text">{e.text}</span>
            </div>
          ))
        )}
      </div>
    </section>
  );
}

export function JobDetail() {
  const detail = useJobs((s) => s.detail);
  const busy = useJobs((s) => s.busy);
  const notice = useJobs((s) => s.notice);
  const act = useJobs((s) => s.act);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [stepFilter, setStepFilter] = useState<number | null>(null);
  const jobId = detail?.job.id;
  useEffect(() => {
    setConfirmCancel(false);
    setStepFilter(null);
  }, [jobId]);
  if (!detail) return <p className="muted">Loading the job…</p>;
  const { job, steps, log: events } = detail;
  const actions = jobActions(job, steps);
  const settled = steps.filter(isSettled).length;
  const failed = steps.filter((s) => s.status === 'failed').length;
  const rebootable = steps.filter(waitsForReboot).length;
  return (
    <section className="job-detail" aria-label={`Job ${job.id}`}>
      <header className="detail-head">
        <h2>
          Job {job.id}: {job.name}
        </h2>
        {/* Patched hosts that still wait for their reboot: the job has not "succeeded" yet. */}
        <StatusBadge status={jobOutcome(job)?.status ?? job.status} />
      </header>
      {job.message && (
        <p className={job.status === 'failed' || job.status === 'interrupted' ? 'error' : 'muted'}>
          {job.message}
        </p>
      )}
      <dl className="facts">
        <dt>Updates</dt>
        <dd>{selectionText(job)}</dd>
        <dt>Reboot</dt>
        <dd>{job.rebootPolicy}</dd>
        <dt>If a host fails</dt>
        <dd>{job.onFailure === 'stop' ? 'stop the job' : 'carry on'}</dd>
        <dt>Approved</dt>
        <dd>{job.approvedBy ? `by ${job.approvedBy}, ${formatTime(job.approvedAt)}` : 'not yet'}</dd>
        {(job.windowStart || job.scheduledAt) && (
          <>
            <dt>Scheduled</dt>
            <dd>
              {job.windowStart
                ? `window ${formatTime(job.windowStart)} – ${formatTime(job.windowEnd)}`
                : formatTime(job.scheduledAt)}
            </dd>
          </>
        )}
        <dt>Started</dt>
        <dd>{formatTime(job.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(job.finishedAt)}</dd>
      </dl>

      <div className="job-actions form-actions">
        {actions.reboot && (
          <button type="button" disabled={busy !== null} onClick={() => void act('reboot')}>
            {busy === 'reboot' ? 'Rebooting…' : `Reboot now (${plural(rebootable, 'host')})`}
          </button>
        )}
        {actions.rerunFailed && (
          <button type="button" disabled={busy !== null} onClick={() => void act('rerunFailed')}>
            {busy === 'rerunFailed' ? 'Re-auditing the failed hosts…' : `Re-run failed hosts (${failed})`}
          </button>
        )}
        {actions.resume && (
          <button type="button" disabled={busy !== null} onClick={() => void act('resume')}>
            {busy === 'resume' ? 'Re-auditing the unfinished hosts…' : 'Resume'}
          </button>
        )}
        {actions.cancel && !confirmCancel && (
          <button
            type="button"
            className="danger"
            disabled={busy !== null}
            onClick={() => setConfirmCancel(true)}
          >
            Cancel job
          </button>
        )}
        {actions.cancel && confirmCancel && (
          <span className="confirm-cancel" role="group" aria-label="Confirm cancel">
            <span>
              {job.status === 'running'
                ? 'Each host finishes its current command safely; the rest are skipped.'
                : 'The job will not run.'}
            </span>
            <button
              type="button"
              className="danger"
              disabled={busy !== null}
              onClick={() => {
                setConfirmCancel(false);
                void act('cancel');
              }}
            >
              Yes, cancel job {job.id}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmCancel(false)}>
              Keep it
            </button>
          </span>
        )}
      </div>
      {notice && (
        <p role="status" className="ok">
          {notice}
        </p>
      )}

      <div className="job-progress">
        <span>
          {settled} of {plural(steps.length, 'host')} finished
          {Object.keys(job.counts).length > 0 && <span className="muted"> · {countsText(job.counts)}</span>}
        </span>
        <progress max={Math.max(1, steps.length)} value={settled} aria-label="Job progress" />
      </div>

      <ul className="host-steps" aria-label="Hosts in this job">
        {steps.map((s) => (
          <HostStep
            key={s.id}
            step={s}
            onShowLog={setStepFilter}
            onReboot={actions.reboot && busy === null ? (hostId) => void act('reboot', [hostId]) : null}
          />
        ))}
      </ul>

      <JobLog
        events={events}
        dropped={detail.droppedLog}
        steps={steps}
        stepFilter={stepFilter}
        setStepFilter={setStepFilter}
      />
    </section>
  );
}
