import { plural } from '../../../components/format';
import { Banner } from './Banner';
import { HostPreview } from './HostPreview';
import { draftSteps, dryRunProgress } from './selectors';
import { useWizard } from './store';
import { isWindowsStep } from './windows';

/** Step 2: each host's dry run, as its result arrives. */
export function ReviewStep() {
  const steps = useWizard(draftSteps);
  const busy = useWizard((s) => s.busy);
  const { backToSelect, toSchedule } = useWizard.getState();
  const { done, finished, ready, unlisted } = dryRunProgress(steps);
  const windows = steps.filter(isWindowsStep).length;
  const others = steps.length - windows;
  return (
    <div className="wizard-body">
      <div className="dry-run-progress">
        <span>
          {others === 0 && windows > 0 ? 'Planned' : 'Dry run'}: {done} of {plural(steps.length, 'host')}
          {finished && ` · ${ready.length} will change`}
        </span>
        <progress max={Math.max(1, steps.length)} value={done} aria-label="Dry run progress" />
      </div>
      {others > 0 && (
        <Banner tone="muted" small>
          Nothing has been installed: each host only simulated the install. New dependencies and removals are
          shown so you approve exactly what will change.
        </Banner>
      )}
      {windows > 0 && (
        <Banner tone="muted" small testId="windows-review-note">
          Nothing has been installed. Windows Update has no dry run: a Windows PC&apos;s list is the updates
          its newest audit found, each named by the UpdateID that will be installed — exactly these, nothing
          else. When the job runs, Patchdeck first checks the PC again (free space, a pending restart, updates
          already installed) before anything is downloaded.
        </Banner>
      )}
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
          <Banner tone="warning" role="status" inline>
            The dry run on {unlisted.map((s) => s.hostName).join(', ')} does not list what would change, so
            this job cannot be approved. Go back and leave{' '}
            {unlisted.length === 1 ? 'that host' : 'those hosts'} out.
          </Banner>
        )}
        {finished && unlisted.length === 0 && ready.length === 0 && (
          <Banner tone="warning" inline>
            No host has anything to install; go back and choose again.
          </Banner>
        )}
      </div>
    </div>
  );
}
