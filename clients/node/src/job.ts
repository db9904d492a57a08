// Job: one job as BullMQ's Job presents it, read from Herald's SHOW, from a GETJOB entry, or
// made by Queue.add.

import type {Redis} from 'ioredis';

import {asNumber, asString, parseJsonOr, toRecord} from './connection.js';
import type {BackoffType, JobAttempt, JobsOptions, JobState} from './types.js';

// Where a job's methods send their commands. `client` is called at each use, so a Worker can
// open that connection only when a processor first needs it.
export interface JobScope {
  queueName: string;
  client(): Redis;
}

// The fields a job is made from, in BullMQ's terms.
export interface JobFields<DataType, ReturnType> {
  id: string;
  name: string;
  data: DataType;
  opts?: JobsOptions;
  attemptsMade?: number;
  timestamp?: number;
  processedOn?: number;
  finishedOn?: number;
  failedReason?: string;
  returnvalue?: ReturnType | null;
  history?: JobAttempt[];
}

const kStates: ReadonlySet<string> = new Set(['waiting', 'active', 'delayed', 'completed', 'failed']);

export class Job<DataType = any, ReturnType = any> {
  readonly id: string;
  readonly queueName: string;
  name: string;
  data: DataType;
  // attempts and backoff as the server holds them (for a job read with getJob or getJobs), or
  // as given to add(). Empty for a job handed to a processor: a take does not carry them.
  opts: JobsOptions;
  // Attempts that have ended, as BullMQ counts them: 0 while the first one runs. Herald counts
  // an attempt whose lease expired (a stalled one) too.
  attemptsMade: number;
  // When it was added (ms since the epoch); 0 for a job handed to a processor.
  timestamp: number;
  // When its last attempt started; for a job handed to a processor, when the processor started.
  processedOn?: number;
  finishedOn?: number;
  // The error of its last failed attempt.
  failedReason?: string;
  // The processor's return value, JSON-parsed; null when there is none (yet).
  returnvalue: ReturnType | null;
  // Herald's record of its last 25 attempts, oldest first (getJob and getJobs only).
  history: JobAttempt[];

  readonly #scope: JobScope;

  constructor(scope: JobScope, fields: JobFields<DataType, ReturnType>) {
    this.#scope = scope;
    this.queueName = scope.queueName;
    this.id = fields.id;
    this.name = fields.name;
    this.data = fields.data;
    this.opts = fields.opts ?? {};
    this.attemptsMade = fields.attemptsMade ?? 0;
    this.timestamp = fields.timestamp ?? 0;
    this.processedOn = fields.processedOn;
    this.finishedOn = fields.finishedOn;
    this.failedReason = fields.failedReason;
    this.returnvalue = fields.returnvalue ?? null;
    this.history = fields.history ?? [];
  }

  // From SHOW's reply (a map). Times of 0 (not yet) become undefined, as BullMQ leaves them.
  static fromShow<D = any, R = any>(scope: JobScope, reply: unknown): Job<D, R> {
    const record = toRecord(reply);
    const state = asString(record['state']);
    const made = asNumber(record['attempts-made']);
    const result = asString(record['result']);
    const lastError = asString(record['last-error']);
    const history = Array.isArray(record['history']) ? record['history'].map(readAttempt) : [];
    return new Job<D, R>(scope, {
      id: asString(record['id']),
      name: nameOr(asString(record['name']), asString(record['payload'])),
      data: parseJsonOr(asString(record['payload'])) as D,
      opts: {
        attempts: asNumber(record['max-attempts']),
        backoff: {
          type: asString(record['backoff']) as BackoffType,
          delay: asNumber(record['backoff-ms']),
        },
        priority: asNumber(record['priority']),
      },
      // SHOW counts the attempt that is running; BullMQ counts it once it has ended.
      attemptsMade: state === 'active' ? Math.max(0, made - 1) : made,
      timestamp: asNumber(record['created-ms']),
      processedOn: optionalTime(record['processed-ms']),
      finishedOn: optionalTime(record['finished-ms']),
      failedReason: lastError === '' ? undefined : lastError,
      returnvalue: result === '' ? null : (parseJsonOr(result) as R),
      history,
    });
  }

