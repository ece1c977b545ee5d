export { TaskRunner, TaskCancelledError, throwIfCancelled, type TaskContext } from './runner';
export {
  deriveOutcome,
  describeTask,
  outcomeWord,
  summarizeParts,
  taskSummary,
  type TaskConclusion,
  type TaskEnding,
  type TaskParts,
} from './outcome';
