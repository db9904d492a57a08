// The notification service of the Events Module, without NestJS: a producer that routes
// booking and payment events to the emails, notifications and tickets queues with each
// queue's retry policy, and a processor per queue (concurrency 5) with a handler per event
// type.
//
//   node dist/examples/notification-processor.js [demo|produce|process]
//
//   demo     (default) produces a few events, processes them, prints what happened, exits
//   produce  adds the events and exits
//   process  runs the processors until SIGINT or SIGTERM, then closes them gracefully
//
// HERALD_HOST and HERALD_PORT say where Herald is (default 127.0.0.1:6380). In a service of
// your own, import from 'herald-client' instead of '../src/index.js'.

import {randomUUID} from 'node:crypto';

import {type Job, type JobsOptions, Queue, UnrecoverableError, Worker} from '../src/index.js';

// --- Event contracts (types/booking-events.types.ts) -------------------------------------

interface BookingData {
  bookingId: string;
  userId: string;
  userEmail: string;
  parkingSpot?: string;
  startTime?: string;
}

interface PaymentData {
  paymentId: string;
  bookingId: string;
  userId: string;
  amount: number;
  reason?: string;
}

type BookingEvent =
  | {eventType: 'booking.created' | 'booking.confirmed' | 'booking.cancelled', eventId: string, timestamp: string, data: BookingData}
  | {eventType: 'booking.reminder', eventId: string, timestamp: string, data: Omit<BookingData, 'userEmail'>}
  | {eventType: 'payment.received' | 'payment.failed', eventId: string, timestamp: string, data: PaymentData};

type EventType = BookingEvent['eventType'];

// --- Routing and retry policies (config/queue-routing.config.ts) --------------------------
// The same table as Herald's config/herald.toml, so events added here and events sent with
// EMIT (Queue.emit) land in the same queues with the same retries.

const QUEUE_NAMES = ['emails', 'notifications', 'tickets'] as const;
type QueueName = (typeof QUEUE_NAMES)[number];

const QUEUE_ROUTING_MAP: Record<EventType, QueueName> = {
  'booking.created': 'emails',
  'booking.confirmed': 'emails',
  'booking.cancelled': 'emails',
  'booking.reminder': 'notifications',
  'payment.received': 'notifications',
  'payment.failed': 'tickets',
};

const QUEUE_CONFIG: Record<QueueName, JobsOptions> = {
  emails: {attempts: 5, backoff: {type: 'exponential', delay: 2000}},
  notifications: {attempts: 3, backoff: {type: 'exponential', delay: 1000}},
  tickets: {attempts: 3, backoff: {type: 'fixed', delay: 5000}},
};

const connection = {
  host: process.env['HERALD_HOST'] ?? '127.0.0.1',
  port: Number(process.env['HERALD_PORT'] ?? 6380),
};

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

// --- Producer (services/events-producer.service.ts) ---------------------------------------

class EventsProducer {
  private readonly queues = new Map<QueueName, Queue<BookingEvent>>(
      QUEUE_NAMES.map((name) => [name, new Queue<BookingEvent>(name, {connection})]));

  // Routes the event to its queue with that queue's retry policy. The eventId is the job id,
  // so an event published twice is queued once.
  async produceEvent(event: BookingEvent): Promise<string> {
    const queueName = QUEUE_ROUTING_MAP[event.eventType];
    const queue = this.queues.get(queueName)!;
    const job = await queue.add('booking-event', event, {...QUEUE_CONFIG[queueName], jobId: event.eventId});
    log(`produced ${event.eventType} ${event.eventId} -> ${queueName}`);
    return job.id;
  }

  // The same through Herald's own routing (EMIT): the server validates the event against its
  // contract, picks the queue from its configuration and applies that queue's policy.
  async emitEvent(event: BookingEvent): Promise<string> {
    const id = await this.queues.get(QUEUE_ROUTING_MAP[event.eventType])!.emit(event);
    log(`emitted ${event.eventType} ${event.eventId}`);
    return id;
  }

