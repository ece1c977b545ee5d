export { TaskRunner, TaskCancelledError, throwIfCancelled, type TaskContext } from './runner';
export {
  deriveOutcome,
  describeTask,
  outcomeText,
  outcomeTone,
  outcomeWord,
  summarizeParts,
  taskSummary,
  type TaskConclusion,
  type TaskEnding,
  type TaskParts,
} from './outcome';
