// Queue: adds jobs to a Herald queue and reads and manages them, in BullMQ's Queue terms.

import {EventEmitter} from 'node:events';

import type {Redis} from 'ioredis';

import {asNumber, asString, closeConnection, forwardErrors, isRedisInstance, openConnection, toRecord} from './connection.js';
import {BulkAddError} from './errors.js';
import {Job, type JobScope} from './job.js';
import {addJobArgs, integerIn} from './job-options.js';
import type {HeraldEvent, JobCounts, JobsOptions, JobState, JobType, QueueOptions} from './types.js';

// Every type getJobCounts() reports when asked for none, as BullMQ's.
const kAllTypes: ReadonlyArray<Exclude<JobType, 'wait'>> =
    ['active', 'completed', 'delayed', 'failed', 'paused', 'prioritized', 'waiting', 'waiting-children'];
// QSCAN page size used by getJobs.
const kScanPage = 1000;

interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  paused: boolean;
}

// One connection, shared by every call and by the jobs it returns. A connection given as an
// ioredis instance is used as it is and left open by close(). The errors of a connection the
// queue opened are 'error' events, printed when nothing listens. A Queue is not an
// EventEmitter, since its emit() is EMIT: on/once/off take 'error' only.
export class Queue<DataType = any, ReturnType = any> {
  readonly name: string;
  readonly opts: QueueOptions;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #scope: JobScope;
  readonly #events = new EventEmitter<{error: [Error]}>();
  #closing: Promise<void> | undefined;

