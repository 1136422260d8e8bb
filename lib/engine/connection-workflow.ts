/**
 * Tries parameter sets in order, the whole list in each round, as many
 * rounds as the last set's `connectionAttempts`, with the last set's
 * `retryDelay` between rounds (pika's AMQPConnectionWorkflow).
 * @packageDocumentation
 */
import { AuthenticationError, ConnectionOpenAborted, ConnectionWorkflowFailed, InvalidArgumentError, IncompatibleProtocolError } from '../errors';
import type { IOLoop, TimerHandle } from './ioloop';
import type { ConnectionParameters } from './parameters';

/** Makes one attempt with one parameter set; calls `done` once. Returns an abort function. */
export type AttemptFn = (params: ConnectionParameters, done: (err: Error | null) => void) => () => void;

/**
 * Errors that another attempt cannot fix: retrying a refused password or an
 * incompatible broker only hammers the broker, and a start-ok too large for
 * the broker stays too large.
 */
function isFinal(err: Error): boolean {
  return err instanceof AuthenticationError || err instanceof IncompatibleProtocolError || err instanceof InvalidArgumentError;
}

/**
 * The sets in a uniformly random order (Fisher-Yates), so that the clients of
 * a cluster spread over its nodes instead of all starting at the first one
 * (the Java client shuffles its address list the same way).
 */
export function shuffled<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** One run through every attempt; reports success, or the failure of all of them. */
export class ConnectionWorkflow {
  private readonly errors: Error[] = [];
  private round = 0;
  private index = -1;
  private abortAttempt: (() => void) | null = null;
  private retryTimer: TimerHandle | null = null;
  private finished = false;

  constructor(
    private readonly loop: IOLoop,
    private readonly parameters: readonly ConnectionParameters[],
    private readonly attempt: AttemptFn,
    private readonly done: (err: Error | null, params?: ConnectionParameters) => void,
    /**
     * `rounds`: instead of the last set's connectionAttempts (recovery runs one
     * round at a time, with its own backoff). `shuffle`: each round tries the
     * sets in a new random order (see {@link shuffled}).
     */
    private readonly options: { readonly rounds?: number; readonly shuffle?: boolean } = {},
  ) {
    this.order = options.shuffle === true ? shuffled(parameters) : parameters;
  }

  /** The sets in the order of the current round. */
  private order: readonly ConnectionParameters[];

  /** Begins with the first parameter set. */
  start(): void {
    this.next();
  }

  /** Stops everything; `done` gets a ConnectionOpenAborted. */
  abort(): void {
    if (this.finished) return;
    if (this.retryTimer !== null) this.loop.removeTimeout(this.retryTimer);
    const abortAttempt = this.abortAttempt;
    this.abortAttempt = null;
    if (abortAttempt !== null) abortAttempt();
    this.finish(new ConnectionOpenAborted('connection.close() was called while the connection was opening'));
  }

  /**
   * pika's rule: the whole list is tried in each round, as many rounds as the
   * last set's `connectionAttempts`, with the last set's `retryDelay` between
   * rounds (a primary listed first is tried again in every round).
   */
  private get last(): ConnectionParameters {
    return this.parameters[this.parameters.length - 1];
  }

  private next(): void {
    this.retryTimer = null;
    this.index += 1;
    if (this.index >= this.order.length) {
      this.index = -1;
      this.round += 1;
      if (this.options.shuffle === true) this.order = shuffled(this.parameters);
      if (this.round >= (this.options.rounds ?? this.last.connectionAttempts)) return this.finish(this.failure());
      this.retryTimer = this.loop.callLater(this.last.retryDelay, () => this.next());
      return;
    }
    const params = this.order[this.index];
    this.abortAttempt = this.attempt(params, (err) => {
      this.abortAttempt = null;
      if (err === null) return this.finish(null, params);
      this.errors.push(err);
      if (isFinal(err)) return this.finish(err);
      this.next();
    });
  }

  private failure(): Error {
    return this.errors.length === 1 ? this.errors[0] : new ConnectionWorkflowFailed(this.errors);
  }

  private finish(err: Error | null, params?: ConnectionParameters): void {
    if (this.finished) return;
    this.finished = true;
    this.done(err, params);
  }
}
