/**
 * Automatic recovery of one connection: decides which closes are recovered,
 * runs the reconnect rounds (every parameter set in each round, exponential
 * backoff with full jitter between rounds, up to `maxAttempts`), redeclares
 * the recorded topology, then has the connection bring its channels back
 * (qos, confirm mode, consumers, republishing, held calls) and reports the
 * outcome: `onRecovered`, or `onRecoveryFailed` then `onClose`.
 * @packageDocumentation
 */
import {
  AuthenticationError,
  ChannelClosed,
  ConnectionClosedByBroker,
  ConnectionClosedByClient,
  IncompatibleProtocolError,
  InvalidArgumentError,
  RecoveryFailedError,
} from '../errors';
import type { Channel } from '../engine/channel';
import type { ConsumeOptions } from '../engine/channel-options';
import type { Connection } from '../engine/connection';
import type { TimerHandle } from '../engine/ioloop';
import type { RecoveryHooks } from '../engine/recovery-hooks';
import { debug } from '../engine/debug-log';
import { lifeCycleEvent, recoveryEvents } from '../engine/diagnostics';
import * as spec from '../wire/spec';
import { backoffDelay } from './backoff';
import type { RecoverySettings } from './options';
import { describeEntity, type RecordedEntity } from './recorded-entity';
import { TopologyRecorder } from './topology-recorder';

/**
 * The application's recovery callbacks.
 * @category Recovery
 */
export interface RecoveryEvents {
  /** The connection was lost and round `attempt` (1, 2, ...) of reconnecting begins. */
  onRecovering?: (connection: Connection, reason: Error, attempt: number) => void;
  /** The connection, its topology and its channels are back. */
  onRecovered?: (connection: Connection) => void;
  /** Recovery gave up (maxAttempts, a refused login, an aborting entity error); `onClose` follows. */
  onRecoveryFailed?: (connection: Connection, err: Error) => void;
  /** A server-named queue got a new name on the new connection (bindings and consumers follow it). */
  onQueueNameChange?: (connection: Connection, oldName: string, newName: string) => void;
}

/** Broker reply codes that refuse this client (access refused, not allowed): reconnecting would be refused again. */
const REFUSALS = new Set([spec.ACCESS_REFUSED, spec.NOT_ALLOWED]);

/** See the module comment. */
export class ConnectionRecovery implements RecoveryHooks {
  readonly topology = new TopologyRecorder();
  private reason: Error | null = null;
  private round = 0;
  private timer: TimerHandle | null = null;
  private lastError: Error | null = null;
  private cancelled = false;
  /**
   * Counts outages: a callback of an earlier recovery (the link was lost
   * again while restoring) finds a newer epoch and does nothing.
   */
  private epoch = 0;
  /** The next outage continues this recovery (its rounds and reason) rather than starting one. */
  private continuing = false;

  constructor(
    private readonly connection: Connection,
    private readonly settings: RecoverySettings,
    private readonly events: RecoveryEvents,
    private readonly random: () => number = Math.random,
  ) {}

  get republish(): boolean {
    return this.settings.republish;
  }

  shouldRecover(reason: Error): boolean {
    if (reason instanceof ConnectionClosedByClient) return false;
    if (reason instanceof AuthenticationError || reason instanceof IncompatibleProtocolError || reason instanceof InvalidArgumentError) return false;
    return !(reason instanceof ConnectionClosedByBroker && REFUSALS.has(reason.replyCode));
  }

  keepConsumer(queue: string, consumerTag: string, options: Required<Omit<ConsumeOptions, 'consumerTag'>>): boolean {
    if (!this.settings.consumers) return false;
    const { autoAck, exclusive, noLocal, arguments: args } = options;
    return this.settings.filter({ kind: 'consumer', queue, consumerTag, options: { autoAck, exclusive, noLocal, arguments: args } });
  }

  onLost(reason: Error): void {
    this.epoch += 1;
    this.topology.muted = false;
    if (this.continuing) {
      this.continuing = false;
      this.lastError = reason;
      return this.nextRound();
    }
    this.reason = reason;
    this.round = 0;
    this.lastError = reason;
    this.cancelled = false;
    this.nextRound();
  }

  cancel(): void {
    this.cancelled = true;
    if (this.timer !== null) this.connection.ioloop.removeTimeout(this.timer);
    this.timer = null;
  }

  /** Waits the backoff, then walks every parameter set once. */
  private nextRound(): void {
    if (this.cancelled) return;
    if (this.round >= this.settings.maxAttempts) {
      return this.fail(`gave up after ${this.round} round(s) of reconnecting`, this.lastError);
    }
    this.round += 1;
    const round = this.round;
    lifeCycleEvent(recoveryEvents, 'recovering', this.connection, undefined, this.reason!);
    this.connection.invoke(this.events.onRecovering, this.connection, this.reason!, round);
    const delay = backoffDelay(round, this.settings.initialDelay, this.settings.maxDelay, this.random);
    debug('recovery round %d in %s s', round, delay.toFixed(3));
    const epoch = this.epoch;
    this.timer = this.connection.ioloop.callLater(delay, () => {
      this.timer = null;
      if (this.cancelled) return;
      this.connection.reconnect((err) => {
        if (this.current(epoch)) this.onReconnected(err);
      });
    });
  }

