// Options and shapes shared by Queue, Worker and Job. Names follow BullMQ's where the meaning
// is the same.

import type {Redis, RedisOptions} from 'ioredis';

// ioredis options for a connection the client opens (and closes), or an ioredis instance.
// A Queue uses a given instance as it is and leaves it open; a Worker opens duplicates of it
// (one per concurrency slot) and closes those. Default: {host: '127.0.0.1', port: 6380},
// Herald's default RESP address.
export type ConnectionOptions = RedisOptions | Redis;

export type BackoffType = 'fixed' | 'exponential';

export interface BackoffOptions {
  // fixed waits `delay` before every retry; exponential waits delay, 2*delay, 4*delay, ...
  type: BackoffType;
  // Milliseconds. Default: 0.
  delay?: number;
}

export interface JobsOptions {
  // Attempts in all, the first included. Default: the queue's policy on the server (1 for a
  // queue the config does not name, as BullMQ's default).
  attempts?: number;
  // A number is a fixed delay in ms, as in BullMQ. Default: the queue's policy on the server
  // (none, retry at once, for a queue the config does not name).
  backoff?: number | BackoffOptions;
  // Milliseconds before the job may run. Default: 0.
  delay?: number;
  // 0 (the default) runs first, then 1, 2, ... up to 2097152; FIFO within a priority. The same
  // order as BullMQ's, where a job without priority runs before any prioritized one.
  priority?: number;
  // Adding a jobId that exists adds nothing and returns the existing id.
  jobId?: string;
}

export interface QueueOptions {
  connection?: ConnectionOptions;
  // Merged under each add()'s options.
  defaultJobOptions?: JobsOptions;
}

export interface WorkerOptions {
  connection?: ConnectionOptions;
  // Jobs processed at once; each has its own connection. Default: 1.
  concurrency?: number;
  // Lease of a taken job in ms (1000 to 86400000), renewed at half of it while the processor
  // runs. A job whose lease runs out (a killed process) is delivered again. BullMQ's
  // lockDuration. Default: 30000.
  lease?: number;
  // BullMQ's name for `lease`, used when `lease` is not given.
  lockDuration?: number;
  // Start taking jobs from the constructor; otherwise call run(). Default: true.
  autorun?: boolean;
  // Seconds a take blocks on an empty queue before it is sent again. Default: 5.
  drainDelay?: number;
  // How long close() waits for running processors, in ms. A job still running then is left
  // to its lease and delivered again. Default: 30000.
  closeTimeout?: number;
  // The connection name (CLIENT SETNAME) that a job's attempt history records as its worker.
  // Default: "<hostname>:<pid>".
  name?: string;
}

// Herald's job states. BullMQ's `prioritized` jobs are `waiting` here.
export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed';

// What getJobCounts and getJobs accept: Herald's states and BullMQ's names for them. `wait` is
// `waiting`; `paused` is the waiting jobs of a paused queue; `prioritized` and
// `waiting-children` are always empty.
export type JobType = JobState | 'wait' | 'paused' | 'prioritized' | 'waiting-children';

export type JobCounts = Partial<Record<Exclude<JobType, 'wait'>, number>>;

// One attempt in a job's history (SHOW's `history`), oldest first.
export interface JobAttempt {
  startedOn: number;
  // 0 while it runs.
  endedOn: number;
  outcome: 'running' | 'completed' | 'retrying' | 'failed' | 'stalled';
  error: string;
  // "name@addr" of the connection that took it, or "local:N" for the broker's own workers.
  worker: string;
  // For a retrying attempt: the backoff and when the next attempt is due; 0 otherwise.
  backoffMs: number;
  nextDueOn: number;
}

// An event for Queue.emit: routed by its eventType to a queue by the server's configuration;
// its eventId becomes the job id.
export interface HeraldEvent {
  eventType: string;
  eventId: string;
  timestamp: string;
  // The fields the event type's contract requires ([events.*] required in the config).
  data: object;
}
