import { useState } from 'react';
import type { Audit, Host, PatchJob } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { formatTime } from '../../components/format';
import { useApp } from '../../stores/app';
import { useJobs } from '../jobs/store';
import { isoToLocal, localToIso } from '../jobs/model';

/**
 * Reboot now / at a time, for a host whose newest audit says it needs a reboot, outside any patch
 * job. Either way it becomes a job of its own (reboot, then a re-audit), listed on the Patch jobs
 * page; a reboot at a time is started by the same scheduler as maintenance windows.
 */
export function RebootHost({ host, audit }: { host: Host; audit: Audit | undefined }) {
  const [confirming, setConfirming] = useState(false);
  const [later, setLater] = useState(false);
  const [at, setAt] = useState(() => isoToLocal(new Date(Date.now() + 3_600_000)));
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<PatchJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!audit?.rebootRequired && !job) return null;

  const reboot = async (when?: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setJob(await api.hosts.reboot({ hostIds: [host.id], ...(when ? { at: when } : {}) }));
      setConfirming(false);
      setLater(false);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const openJob = (): void => {
    if (!job) return;
    useApp.getState().navigate('jobs');
    void useJobs.getState().select(job.id);
  };
  const when = localToIso(at);

  return (
    <section className="reboot-host card" aria-label="Reboot">
      {audit?.rebootRequired && (
        <p className="warning">
          {host.name} needs a reboot to finish its updates (audit of {formatTime(audit.startedAt)}).
        </p>
      )}
      {job ? (
        <p role="status" className="ok">
          {job.status === 'scheduled'
            ? `Reboot scheduled for ${formatTime(job.scheduledAt)} (job ${job.id}). It starts while Patchdeck is open then; a re-audit follows.`
            : `Rebooting (job ${job.id}); a re-audit follows.`}{' '}
          <button type="button" className="link" onClick={openJob}>
            Open the job
          </button>
        </p>
      ) : confirming ? (
        <div className="row" role="group" aria-label="Confirm reboot">
          <span>Reboot {host.name} now? Its services stop until it is back.</span>
          <button type="button" className="danger" disabled={busy} onClick={() => void reboot()}>
            {busy ? 'Starting…' : `Yes, reboot ${host.name}`}
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Keep it running
          </button>
        </div>
      ) : later ? (
        <div className="row" role="group" aria-label="Reboot at a time">
          <label className="inline">
            Reboot at
            <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
          </label>
          <button
            type="button"
            disabled={busy || !when || Date.parse(when) <= Date.now()}
            onClick={() => when && void reboot(when)}
          >
            {busy ? 'Scheduling…' : 'Schedule reboot'}
          </button>
          <button type="button" className="secondary" onClick={() => setLater(false)}>
            Back
          </button>
        </div>
      ) : (
        <div className="row">
          <button type="button" onClick={() => setConfirming(true)}>
            Reboot now
          </button>
          <button type="button" className="secondary" onClick={() => setLater(true)}>
            Reboot at…
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