  // From a GETJOB entry, [queue, id, payload, attempts-made(, name)], where attempts-made
  // includes the attempt just started.
  static fromEntry<D = any, R = any>(scope: JobScope, entry: unknown): Job<D, R> {
    if (!Array.isArray(entry) || entry.length < 4) {
      throw new Error(`unexpected GETJOB entry from Herald: ${JSON.stringify(entry)}`);
    }
    return new Job<D, R>(scope, {
      id: asString(entry[1]),
      name: nameOr(entry.length >= 5 ? asString(entry[4]) : '', asString(entry[2])),
      data: parseJsonOr(asString(entry[2])) as D,
      attemptsMade: Math.max(0, asNumber(entry[3]) - 1),
      processedOn: Date.now(),
    });
  }

  // Resolves to the job's state, or 'unknown' when it no longer exists (removed, or a
  // completed job past the server's completed_retention).
  async getState(): Promise<JobState | 'unknown'> {
    const reply = await this.#scope.client().call('SHOW', this.id);
    if (reply === null) return 'unknown';
    const state = asString(toRecord(reply)['state']);
    return kStates.has(state) ? (state as JobState) : 'unknown';
  }

  async isCompleted(): Promise<boolean> {
    return (await this.getState()) === 'completed';
  }

  async isFailed(): Promise<boolean> {
    return (await this.getState()) === 'failed';
  }

  async isActive(): Promise<boolean> {
    return (await this.getState()) === 'active';
  }

  async isWaiting(): Promise<boolean> {
    return (await this.getState()) === 'waiting';
  }

  async isDelayed(): Promise<boolean> {
    return (await this.getState()) === 'delayed';
  }

  // Deletes the job (DELJOB). Rejects when there was no such job to delete.
  async remove(): Promise<void> {
    const removed = asNumber(await this.#scope.client().call('DELJOB', this.id));
    if (removed === 0) throw new Error(`job ${this.id} could not be removed: no such job`);
  }

  // Moves a failed job back to waiting with its attempts reset (QRETRY queue id). Rejects when
  // the job is not failed, as BullMQ's retry() does.
  async retry(): Promise<void> {
    const moved = asNumber(await this.#scope.client().call('QRETRY', this.queueName, this.id));
    if (moved === 0) throw new Error(`job ${this.id} is not in the failed state`);
    this.attemptsMade = 0;
    this.failedReason = undefined;
    this.finishedOn = undefined;
  }

  // BullMQ's Job.fromId(queue, id).
  static async fromId<D = any, R = any>(
      queue: {getJob(id: string): Promise<Job<D, R> | undefined>},
      id: string): Promise<Job<D, R> | undefined> {
    return queue.getJob(id);
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      name: this.name,
      queueName: this.queueName,
      data: this.data,
      opts: this.opts,
      attemptsMade: this.attemptsMade,
      timestamp: this.timestamp,
      processedOn: this.processedOn,
      finishedOn: this.finishedOn,
      failedReason: this.failedReason,
      returnvalue: this.returnvalue,
    };
  }
}

function optionalTime(value: unknown): number | undefined {
  const ms = asNumber(value);
  return ms > 0 ? ms : undefined;
}

function readAttempt(reply: unknown): JobAttempt {
  const record = toRecord(reply);
  return {
    startedOn: asNumber(record['started-ms']),
    endedOn: asNumber(record['ended-ms']),
    outcome: asString(record['outcome']) as JobAttempt['outcome'],
    error: asString(record['error']),
    worker: asString(record['worker']),
    backoffMs: asNumber(record['backoff-ms']),
    nextDueOn: asNumber(record['next-due-ms']),
  };
}

// A job added without a name (EMIT, or a producer that is not this client) is named after the
// event it carries, {"eventType": ...}, as the dashboard names it; otherwise "".
function nameOr(name: string, payload: string): string {
  if (name !== '' || !payload.includes('"eventType"')) return name;
  const data = parseJsonOr(payload) as {eventType?: unknown} | null;
  return data !== null && typeof data === 'object' && typeof data.eventType === 'string' ? data.eventType : '';
}