  /** True while the recovery begun in `epoch` is the one in progress. */
  private current(epoch: number): boolean {
    return epoch === this.epoch && !this.cancelled && this.connection.isRecovering;
  }

  private onReconnected(err: Error | null): void {
    if (err === null) return this.restoreTopology();
    this.lastError = err;
    // What another round cannot fix: a refused login, another protocol, a refused frameMax (InvalidArgumentError).
    if (err instanceof AuthenticationError || err instanceof IncompatibleProtocolError || err instanceof InvalidArgumentError) {
      return this.fail('the broker refused the reconnect', err);
    }
    this.nextRound();
  }

  /** Redeclares the recorded entities one by one on a channel of recovery's own. */
  private restoreTopology(): void {
    const entities = this.settings.topology ? this.topology.entities().filter((e) => this.decide(() => this.settings.filter(e), true)) : [];
    this.topology.muted = true;
    debug('recovery: redeclaring %d entities', entities.length);
    this.redeclare(entities, 0, null, this.epoch);
  }

  private redeclare(entities: RecordedEntity[], index: number, channel: Channel | null, epoch: number): void {
    if (!this.current(epoch)) return; // lost again, or closed: a newer recovery (or none) goes on
    if (index >= entities.length) {
      this.topology.muted = false;
      if (channel !== null && channel.isOpen) channel.close();
      return this.restoreChannels(epoch);
    }
    if (channel === null || !channel.isOpen) {
      this.connection.openRecoveryChannel((err, ch) => {
        if (err === null) this.redeclare(entities, index, ch!, epoch);
      });
      return;
    }
    const entity = entities[index];
    this.declare(channel, entity, (err) => {
      if (!this.current(epoch)) return;
      if (err === null) return this.redeclare(entities, index + 1, channel, epoch);
      if (!(err instanceof ChannelClosed)) return; // the link failed: the next outage's recovery redoes this
      if (err.replyCode === spec.RESOURCE_LOCKED) {
        // The broker has not yet noticed that the old connection is gone (a silent network):
        // its exclusive queue is still locked. Not an error of the entity: the next round retries.
        this.topology.muted = false;
        this.continuing = true;
        return this.connection.retryRecovery(err);
      }
      debug('recovery: redeclaring %s failed: %s', describeEntity(entity), err.message);
      const verdict = this.decide(() => this.settings.onEntityError(entity, err), 'abort');
      if (verdict === 'skip') {
        this.topology.forget(entity);
        return this.redeclare(entities, index + 1, channel, epoch);
      }
      this.topology.muted = false;
      this.fail(`redeclaring ${describeEntity(entity)} failed`, err);
    });
  }

  /** Sends one entity's declare or bind; a server-named queue's new name is passed on. */
  private declare(channel: Channel, entity: RecordedEntity, done: (err: Error | null) => void): void {
    switch (entity.kind) {
      case 'exchange':
        return channel.exchangeDeclare(entity.name, { type: entity.type, ...entity.options }, (err) => done(err));
      case 'queue': {
        const oldName = entity.name;
        return channel.queueDeclare(entity.serverNamed ? '' : oldName, entity.options, (err, ok) => {
          if (err === null && ok.queue !== oldName) this.renamed(oldName, ok.queue);
          done(err);
        });
      }
      case 'binding':
        if (entity.destinationKind === 'queue') {
          return channel.queueBind(entity.destination, entity.source, entity.routingKey, { arguments: entity.arguments }, (err) => done(err));
        }
        return channel.exchangeBind(entity.destination, entity.source, entity.routingKey, { arguments: entity.arguments }, (err) => done(err));
      case 'consumer':
        return done(null); // consumers come back on their own channels
    }
  }

  private renamed(oldName: string, newName: string): void {
    this.topology.rename(oldName, newName);
    this.connection.renameQueue(oldName, newName);
    this.connection.invoke(this.events.onQueueNameChange, this.connection, oldName, newName);
  }

  private restoreChannels(epoch: number): void {
    this.connection.restoreChannels(() => {
      if (!this.current(epoch)) return;
      this.connection.completeRecovery();
      lifeCycleEvent(recoveryEvents, 'recovered', this.connection);
      this.connection.invoke(this.events.onRecovered, this.connection);
    });
  }

  /**
   * The answer of an application callback (`filter`, `onEntityError`), or
   * `fallback` when it throws: the exception goes where a callback's
   * exceptions go (onCallbackError), and recovery goes on.
   */
  private decide<T>(ask: () => T, fallback: T): T {
    let answer = fallback;
    this.connection.invoke(() => (answer = ask()));
    return answer;
  }

  /** Gives up: onRecoveryFailed, then the connection closes (onClose) with the same error. */
  private fail(what: string, cause: Error | null): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const detail = cause === null ? '' : `: ${cause.name}: ${cause.message}`;
    const err = new RecoveryFailedError(`connection recovery failed: ${what}${detail}`, { cause: cause ?? undefined, reason: this.reason! });
    lifeCycleEvent(recoveryEvents, 'failed', this.connection, undefined, err);
    this.connection.invoke(this.events.onRecoveryFailed, this.connection, err);
    this.connection.abandonRecovery(err);
  }
}
