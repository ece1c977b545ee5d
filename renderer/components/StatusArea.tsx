import { useEffect } from 'react';
import { useTasks } from '../stores/tasks';

/** Running tasks with progress bars and a cancel button, always visible at the bottom. */
export function StatusArea() {
  const tasks = useTasks((s) => s.tasks);
  const cancel = useTasks((s) => s.cancel);
  const load = useTasks((s) => s.load);
  useEffect(() => {
    void load();
  }, [load]);
  const running = tasks.filter((t) => t.status === 'running' || t.status === 'queued');
  const recent = tasks.find((t) => t.status !== 'running' && t.status !== 'queued');
  return (
    <footer className="status-area" aria-label="Tasks" aria-live="polite">
      {running.length === 0 ? (
        <span className="muted">
          No task running.{recent ? ` Last: ${recent.title} — ${recent.status}.` : ''}
        </span>
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