  queue(name: QueueName): Queue<BookingEvent> {
    return this.queues.get(name)!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}

// --- Notifications (the NotificationsService the handlers call) ---------------------------

type Channel = 'email' | 'push' | 'inapp';

class NotificationsService {
  // Users who turned a channel off.
  private readonly optedOut = new Map<string, Set<Channel>>([['user_2002', new Set<Channel>(['email'])]]);
  // Fails the first send to this address once, as an email relay that times out would.
  private flakyAddress: string | undefined = 'flaky@example.com';

  wants(userId: string, channel: Channel): boolean {
    return !this.optedOut.get(userId)?.has(channel);
  }

  async sendEmail(to: string, subject: string): Promise<string> {
    if (to === this.flakyAddress) {
      this.flakyAddress = undefined;
      throw new Error('SES timeout after 10000 ms');
    }
    log(`  email to ${to}: ${subject}`);
    return `email:${to}`;
  }

  async sendPush(userId: string, text: string): Promise<string> {
    log(`  push to ${userId}: ${text}`);
    return `push:${userId}`;
  }

  async createTicket(subject: string): Promise<string> {
    const ticket = `TCK-${randomUUID().slice(0, 8)}`;
    log(`  ticket ${ticket}: ${subject}`);
    return ticket;
  }
}

// --- Processor (processors/notification-queue.processor.ts) -------------------------------

type Outcome = {sent: string} | {skipped: string};

class NotificationProcessor {
  private readonly workers: Worker<BookingEvent, Outcome>[];

  constructor(private readonly notifications: NotificationsService) {
    this.workers = QUEUE_NAMES.map((name) => {
      const worker = new Worker<BookingEvent, Outcome>(name, (job) => this.process(job), {connection, concurrency: 5});
      worker.on('completed', (job, result) => log(`completed ${job.data.eventType} ${job.id}: ${JSON.stringify(result)}`));
      worker.on('failed', (job, error) => {
        const left = (job.opts.attempts ?? QUEUE_CONFIG[name].attempts ?? 1) - job.attemptsMade;
        log(`failed ${job.data.eventType} ${job.id} (attempt ${job.attemptsMade}): ${error.message}` +
            (left > 0 && !(error instanceof UnrecoverableError) ? `; ${left} attempt(s) left` : ''));
      });
      worker.on('error', (error) => log(`worker ${name}: ${error.message}`));
      return worker;
    });
  }

  // Event arrives -> check preferences -> route to handler -> send -> complete. A thrown error
  // is a failed attempt, retried by the queue's policy.
  async process(job: Job<BookingEvent, Outcome>): Promise<Outcome> {
    const event = job.data;
    log(`processing ${event.eventType} ${job.id} (attempt ${job.attemptsMade + 1})`);
    switch (event.eventType) {
      case 'booking.created':
        return this.email(event.data, `Booking ${event.data.bookingId} received`);
      case 'booking.confirmed':
        return this.email(event.data, `Booking ${event.data.bookingId} confirmed`);
      case 'booking.cancelled':
        return this.email(event.data, `Booking ${event.data.bookingId} cancelled`);
      case 'booking.reminder':
        return this.push(event.data.userId, `Your parking ${event.data.parkingSpot ?? ''} starts in 24 hours`);
      case 'payment.received':
        return this.push(event.data.userId, `Payment of ${event.data.amount} received`);
      case 'payment.failed':
        return {sent: await this.notifications.createTicket(
            `Payment ${event.data.paymentId} for booking ${event.data.bookingId} failed: ${event.data.reason}`)};
      default:
        // No retry can handle an event type this service does not know.
        throw new UnrecoverableError(`unknown event type '${(event as {eventType: string}).eventType}'`);
    }
  }

  private async email(data: BookingData, subject: string): Promise<Outcome> {
    if (!this.notifications.wants(data.userId, 'email')) return {skipped: `${data.userId} turned email off`};
    return {sent: await this.notifications.sendEmail(data.userEmail, subject)};
  }

