export { TaskRunner, TaskCancelledError, throwIfCancelled, type TaskContext } from './runner';
