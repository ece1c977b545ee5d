import { Banner } from './Banner';
import { ConfirmStep } from './ConfirmStep';
import { ReviewStep } from './ReviewStep';
import { ScheduleStep } from './ScheduleStep';
import { SelectStep } from './SelectStep';
import { reviewLabel } from './selectors';
import { useWizard } from './store';
import type { WizardStep } from './types';

const STEPS: { id: WizardStep; label: string }[] = [
  { id: 'select', label: 'Select' },
  { id: 'review', label: 'Review dry run' },
  { id: 'schedule', label: 'Schedule and reboot' },
  { id: 'confirm', label: 'Confirm' },
];

/** The patch wizard: its head, where it is, what it says, and the step on screen (one file each). */
export function PatchWizard({ onDone }: { onDone: (jobId: number) => void }) {
  const step = useWizard((s) => s.flow.step);
  const error = useWizard((s) => s.error);
  const notice = useWizard((s) => s.notice);
  const busy = useWizard((s) => s.busy);
  const close = useWizard((s) => s.close);
  const index = STEPS.findIndex((s) => s.id === step);
  const review = useWizard(reviewLabel);
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
            <span className="wizard-number">{i + 1}</span> {s.id === 'review' ? review : s.label}
          </li>
        ))}
      </ol>
      <Banner tone="error" role="alert" wide>
        {error}
      </Banner>
      <Banner tone="warning" role="status">
        {notice}
      </Banner>
      <Banner tone="muted" role="status">
        {busy}
      </Banner>
      {step === 'select' && <SelectStep />}
      {step === 'review' && <ReviewStep />}
      {step === 'schedule' && <ScheduleStep />}
      {step === 'confirm' && <ConfirmStep onDone={onDone} />}
    </section>
  );
}
