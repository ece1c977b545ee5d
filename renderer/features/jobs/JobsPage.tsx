import { useEffect } from 'react';
import type { PatchJob } from '../../../src/api/schemas';
import { EmptyState } from '../../components/EmptyState';
import { formatTime } from '../../components/format';
import { JobDetail, StatusBadge } from './JobDetail';
import { countsText, tone } from './model';
import { jobOutcome } from './outcome';
import { useJobs } from './store';
import { PatchWizard, useWizard, wizardIsOpen } from './wizard';
import './jobs.css';

/** The badge, and for a finished job how its hosts went: a job with failed hosts reads as failed. */
function JobStatus({ job }: { job: PatchJob }) {
  const outcome = jobOutcome(job);
  if (!outcome) return <StatusBadge status={job.status} />;
  return (
    <>
      <span className={`badge status-${tone(outcome.status)}`} data-outcome={outcome.label}>
        {outcome.label}
      </span>
      <div className={`small ${tone(outcome.status) === 'danger' ? 'error' : 'muted'}`}>
        {outcome.summary}
      </div>
    </>
  );
}

function JobList() {
  const jobs = useJobs((s) => s.jobs);
  const selectedId = useJobs((s) => s.selectedId);
  const select = useJobs((s) => s.select);
  return (
    <table className="grid compact job-list" aria-label="Patch jobs">
      <thead>
        <tr>
          <th>Job</th>
          <th>Status</th>
          <th>Hosts</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.id} aria-current={job.id === selectedId ? 'true' : undefined} data-job-id={job.id}>
            <td>
              <button type="button" className="link" onClick={() => void select(job.id)}>
                #{job.id} {job.name}
              </button>
              <div className="muted small">
                {job.status === 'scheduled'
                  ? `starts ${formatTime(job.windowStart ?? job.scheduledAt)}`
                  : formatTime(job.startedAt ?? job.createdAt)}
              </div>
            </td>
            <td>
              <JobStatus job={job} />
            </td>
            <td className="small">{countsText(job.counts) || '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function JobsPage() {
  const load = useJobs((s) => s.load);
  const loaded = useJobs((s) => s.loaded);
  const jobs = useJobs((s) => s.jobs);
  const error = useJobs((s) => s.error);
  const selectedId = useJobs((s) => s.selectedId);
  const select = useJobs((s) => s.select);
  const wizardOpen = useWizard(wizardIsOpen);
  const startWizard = useWizard((s) => s.start);
  useEffect(() => {
    void load();
    // Reopening the page shows the job that was open, fresh.
    const id = useJobs.getState().selectedId;
    if (id !== null) void select(id);
  }, [load, select]);

  if (wizardOpen)
    return (
      <div className="page jobs-page">
        <h1>Patch jobs</h1>
        <PatchWizard
          onDone={(id) => {
            void load();
            void select(id);
          }}
        />
      </div>
    );

  return (
    <div className="page jobs-page">
      <div className="page-head">
        <h1>Patch jobs</h1>
        <button type="button" onClick={() => void startWizard()}>
          New patch job
        </button>
      </div>
      {error && (
        <p role="alert" className="error banner">
          {error}
        </p>
      )}
      {loaded && jobs.length === 0 ? (
        <EmptyState title="No patch jobs">
          <p>
            Start one with <strong>New patch job</strong>: pick hosts and updates, review each host&apos;s dry
            run, choose when and how to reboot, and approve. Each host then shows its progress, live log, the
            re-audit that proves it is fixed, and an undo recipe.
          </p>
        </EmptyState>
      ) : (
        <div className="jobs-layout">
          <JobList />
          {selectedId !== null ? (
            <JobDetail />
          ) : (
            <p className="muted">Choose a job to see its hosts, log and undo recipes.</p>
          )}
        </div>
      )}
    </div>
  );
}
