export { TaskRunner, TaskCancelledError, throwIfCancelled, type TaskContext } from './runner';
export {
  deriveOutcome,
  describeTask,
  summarizeParts,
  taskSummary,
  type TaskConclusion,
  type TaskEnding,
  type TaskParts,
} from './outcome';
