import { useEffect } from 'react';
import { useApp } from '../../stores/app';
import { useHosts } from '../hosts/store';
import { checklistSteps, useChecklist, type StepState } from './checklist';

const STATE_LABEL: Record<StepState, string> = {
  done: 'done',
  next: 'next',
  todo: 'to do',
  blocked: 'blocked',
};

/**
 * Getting started, on the dashboard: each step with its state from the workspace and one button
 * to the page that does it. Once every step is done it folds into one line that still opens.
 */
export function FirstRunChecklist() {
  const hosts = useHosts((s) => s.hosts);
  const latest = useHosts((s) => s.latest);
  const credentials = useChecklist((s) => s.credentials);
  const jobs = useChecklist((s) => s.jobs);
  const loaded = useChecklist((s) => s.loaded);
  const error = useChecklist((s) => s.error);
  const load = useChecklist((s) => s.load);
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    void load();
  }, [load]);
  if (!loaded)
    return error ? (
      <p role="alert" className="error">
        {error}
      </p>
    ) : null;
  const steps = checklistSteps({ hosts, credentials, latest: [...latest.values()], jobs });
  const done = steps.filter((s) => s.state === 'done').length;
  const complete = done === steps.length;
  return (
    <details className="checklist" open={!complete} aria-label="Getting started">
      <summary>
        <strong>Getting started</strong>{' '}
        <span className="muted" data-testid="checklist-progress">
          {complete ? `all ${steps.length} steps done` : `${done} of ${steps.length} steps done`}
        </span>
      </summary>
      <ol>
        {steps.map((step) => (
          <li key={step.id} data-step={step.id} data-state={step.state} className={`step step-${step.state}`}>
            <span className={`badge step-badge step-badge-${step.state}`}>{STATE_LABEL[step.state]}</span>
            <div className="step-text">
              <strong>{step.title}</strong>
              <div className="small muted">{step.detail}</div>
            </div>
            {step.action && (
              <button
                type="button"
                className={step.state === 'next' ? undefined : 'secondary'}
                onClick={() => navigate(step.action!.page, step.action!.anchor)}
              >
                {step.action.label}
              </button>
            )}
          </li>
        ))}
      </ol>
    </details>
  );
}
