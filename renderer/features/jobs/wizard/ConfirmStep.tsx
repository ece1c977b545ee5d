import { plural } from '../../../components/format';
import { useApp } from '../../../stores/app';
import { rebootPolicyLabel } from './run-options';
import { draftJob, draftSteps, planSummary, unlistedHosts, whenText } from './selectors';
import { useWizard } from './store';
import { DEFAULT_RESTART_DELAY_SECONDS, restartNoticeText } from './windows';

/** Step 4: the exact plan, once more, and the approval. */
export function ConfirmStep({ onDone }: { onDone: (jobId: number) => void }) {
  const steps = useWizard(draftSteps);
  const job = useWizard(draftJob);
  const schedule = useWizard((s) => s.options.schedule);
  const busy = useWizard((s) => s.busy);
  const operator = useApp((s) => s.settings?.operatorName ?? 'admin');
  const { confirm, backToSchedule } = useWizard.getState();
  const { ready, left, upgrades, windowsUpdates, newPackages, removals } = planSummary(steps);
  const restartDelay = job?.options.windowsRestartDelaySeconds ?? DEFAULT_RESTART_DELAY_SECONDS;
  const unlisted = unlistedHosts(steps);
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
        <dd>
          {windowsUpdates === 0
            ? plural(upgrades, 'package update')
            : upgrades === 0
              ? plural(windowsUpdates, 'Windows update')
              : `${plural(upgrades, 'package update')} and ${plural(windowsUpdates, 'Windows update')}`}
        </dd>
        {(upgrades > 0 || windowsUpdates === 0) && (
          <>
            <dt>New dependencies</dt>
            <dd>{newPackages.length ? newPackages.join(', ') : 'none'}</dd>
            <dt>Removals</dt>
            <dd className={removals.length ? 'error' : undefined}>
              {removals.length ? removals.join(', ') : 'none'}
            </dd>
          </>
        )}
        <dt>Reboot</dt>
        <dd>
          {rebootPolicyLabel(job?.rebootPolicy)}
          {windowsUpdates > 0 && job?.rebootPolicy !== 'never' && (
            <div className="small muted" data-testid="confirm-windows-restart">
              Windows PCs: {restartNoticeText(restartDelay)}
            </div>
          )}
        </dd>
        <dt>If a host fails</dt>
        <dd>{job?.onFailure === 'stop' ? 'stop the job' : 'carry on with the other hosts'}</dd>
        <dt>When</dt>
        <dd>{whenText(schedule)}</dd>
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
        <button type="button" className="secondary" onClick={backToSchedule}>
          Back
        </button>
      </div>
    </div>
  );
}
