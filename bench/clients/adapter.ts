/**
 * What the benchmark asks of each client library. Each adapter drives its
 * library the way that library's documentation recommends for speed, with
 * the hot loops (publish, consume) inside the adapter so that no extra layer
 * sits between the benchmark and the library's own calls.
 *
 * Common settings for every client: TCP_NODELAY on, heartbeats off,
 * frame-max 131072 (coney's and amqplib's default; @cloudamqp/amqp-client and
 * rabbitmq-client default to 8192, which would only make them slower for
 * large messages), guest/guest, one connection and one channel.
 */

export type ClientName = 'coney' | 'coney-promise' | 'coney-port' | 'coney-iothread' | 'amqplib' | 'cloudamqp' | 'rabbitmq-client';
/** The clients of the scenarios that name none (coney-promise runs only where a scenario names it). */
export const CLIENTS: readonly ClientName[] = ['coney', 'amqplib', 'cloudamqp', 'rabbitmq-client'];
/** Every client the benchmark knows. */
export const ALL_CLIENTS: readonly ClientName[] = [
  'coney',
  'coney-promise',
  'coney-port',
  'coney-iothread',
  'amqplib',
  'cloudamqp',
  'rabbitmq-client',
];

/** Where to connect. */
export interface Target {
  host: string;
  port: number;
  vhost: string;
  user: string;
  password: string;
}

export interface DeclareResult {
  queue: string;
  messageCount: number;
}

export interface ClientAdapter {
  readonly name: ClientName;
  /** Opens the connection and one channel. */
  connect(target: Target): Promise<void>;
  /** queue.declare (non-durable, not auto-delete unless exclusive); passive for a depth poll. */
  declareQueue(queue: string, opts?: { passive?: boolean; exclusive?: boolean }): Promise<DeclareResult>;
  deleteQueue(queue: string): Promise<void>;
  /**
   * Publishes `count` messages to the default exchange with routing key
   * `queue`, as fast as the client's own flow-control signal allows.
   * Resolves once every message was handed to the library (not necessarily
   * written): follow with a round trip (a passive declare) to know they arrived.
   */
  publish(queue: string, body: Buffer, count: number): Promise<void>;
  /**
   * Publishes `count` messages without waiting on any flow-control signal
   * in between (un-awaited promises, ignored booleans), then waits once for
   * the client's drain signal (the last publish's promise, or the drain event
   * when the last publish returned false).
   */
  publishUnawaited(queue: string, body: Buffer, count: number): Promise<void>;
  /** confirm.select on the channel. */
  enableConfirms(): Promise<void>;
  /** Publishes `count` messages with at most `window` unconfirmed; resolves once all are confirmed. */
  publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void>;
  /**
   * basic.qos(prefetch) + basic.consume (manual acks). Every delivery whose
   * tag is a multiple of `ackEvery` is acked with multiple=true; then
   * `onMessage` runs. Resolves on consume-ok.
   */
  consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void>;
  /** Consumes `queue` (auto-ack) and answers each request to its reply-to with the same body and correlation id. */
  serveRpc(queue: string): Promise<void>;
  /** Sets up a reply queue; the returned function sends one request and resolves on its reply. */
  rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/**
 * For the promise-based clients (no boolean flow-control signal): await the
 * promise of every K-th publish, K chosen so that about 1 MiB of messages
 * (coney's high-water mark) is in flight, at most 1000 messages.
 */
export function promiseWindow(bodySize: number): number {
  return Math.max(1, Math.min(1000, Math.floor((1024 * 1024) / Math.max(1, bodySize))));
}

/** Publishes `count` messages with a promise-based client, awaiting every promiseWindow-th publish. */
export async function publishAwaitingEvery(count: number, bodySize: number, publishOne: () => Promise<unknown>): Promise<void> {
  const k = promiseWindow(bodySize);
  for (let i = 1; i <= count; i++) {
    const p = publishOne();
    if (i % k === 0) await p;
  }
}

/**
 * Publishes `count` messages in confirm mode with a promise-based client
 * whose publish promise settles on the broker's confirm.
 */
export async function publishConfirmedByPromise(count: number, window: number, publishOne: () => Promise<unknown>): Promise<void> {
  const w = new ConfirmWindow(count, window);
  for (let i = 0; i < count; i++) {
    if (w.full) await w.room();
    w.sent();
    publishOne().then(() => w.confirm(), w.fail);
  }
  await w.done;
}

/** Loads one adapter by name. */
export function loadAdapter(name: ClientName): ClientAdapter {
  switch (name) {
    case 'coney':
      return new (require('./coney') as typeof import('./coney')).ConeyAdapter();
    case 'coney-promise':
      return new (require('./coney-promise') as typeof import('./coney-promise')).ConeyPromiseAdapter();
    case 'coney-port':
      return new (require('./coney-port') as typeof import('./coney-port')).ConeyPortAdapter();
    case 'coney-iothread':
      return new (require('./coney-iothread') as typeof import('./coney-iothread')).ConeyIOThreadAdapter();
    case 'amqplib':
      return new (require('./amqplib') as typeof import('./amqplib')).AmqplibAdapter();
    case 'cloudamqp':
      return new (require('./cloudamqp') as typeof import('./cloudamqp')).CloudamqpAdapter();
    case 'rabbitmq-client':
      return new (require('./rabbitmq-client') as typeof import('./rabbitmq-client')).RabbitmqClientAdapter();
    default:
      throw new Error(`unknown client ${String(name)}`);
  }
}

/**
 * The bookkeeping of a confirm window, the same for every client: at most
 * `window` publishes unconfirmed; `done` resolves once `count` are confirmed.
 */
export class ConfirmWindow {
  private outstanding = 0;
  private confirmed = 0;
  private wake: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  private finish!: () => void;
  private abort!: (err: unknown) => void;
  /** Resolves when every publish has been confirmed; rejects on the first {@link fail}. */
  readonly done = new Promise<void>((resolve, reject) => {
    this.finish = resolve;
    this.abort = reject;
  });

