export { TaskRunner, TaskCancelledError, throwIfCancelled, type TaskContext } from './runner';
export {
  deriveOutcome,
  summarizeParts,
  taskSummary,
  type TaskConclusion,
  type TaskEnding,
  type TaskParts,
} from './outcome';
