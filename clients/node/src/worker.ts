// Worker: takes jobs of one Herald queue and runs a processor on them, in BullMQ's Worker terms.
//
// Each concurrency slot owns a connection and loops on one command per job:
//   GETJOB NOHANG LEASE l ACK <finished id> RESULT <value> WITHNAME FROM queue
// which completes the job it ran and takes the next in one round trip and one server write.
// A failed attempt is NACK pipelined with that GETJOB (without ACK), still one round trip.
// Only when the take finds nothing does the slot block, with
//   GETJOB TIMEOUT <drainDelay> LEASE l WITHNAME FROM queue
// which never carries an acknowledgement: close() can drop a blocked connection without
// leaving a finished job unacknowledged.

import {EventEmitter} from 'node:events';
import {hostname} from 'node:os';
import {setTimeout as sleep} from 'node:timers/promises';

import type {Redis} from 'ioredis';

import {asNumber, closeConnection, type ErrorMemory, forwardErrors, openConnection} from './connection.js';
import {isNoJob, isUnrecoverable, toError} from './errors.js';
import {Job, type JobScope} from './job.js';
import {integerIn} from './job-options.js';
import type {WorkerOptions} from './types.js';

export type Processor<DataType = any, ReturnType = any> =
    (job: Job<DataType, ReturnType>) => Promise<ReturnType> | ReturnType;

export interface WorkerEvents<DataType, ReturnType> {
  // A processor started on the job.
  active: [job: Job<DataType, ReturnType>, prev: string];
  // The job's completion was acknowledged.
  completed: [job: Job<DataType, ReturnType>, result: ReturnType, prev: string];
  // An attempt failed and the server recorded it (retried later, or failed for good).
  failed: [job: Job<DataType, ReturnType>, error: Error, prev: string];
  // A connection or command problem; the worker goes on.
  error: [error: Error];
  // A take found nothing to run; once, until a job is taken again.
  drained: [];
  closed: [];
}

// The fate of a job whose processor has returned, not yet told to the server.
type Outcome<DataType, ReturnType> =
    | {kind: 'ack', job: Job<DataType, ReturnType>, value: ReturnType, result: string | undefined}
    | {kind: 'nack', job: Job<DataType, ReturnType>, error: Error, permanent: boolean};

interface Slot<DataType, ReturnType> {
  client: Redis;
  // The job this slot finished, until the server has been told.
  outcome?: Outcome<DataType, ReturnType>;
  // The take the slot awaits when it carries no outcome, which close() may drop: a blocking
  // one, or one held back by a connection that is down.
  bareTake?: 'blocking' | 'nohang';
  loop?: Promise<void>;
}

const kDefaultLeaseMs = 30000;
const kDefaultCloseTimeoutMs = 30000;
// Pause after a failed command, doubling up to the maximum while failures go on.
const kRetryMinMs = 100;
const kRetryMaxMs = 5000;

