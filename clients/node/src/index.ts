// herald-client: a BullMQ-shaped Queue and Worker for Herald.

export {BulkAddError, UnrecoverableError} from './errors.js';
export {Job} from './job.js';
export type {JobFields, JobScope} from './job.js';
export {Queue} from './queue.js';
export {Worker} from './worker.js';
export type {Processor, WorkerEvents} from './worker.js';
export type {
  BackoffOptions,
  BackoffType,
  ConnectionOptions,
  HeraldEvent,
  JobAttempt,
  JobCounts,
  JobsOptions,
  JobState,
  JobType,
  QueueOptions,
  WorkerOptions,
} from './types.js';