  constructor(
    private readonly count: number,
    private readonly window: number,
  ) {}

  /** True when the next publish must wait for confirms. */
  get full(): boolean {
    return this.outstanding >= this.window;
  }

  /** Resolves when the window has room again. */
  room(): Promise<void> {
    return new Promise<void>((resolve, reject) => (this.wake = { resolve, reject }));
  }

  /** Counts a publish that went out. */
  sent(): void {
    this.outstanding++;
  }

  /** Counts `n` confirmed publishes. */
  readonly confirm = (n = 1): void => {
    this.outstanding -= n;
    this.confirmed += n;
    if (this.wake !== null && this.outstanding < this.window) {
      const wake = this.wake;
      this.wake = null;
      wake.resolve();
    }
    if (this.confirmed >= this.count) this.finish();
  };

  /** A publish failed (nacked, or its promise rejected): the run fails rather than waiting forever. */
  readonly fail = (err: unknown): void => {
    // `done` is awaited only after the last publish: mark it handled, whoever fails first
    this.done.catch(() => undefined);
    this.abort(err);
    const wake = this.wake;
    this.wake = null;
    wake?.reject(err);
  };
}

/**
 * Publishes `count` messages as fast as a boolean backpressure signal
 * allows: `publishOne` returns false above the client's high-water mark,
 * and `whenDrained` calls back once it may go on.
 */
export function publishWithDrain(count: number, publishOne: () => boolean, whenDrained: (resume: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const run = (): void => {
      while (i < count) {
        i++;
        if (!publishOne() && i < count) return whenDrained(run);
      }
      resolve();
    };
    run();
  });
}

/**
 * The request/reply bookkeeping of the sequential RPC scenario, the same for
 * every client: one request in flight, matched to its reply by correlation id.
 */
export class SequentialRpc {
  private pending: { id: string; resolve: () => void } | null = null;
  private seq = 0;

  /** Call with each reply's correlation id; resolves the request it answers. */
  readonly onReply = (correlationId: string | undefined): void => {
    const pending = this.pending;
    if (pending !== null && correlationId === pending.id) {
      this.pending = null;
      pending.resolve();
    }
  };

  /** Sends one request with `send(correlationId)`; resolves when its reply arrives. */
  request(send: (correlationId: string) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const id = String(++this.seq);
      this.pending = { id, resolve };
      send(id);
    });
  }
}
