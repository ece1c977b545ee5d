import { useEffect } from 'react';
import type { Task } from '../../src/api/schemas';
import { useTasks } from '../stores/tasks';
// Browser mode shows the core's notifications when work finishes (Settings → Notifications).
import '../stores/notifications';
import { isFinished, outcomeText, outcomeTone, outcomeWord } from './task-outcome';
import './task-outcome.css';

/** A finished task in one line: its title, then its outcome and how its parts went. */
function FinishedTask({ task }: { task: Task }) {
  const tone = outcomeTone(task);
  const text = outcomeText(task);
  const word = outcomeWord(task);
  return (
    <span
      className={`task-outcome outcome-${tone}`}
      data-finished-task-id={task.id}
      data-outcome={task.outcome ?? task.status}
    >
      {task.title} — <strong className="outcome-word">{word}</strong>
      {text.slice(word.length)}
    </span>
  );
}

/**
 * Running tasks with progress bars and a cancel button, always visible at the bottom; when none
 * runs, the last one's outcome (a failure reads as one) and the recent ones.
 */
export function StatusArea() {
  const tasks = useTasks((s) => s.tasks);
  const cancel = useTasks((s) => s.cancel);
  const load = useTasks((s) => s.load);
  useEffect(() => {
    void load();
  }, [load]);
  const running = tasks.filter((t) => !isFinished(t));
  const finished = tasks.filter(isFinished);
  const recent = finished[0];
  return (
    <footer className="status-area" aria-label="Tasks" aria-live="polite">
      {running.length === 0 ? (
        <div className="status-line">
          {recent ? (
            <span data-testid="last-task">
              Last: <FinishedTask task={recent} />
            </span>
          ) : (
            <span className="muted">No task running.</span>
          )}
          {finished.length > 1 && (
            <details className="recent-tasks">
              <summary>Recent tasks</summary>
              <ul className="task-list" aria-label="Recent tasks">
                {finished.slice(0, 10).map((task) => (
                  <li key={task.id}>
                    <FinishedTask task={task} />
                  </li>
                ))}
              </ul>
            </details>
          )}
        </div>
      ) : (
        <ul className="task-list">
          {running.map((task) => {
            const pct = task.progressTotal
              ? Math.round((100 * task.progressDone) / task.progressTotal)
              : null;
            return (
              <li key={task.id} className="task" data-task-id={task.id}>
                <span className="task-title">{task.title}</span>
                <progress
                  max={task.progressTotal ?? undefined}
                  value={task.progressTotal ? task.progressDone : undefined}
                  aria-label={`${task.title} progress`}
                />
                <span className="task-progress">
                  {pct !== null ? `${task.progressDone}/${task.progressTotal}` : '…'}
                  {task.message ? ` · ${task.message}` : ''}
                </span>
                <button type="button" onClick={() => void cancel(task.id)}>
                  Cancel
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </footer>
  );
}