export class Worker<DataType = any, ReturnType = any, NameType extends string = string>
    extends EventEmitter<WorkerEvents<DataType, ReturnType>> {
  readonly name: NameType;
  readonly opts: Required<Omit<WorkerOptions, 'connection' | 'lockDuration'>> & Pick<WorkerOptions, 'connection'>;
  readonly #processor: Processor<DataType, ReturnType>;
  readonly #slots: Slot<DataType, ReturnType>[] = [];
  // The connection of the jobs' own methods (getState, ...), opened at first use.
  #jobClient: Redis | undefined;
  readonly #scope: JobScope;
  #running: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #stopping = false;
  // Set when close() stops waiting for processors: their jobs are left to their leases.
  #abandoned = false;
  #drained = false;
  // The lease renewal timers of running processors, stopped by an abandoning close().
  readonly #renewals = new Set<NodeJS.Timeout>();
  readonly #wake = new AbortController();
  readonly #connectionErrors: ErrorMemory = {};
  readonly #closed: Promise<void>;
  #markClosed: () => void = () => {};

  // `name` is the queue's name, as in BullMQ.
  constructor(name: NameType, processor: Processor<DataType, ReturnType>, opts: WorkerOptions = {}) {
    super();
    if (typeof name !== 'string' || name === '') throw new TypeError('queue name must be a non-empty string');
    if (typeof processor !== 'function') {
      throw new TypeError('processor must be a function (sandboxed processor files are not supported)');
    }
    this.name = name;
    this.#processor = processor;
    this.opts = {
      connection: opts.connection,
      concurrency: integerIn('concurrency', opts.concurrency ?? 1, 1, 10000),
      lease: integerIn('lease', opts.lease ?? opts.lockDuration ?? kDefaultLeaseMs, 1000, 86400000),
      autorun: opts.autorun ?? true,
      drainDelay: opts.drainDelay ?? 5,
      closeTimeout: integerIn('closeTimeout', opts.closeTimeout ?? kDefaultCloseTimeoutMs, 0),
      name: opts.name ?? `${hostname()}:${process.pid}`,
    };
    if (typeof this.opts.drainDelay !== 'number' || !(this.opts.drainDelay > 0)) {
      throw new RangeError(`drainDelay must be a number of seconds > 0 (got ${String(this.opts.drainDelay)})`);
    }
    if (/\s/.test(this.opts.name) || this.opts.name === '') {
      throw new TypeError(`worker name must be non-empty without spaces (got ${JSON.stringify(this.opts.name)})`);
    }
    this.#scope = {queueName: name, client: () => this.#commandClient()};
    this.#closed = new Promise((resolve) => { this.#markClosed = resolve; });
    if (this.opts.autorun) {
      this.run().catch((error: unknown) => this.#reportError(toError(error)));
    }
  }

  // Starts the slots; resolves once the worker has closed.
  run(): Promise<void> {
    if (this.#running) throw new Error('worker is already running');
    if (this.#closing) throw new Error('worker is closed');
    for (let i = 0; i < this.opts.concurrency; ++i) {
      const client = openConnection(this.opts.connection, {
        connectionName: this.opts.name,
        // Through an outage a command waits for the reconnection and is sent again, rather than
        // failing after a number of retries (BullMQ asks the same of its blocking connections).
        maxRetriesPerRequest: null,
        enableOfflineQueue: true,
      });
      forwardErrors(client, this.#connectionErrors, (error) => this.#reportError(error));
      this.#slots.push({client});
    }
    for (const slot of this.#slots) {
      slot.loop = this.#runSlot(slot).catch((error: unknown) => this.#reportError(toError(error)));
    }
    this.#running = Promise.all(this.#slots.map((slot) => slot.loop)).then(() => undefined);
    return this.#closed;
  }

  isRunning(): boolean {
    return this.#running !== undefined && !this.#stopping;
  }

  // Stops taking jobs, waits for the running processors (up to closeTimeout), acknowledges
  // what they finished, and closes the connections. With `force`, does not wait: running jobs
  // are left to their leases and delivered again. Either way no job is lost: a job taken but
  // not acknowledged comes back when its lease runs out.
  close(force = false): Promise<void> {
    this.#closing ??= this.#shutdown(force);
    return this.#closing;
  }

  async #shutdown(force: boolean): Promise<void> {
    this.#stopping = true;
    this.#wake.abort();
    for (const slot of this.#slots) {
      // Dropping a take that carries no outcome loses nothing: the server cancels a blocked
      // take when its connection goes; a job handed over in that instant is left to its lease.
      const droppable = slot.bareTake === 'blocking' || (slot.bareTake === 'nohang' && slot.client.status !== 'ready');
      if (droppable || force) slot.client.disconnect();
    }
    const loops = Promise.all(this.#slots.map((slot) => slot.loop));
    if (force) {
      this.#abandon();
    } else {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.opts.closeTimeout);
      });
      const late = await Promise.race([loops.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) {
        this.#abandon();
        this.#reportError(new Error(
            `close: jobs still running or unacknowledged after ${this.opts.closeTimeout} ms; ` +
            'they will be delivered again when their leases run out'));
      }
    }
    await Promise.all(this.#slots.map((slot) => closeConnection(slot.client)));
    if (this.#jobClient) await closeConnection(this.#jobClient);
    this.#markClosed();
    this.#emitSafely('closed');
  }

  // Stops waiting for running processors and renewing their leases, so that their jobs come back.
  #abandon(): void {
    this.#abandoned = true;
    for (const timer of this.#renewals) clearInterval(timer);
    this.#renewals.clear();
  }

  async #runSlot(slot: Slot<DataType, ReturnType>): Promise<void> {
    let block = false;
    let retryMs = kRetryMinMs;
    while (!this.#abandoned) {
      if (this.#stopping) {
        if (slot.outcome) await this.#settleAlone(slot, slot.outcome);
        return;
      }
      let entries: unknown[] | null;
      try {
        if (slot.outcome === undefined) slot.bareTake = block ? 'blocking' : 'nohang';
        try {
          entries = block ? await this.#take(slot.client, true, []) : await this.#takeAfter(slot);
        } finally {
          slot.bareTake = undefined;
        }
        retryMs = kRetryMinMs;
      } catch (error) {
        if (this.#stopping) continue;
        this.#reportError(toError(error));
        await this.#pause(retryMs);
        retryMs = Math.min(retryMs * 2, kRetryMaxMs);
        continue;
      }
      if (entries === null || entries.length === 0) {
        if (!block && !this.#drained) {
          this.#drained = true;
          this.#emitSafely('drained');
        }
        block = true;
        continue;
      }
      this.#drained = false;
      block = false;
      slot.outcome = await this.#process(slot, Job.fromEntry<DataType, ReturnType>(this.#scope, entries[0]));
    }
  }

  // Tells the server the slot's outcome (if any) and takes the next job without waiting, in
  // one round trip. The outcome is cleared once the server has it (or has refused it for good);
  // it stays for the next call when the acknowledgement must be sent again.
  async #takeAfter(slot: Slot<DataType, ReturnType>): Promise<unknown[] | null> {
    const outcome = slot.outcome;
    if (outcome === undefined) return this.#take(slot.client, false, []);
    if (outcome.kind === 'ack') {
      const ack = ['ACK', outcome.job.id, ...(outcome.result === undefined ? [] : ['RESULT', outcome.result])];
      let entries: unknown[] | null;
      try {
        entries = await this.#take(slot.client, false, ack);
      } catch (error) {
        // Nothing was taken. NOJOB: the job is no longer ours to acknowledge; anything else
        // (a store write that failed) leaves it active, so the acknowledgement is sent again.
        if (!isNoJob(error)) throw error;
        slot.outcome = undefined;
        this.#leaseLost(outcome.job, error as Error);
        return this.#take(slot.client, false, []);
      }
      slot.outcome = undefined;
      this.#completed(outcome);
      return entries;
    }
    const pipeline = slot.client.pipeline();
    pipeline.call('NACK', ...this.#nackArgs(outcome));
    pipeline.call('GETJOB', ...this.#getJobArgs(false, []));
    const replies = (await pipeline.exec()) ?? [];
    slot.outcome = undefined;
    const [nackError] = replies[0] ?? [new Error('no reply to NACK')];
    if (nackError) {
      // Not sent again: the attempt then ends when its lease runs out, which counts it too.
      if (isNoJob(nackError)) this.#leaseLost(outcome.job, nackError);
      else this.#reportError(new Error(`NACK of job ${outcome.job.id} failed: ${nackError.message}`));
    } else {
      this.#failed(outcome);
    }
    const [takeError, entries] = replies[1] ?? [new Error('no reply to GETJOB'), null];
    if (takeError) throw takeError;
    return entries as unknown[] | null;
  }

  #take(client: Redis, block: boolean, ack: string[]): Promise<unknown[] | null> {
    return client.call('GETJOB', ...this.#getJobArgs(block, ack)) as Promise<unknown[] | null>;
  }

  #getJobArgs(block: boolean, ack: string[]): string[] {
    const wait = block ? ['TIMEOUT', String(Math.max(1, Math.round(this.opts.drainDelay * 1000)))] : ['NOHANG'];
    return [...wait, 'LEASE', String(this.opts.lease), ...ack, 'WITHNAME', 'FROM', this.name];
  }

  #nackArgs(outcome: Extract<Outcome<DataType, ReturnType>, {kind: 'nack'}>): string[] {
    let reason = outcome.error.message || outcome.error.name || 'Error';
    // NACK reads a lone reason of "permanent" as the flag.
    if (!outcome.permanent && reason.toLowerCase() === 'permanent') reason = `${outcome.error.name}: ${reason}`;
    return outcome.permanent ? [outcome.job.id, reason, 'PERMANENT'] : [outcome.job.id, reason];
  }

  // While stopping: the outcome alone, taking nothing more.
  async #settleAlone(slot: Slot<DataType, ReturnType>, outcome: Outcome<DataType, ReturnType>): Promise<void> {
    try {
      if (outcome.kind === 'ack') {
        const args = outcome.result === undefined ? [outcome.job.id] : [outcome.job.id, 'RESULT', outcome.result];
        const acked = asNumber(await slot.client.call('ACKJOB', ...args));
        if (acked === 1) this.#completed(outcome);
        else this.#leaseLost(outcome.job, new Error('ACKJOB acknowledged nothing'));
      } else {
        await slot.client.call('NACK', ...this.#nackArgs(outcome));
        this.#failed(outcome);
      }
    } catch (error) {
      if (isNoJob(error)) this.#leaseLost(outcome.job, error as Error);
      else if (!this.#abandoned) this.#reportError(toError(error));
    }
  }

  async #process(slot: Slot<DataType, ReturnType>, job: Job<DataType, ReturnType>): Promise<Outcome<DataType, ReturnType>> {
    // WORKING on the slot's own connection, idle while the processor runs.
    const renew = setInterval(() => {
      slot.client.call('WORKING', job.id).catch((error: unknown) => {
        if (isNoJob(error)) this.#leaseLost(job, error as Error);
        else if (!this.#abandoned) this.#reportError(toError(error));
      });
    }, Math.floor(this.opts.lease / 2));
    this.#renewals.add(renew);
    try {
      this.#emitSafely('active', job, 'waiting');
      const value = await this.#processor(job);
      // undefined has no JSON form: no RESULT, and SHOW's result stays empty.
      const result = value === undefined ? undefined : JSON.stringify(value);
      return {kind: 'ack', job, value, result};
    } catch (thrown) {
      const error = toError(thrown);
      return {kind: 'nack', job, error, permanent: isUnrecoverable(error)};
    } finally {
      clearInterval(renew);
      this.#renewals.delete(renew);
    }
  }

  #completed(outcome: Extract<Outcome<DataType, ReturnType>, {kind: 'ack'}>): void {
    const job = outcome.job;
    job.attemptsMade += 1;
    job.finishedOn = Date.now();
    job.returnvalue = outcome.value ?? null;
    this.#emitSafely('completed', job, outcome.value, 'active');
  }

  #failed(outcome: Extract<Outcome<DataType, ReturnType>, {kind: 'nack'}>): void {
    const job = outcome.job;
    job.attemptsMade += 1;
    job.failedReason = outcome.error.message;
    job.finishedOn = Date.now();
    this.#emitSafely('failed', job, outcome.error, 'active');
  }

  #leaseLost(job: Job<DataType, ReturnType>, cause: Error): void {
    if (this.#abandoned) return;
    this.#reportError(new Error(
        `job ${job.id} is no longer held by this worker (its lease ran out, or an acknowledgement ` +
        `sent again after a reconnection had already completed it): ${cause.message}`));
  }

  // A listener that throws must not break a slot's loop, where the exception would drop the
  // job just taken (left to its lease) or, from 'active', fail the attempt.
  #emitSafely<E extends Exclude<keyof WorkerEvents<DataType, ReturnType>, 'error'>>(
      event: E, ...args: WorkerEvents<DataType, ReturnType>[E]): void {
    try {
      // The generic key does not narrow the typed emit's argument list; the signature above does.
      (this as unknown as EventEmitter).emit(event, ...args);
    } catch (error) {
      this.#reportError(new Error(`a '${event}' listener threw: ${toError(error).message}`));
    }
  }

  // 'error' without a listener would throw from emit() and end the process, which a
  // connection problem must not do.
  #reportError(error: Error): void {
    try {
      if (this.listenerCount('error') > 0) {
        this.emit('error', error);
        return;
      }
    } catch (thrown) {
      console.error(`[herald-client] worker ${this.name}: an 'error' listener threw:`, thrown);
    }
    console.error(`[herald-client] worker ${this.name}:`, error);
  }

  async #pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, {signal: this.#wake.signal});
    } catch {
      // Woken by close().
    }
  }

  #commandClient(): Redis {
    if (this.#closing) throw new Error(`worker ${this.name} is closed`);
    if (!this.#jobClient) {
      this.#jobClient = openConnection(this.opts.connection, {connectionName: this.opts.name});
      forwardErrors(this.#jobClient, this.#connectionErrors, (error) => this.#reportError(error));
    }
    return this.#jobClient;
  }
}