  private async push(userId: string, text: string): Promise<Outcome> {
    if (!this.notifications.wants(userId, 'push')) return {skipped: `${userId} turned push off`};
    return {sent: await this.notifications.sendPush(userId, text)};
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}

// --- Running it ---------------------------------------------------------------------------

function sampleEvents(): BookingEvent[] {
  const run = randomUUID().slice(0, 8);
  const timestamp = new Date().toISOString();
  const booking = (n: number, userId: string, userEmail: string): BookingData =>
    ({bookingId: `bk-${run}-${n}`, userId, userEmail, parkingSpot: `P${n}`, startTime: timestamp});
  return [
    {eventType: 'booking.created', eventId: `evt-${run}-1`, timestamp, data: booking(1, 'user_1001', 'user1001@example.com')},
    {eventType: 'booking.confirmed', eventId: `evt-${run}-2`, timestamp, data: booking(1, 'user_1001', 'flaky@example.com')},
    {eventType: 'booking.cancelled', eventId: `evt-${run}-3`, timestamp, data: booking(2, 'user_2002', 'user2002@example.com')},
    {eventType: 'booking.reminder', eventId: `evt-${run}-4`, timestamp, data: {bookingId: `bk-${run}-1`, userId: 'user_1001', parkingSpot: 'P1'}},
    {eventType: 'payment.received', eventId: `evt-${run}-5`, timestamp,
     data: {paymentId: `pay-${run}-1`, bookingId: `bk-${run}-1`, userId: 'user_1001', amount: 25}},
    {eventType: 'payment.failed', eventId: `evt-${run}-6`, timestamp,
     data: {paymentId: `pay-${run}-2`, bookingId: `bk-${run}-2`, userId: 'user_2002', amount: 40, reason: 'card declined'}},
  ];
}

async function produce(producer: EventsProducer): Promise<Array<{queue: QueueName, id: string}>> {
  const events = sampleEvents();
  const produced: Array<{queue: QueueName, id: string}> = [];
  // All but the last through the producer's own routing; the last through Herald's.
  for (const event of events.slice(0, -1)) {
    produced.push({queue: QUEUE_ROUTING_MAP[event.eventType], id: await producer.produceEvent(event)});
  }
  const last = events[events.length - 1]!;
  produced.push({queue: QUEUE_ROUTING_MAP[last.eventType], id: await producer.emitEvent(last)});
  return produced;
}

async function demo(): Promise<void> {
  const producer = new EventsProducer();
  const processor = new NotificationProcessor(new NotificationsService());
  try {
    const produced = await produce(producer);
    // Until every job has finished: completed, or failed for good.
    const deadline = Date.now() + 60000;
    for (;;) {
      const jobs = await Promise.all(produced.map(({queue, id}) => producer.queue(queue).getJob(id)));
      const states = await Promise.all(jobs.map((job) => job?.getState() ?? 'unknown'));
      if (states.every((state) => state === 'completed' || state === 'failed')) {
        for (const job of jobs) {
          if (!job) continue;
          const attempts = job.history.map((attempt) => attempt.outcome).join(', ');
          log(`summary ${job.data.eventType} ${job.id}: ${await job.getState()} after ${job.attemptsMade} ` +
              `attempt(s) [${attempts}] result ${JSON.stringify(job.returnvalue)}`);
        }
        break;
      }
      if (Date.now() > deadline) throw new Error(`jobs not finished in 60 s: ${states.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await processor.close();
    await producer.close();
  }
}

async function processUntilSignal(): Promise<void> {
  const processor = new NotificationProcessor(new NotificationsService());
  log(`processing emails, notifications and tickets from ${connection.host}:${connection.port}`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log(`${signal}: finishing running jobs`);
  await processor.close();
  log('closed');
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'demo';
  if (mode === 'demo') return demo();
  if (mode === 'process') return processUntilSignal();
  if (mode === 'produce') {
    const producer = new EventsProducer();
    try {
      await produce(producer);
    } finally {
      await producer.close();
    }
    return;
  }
  throw new Error(`unknown mode '${mode}' (demo, produce or process)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