  constructor(name: string, opts: QueueOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError('queue name must be a non-empty string');
    this.name = name;
    this.opts = opts;
    const connection = opts.connection;
    this.#ownsClient = connection === undefined || !isRedisInstance(connection);
    this.#client = connection !== undefined && isRedisInstance(connection) ? connection : openConnection(connection);
    const client = this.#client;
    this.#scope = {queueName: name, client: () => client};
    if (this.#ownsClient) {
      forwardErrors(client, {}, (error) => {
        if (this.#events.listenerCount('error') > 0) this.#events.emit('error', error);
        else console.error(`[herald-client] queue ${name}:`, error);
      });
    }
  }

  on(event: 'error', listener: (error: Error) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  once(event: 'error', listener: (error: Error) => void): this {
    this.#events.once(event, listener);
    return this;
  }

  off(event: 'error', listener: (error: Error) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  // The connection this queue sends its commands on.
  get client(): Redis {
    return this.#client;
  }

  // Resolves once the connection is ready.
  async waitUntilReady(): Promise<Redis> {
    if (this.#client.status === 'wait') await this.#client.connect();
    if (this.#client.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const onReady = () => { cleanup(); resolve(); };
        const onEnd = () => { cleanup(); reject(new Error('connection closed before it was ready')); };
        const cleanup = () => { this.#client.off('ready', onReady); this.#client.off('end', onEnd); };
        this.#client.once('ready', onReady);
        this.#client.once('end', onEnd);
      });
    }
    return this.#client;
  }

  // ADDJOB. The Job returned holds what was given: with a jobId that already exists, nothing is
  // added and the Job has the existing id but this call's data (as in BullMQ).
  async add(name: string, data: DataType, opts?: JobsOptions): Promise<Job<DataType, ReturnType>> {
    const merged = {...this.opts.defaultJobOptions, ...opts};
    const args = addJobArgs(this.name, name, data, merged);
    const id = asString(await this.#client.call('ADDJOB', ...args));
    return this.#addedJob(id, name, data, merged);
  }

  // The ADDJOBs of every entry in one pipeline (one round trip). Not atomic, unlike BullMQ's:
  // each job is its own write. Every entry's options are checked before anything is sent, so a
  // bad option adds nothing; when the server refuses some entries, the others are still added
  // and the call rejects with a BulkAddError that says which were added and why the rest were
  // not.
  async addBulk(jobs: ReadonlyArray<{name: string, data: DataType, opts?: JobsOptions}>):
      Promise<Job<DataType, ReturnType>[]> {
    const prepared = jobs.map((job, index) => {
      const merged = {...this.opts.defaultJobOptions, ...job.opts};
      try {
        return {job, merged, args: addJobArgs(this.name, job.name, job.data, merged)};
      } catch (error) {
        (error as Error).message = `addBulk entry ${index}: ${(error as Error).message}`;
        throw error;
      }
    });
    if (prepared.length === 0) return [];
    const pipeline = this.#client.pipeline();
    for (const {args} of prepared) pipeline.call('ADDJOB', ...args);
    const replies = (await pipeline.exec()) ?? [];
    const added: Array<Job<DataType, ReturnType> | undefined> = [];
    const errors: Array<Error | undefined> = [];
    prepared.forEach(({job, merged}, index) => {
      const [error, id] = replies[index] ?? [new Error('no reply'), null];
      if (error) {
        added.push(undefined);
        errors.push(error);
      } else {
        added.push(this.#addedJob(asString(id), job.name, job.data, merged));
        errors.push(undefined);
      }
    });
    const failed = errors.flatMap((error, index) => (error ? [`#${index}: ${error.message}`] : []));
    if (failed.length > 0) {
      throw new BulkAddError(
          `addBulk: ${failed.length} of ${prepared.length} jobs were not added (${failed.slice(0, 5).join('; ')}` +
              `${failed.length > 5 ? '; ...' : ''}); the others were`,
          added, errors);
    }
    return added as Job<DataType, ReturnType>[];
  }

  // SHOW. Undefined when there is no such job, or it belongs to another queue.
  async getJob(id: string): Promise<Job<DataType, ReturnType> | undefined> {
    const reply = await this.#client.call('SHOW', id);
    if (reply === null) return undefined;
    const job = Job.fromShow<DataType, ReturnType>(this.#scope, reply);
    return asString(toRecord(reply)['queue']) === this.name ? job : undefined;
  }

  // Counts by type from QSTAT, for the types asked (all when none). As in BullMQ, the waiting
  // jobs of a paused queue count as `paused`, not `waiting`. Herald keeps prioritized jobs in
  // `waiting` and has no flows, so `prioritized` and `waiting-children` are 0. `completed`
  // counts the completed jobs still kept (the server's completed_retention, 1000 by default).
  async getJobCounts(...types: JobType[]): Promise<JobCounts> {
    const stats = await this.#stats();
    const wanted = types.length === 0 ? kAllTypes : types.map(normalizeType);
    const counts: JobCounts = {};
    for (const type of wanted) counts[type] = countOf(stats, type);
    return counts;
  }

  async getJobCountByTypes(...types: JobType[]): Promise<number> {
    const counts = await this.getJobCounts(...types);
    return Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  }

  // Jobs waiting or delayed (BullMQ's count(): everything not yet started).
  async count(): Promise<number> {
    const stats = await this.#stats();
    return stats.waiting + stats.delayed;
  }

  // Jobs of the given types, the types one after the other, positions start..end of that list
  // (end inclusive; -1 = to the end). Within a type the order is Herald's: waiting in the order
  // they will be taken, delayed by due time, completed and failed newest first. Ids come from
  // QSCAN; the jobs from pipelined SHOWs, so a job that changes state meanwhile is reported as
  // it is then.
  async getJobs(types: JobType | JobType[] = [], start = 0, end = -1):
      Promise<Job<DataType, ReturnType>[]> {
    integerIn('start', start, 0);
    integerIn('end', end, -1);
    const list = (Array.isArray(types) ? types : [types]).map(normalizeType);
    const wanted = list.length === 0 ? (['waiting', 'paused', 'active', 'delayed', 'completed', 'failed'] as const) : list;
    const limit = end === -1 ? Infinity : end + 1;
    if (limit <= start) return [];
    const paused = wanted.some((type) => type === 'waiting' || type === 'paused') ? (await this.#stats()).paused : false;
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const type of wanted) {
      const state = stateOf(type, paused);
      if (state === undefined || seen.has(state)) continue;
      seen.add(state);
      let cursor = '0';
      do {
        const count = Math.min(kScanPage, limit - ids.length);
        const reply = await this.#client.call('QSCAN', this.name, state, cursor, 'COUNT', String(count));
        const [next, page] = reply as [unknown, unknown[]];
        for (const id of page) ids.push(asString(id));
        cursor = asString(next);
      } while (cursor !== '0' && ids.length < limit);
      if (ids.length >= limit) break;
    }
    const slice = ids.slice(start, limit);
    if (slice.length === 0) return [];
    const pipeline = this.#client.pipeline();
    for (const id of slice) pipeline.call('SHOW', id);
    const replies = (await pipeline.exec()) ?? [];
    const jobs: Job<DataType, ReturnType>[] = [];
    for (const [error, reply] of replies) {
      if (error) throw error;
      if (reply !== null) jobs.push(Job.fromShow<DataType, ReturnType>(this.#scope, reply));
    }
    return jobs;
  }

  getWaiting(start = 0, end = -1) { return this.getJobs('waiting', start, end); }
  getActive(start = 0, end = -1) { return this.getJobs('active', start, end); }
  getDelayed(start = 0, end = -1) { return this.getJobs('delayed', start, end); }
  getCompleted(start = 0, end = -1) { return this.getJobs('completed', start, end); }
  getFailed(start = 0, end = -1) { return this.getJobs('failed', start, end); }

  // QPAUSE: no job of the queue starts until resume(); running ones finish.
  async pause(): Promise<void> {
    await this.#client.call('QPAUSE', this.name);
  }

  async resume(): Promise<void> {
    await this.#client.call('QRESUME', this.name);
  }

  async isPaused(): Promise<boolean> {
    return (await this.#stats()).paused;
  }

  // QRETRY: every failed job back to waiting with its attempts reset. Resolves to how many were
  // moved (BullMQ resolves to nothing). Only failed jobs can be retried, and all of them at
  // once: BullMQ's {state: 'completed'} and {timestamp} are refused; {count} (BullMQ's batch
  // size) changes nothing.
  async retryJobs(opts: {count?: number, state?: 'failed' | 'completed', timestamp?: number} = {}): Promise<number> {
    if (opts.state !== undefined && opts.state !== 'failed') {
      throw new TypeError(`retryJobs: Herald retries failed jobs only (got state '${opts.state}')`);
    }
    if (opts.timestamp !== undefined) throw new TypeError('retryJobs: timestamp is not supported by Herald');
    return asNumber(await this.#client.call('QRETRY', this.name));
  }

  // QCLEAN: removes jobs of `type` whose time is `grace` ms ago or earlier, oldest first, at
  // most `limit` (0 = no limit). The time is when they finished (completed, failed), were added
  // (waiting) or are due (delayed: a job due later is never old enough; BullMQ goes by when it
  // was added). Resolves to how many were removed, where BullMQ resolves to their ids. Active
  // jobs cannot be cleaned.
  async clean(grace: number, limit: number,
              type: 'completed' | 'failed' | 'delayed' | 'wait' | 'waiting' | 'paused' | 'prioritized' = 'completed'):
      Promise<number> {
    integerIn('grace', grace, 0);
    integerIn('limit', limit, 0);
    const state = ({completed: 'completed', failed: 'failed', delayed: 'delayed', wait: 'waiting',
                    waiting: 'waiting', paused: 'waiting', prioritized: 'waiting'} as const)[type];
    if (state === undefined) throw new TypeError(`clean: Herald cannot clean jobs of type '${type}'`);
    const args = [this.name, state, String(grace)];
    if (limit > 0) args.push('LIMIT', String(limit));
    return asNumber(await this.#client.call('QCLEAN', ...args));
  }

  // Removes every waiting job, and the delayed ones too when `delayed` is true (BullMQ's
  // drain()). Active jobs finish.
  async drain(delayed = false): Promise<void> {
    // Deleted by id, not with QCLEAN, which keeps a delayed job due later.
    await this.#deleteAll('waiting');
    if (delayed) await this.#deleteAll('delayed');
  }

  // EMIT: an event the server routes by its eventType to a queue of its configuration (not
  // necessarily this one). Resolves to the job id, which is the eventId: emitting an event
  // twice queues it once.
  async emit(event: HeraldEvent): Promise<string> {
    return asString(await this.#client.call('EMIT', JSON.stringify(event)));
  }

  // Closes the connection when the queue opened it.
  close(): Promise<void> {
    this.#closing ??= this.#ownsClient ? closeConnection(this.#client) : Promise.resolve();
    return this.#closing;
  }

  async #stats(): Promise<QueueStats> {
    const reply = await this.#client.call('QSTAT', this.name);
    // Herald knows a queue once something used it.
    if (reply === null) return {waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: false};
    const record = toRecord(reply);
    return {
      waiting: asNumber(record['waiting']),
      active: asNumber(record['active']),
      delayed: asNumber(record['delayed']),
      completed: asNumber(record['completed']),
      failed: asNumber(record['failed']),
      paused: asNumber(record['paused']) === 1,
    };
  }

  // DELJOB on every job of `state`, a page at a time; each page starts over, as the one before
  // is gone.
  async #deleteAll(state: 'waiting' | 'delayed'): Promise<void> {
    for (;;) {
      const [, page] = (await this.#client.call('QSCAN', this.name, state, '0', 'COUNT', String(kScanPage))) as
          [unknown, unknown[]];
      if (page.length === 0) return;
      // A page of which nothing could be deleted would be listed again forever.
      if (asNumber(await this.#client.call('DELJOB', ...page.map(asString))) === 0) return;
    }
  }

  #addedJob(id: string, name: string, data: DataType, opts: JobsOptions): Job<DataType, ReturnType> {
    return new Job<DataType, ReturnType>(this.#scope, {id, name, data, opts, timestamp: Date.now()});
  }
}

function normalizeType(type: JobType): Exclude<JobType, 'wait'> {
  if (type === 'wait') return 'waiting';
  if (!kAllTypes.includes(type)) throw new TypeError(`unknown job type '${String(type)}'`);
  return type;
}

function countOf(stats: QueueStats, type: Exclude<JobType, 'wait'>): number {
  switch (type) {
    case 'waiting': return stats.paused ? 0 : stats.waiting;
    case 'paused': return stats.paused ? stats.waiting : 0;
    case 'active': return stats.active;
    case 'delayed': return stats.delayed;
    case 'completed': return stats.completed;
    case 'failed': return stats.failed;
    case 'prioritized':
    case 'waiting-children': return 0;
  }
}

// The Herald state whose jobs getJobs lists for `type`, or undefined for none.
function stateOf(type: Exclude<JobType, 'wait'>, paused: boolean): JobState | undefined {
  switch (type) {
    case 'waiting': return paused ? undefined : 'waiting';
    case 'paused': return paused ? 'waiting' : undefined;
    case 'prioritized':
    case 'waiting-children': return undefined;
    default: return type;
  }
}
