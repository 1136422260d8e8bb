/**
 * The error hierarchy of coney. Every error the library reports is an
 * {@link AMQPError}; the subclasses say which layer failed so that recovery
 * code can branch with `instanceof` (the shape of pika's `exceptions.py`).
 *
 * This module sits below every other layer: it imports nothing.
 * @packageDocumentation
 */

/**
 * Base class of every error coney reports.
 * @category Errors
 */
export class AMQPError extends Error {
  /** @param options `cause`: the underlying error, if any. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Adds the reply code and text of an AMQP close (`connection.close`,
 * `channel.close`) to an error class: the one body of ConnectionClosed and
 * ChannelClosed, whose bases differ.
 */
function withReply<B extends new (...args: any[]) => AMQPError>(Base: B) {
  abstract class Closed extends Base {
    /** The AMQP reply code of the close. */
    readonly replyCode: number;
    /** The AMQP reply text of the close. */
    readonly replyText: string;
    // A mixin's constructor must take `any[]`; the classes built on it declare the real signature.
    constructor(...args: any[]) {
      const [replyCode, replyText, message] = args as [number, string, string | undefined];
      super(message ?? `(${replyCode}) ${replyText}`);
      this.replyCode = replyCode;
      this.replyText = replyText;
    }
  }
  return Closed as unknown as abstract new (
    replyCode: number,
    replyText: string,
    message?: string,
  ) => InstanceType<B> & {
    readonly replyCode: number;
    readonly replyText: string;
  };
}

/**
 * Malformed input from the peer: a bad frame, an unknown type tag, truncated data.
 * @category Errors
 */
export class FrameError extends AMQPError {}

/**
 * A problem with the connection as a whole (socket, handshake, broker close).
 * @category Errors
 */
export class AMQPConnectionError extends AMQPError {}

/**
 * The connection was closed or failed before it finished opening.
 * @category Errors
 */
export class ConnectionOpenAborted extends AMQPConnectionError {}

/**
 * The socket closed or errored without an AMQP close handshake.
 * @category Errors
 */
export class StreamLostError extends AMQPConnectionError {}

/**
 * The peer does not speak AMQP 0-9-1 (it answered with another protocol header).
 * @category Errors
 */
export class IncompatibleProtocolError extends AMQPConnectionError {}

/**
 * The broker rejected the login or the virtual host.
 * @category Errors
 */
export class AuthenticationError extends AMQPConnectionError {}

/**
 * The broker closed the socket during the login: most likely a wrong user name or password.
 * @category Errors
 */
export class ProbableAuthenticationError extends AuthenticationError {}

/**
 * The broker refused `connection.open`: most likely no permission on the virtual host.
 * @category Errors
 */
export class ProbableAccessDeniedError extends AuthenticationError {}

/**
 * Nothing arrived from the broker for two heartbeat intervals.
 * @category Errors
 */
export class AMQPHeartbeatTimeout extends AMQPConnectionError {}

/**
 * The broker kept the connection blocked longer than `blockedConnectionTimeout`.
 * @category Errors
 */
export class ConnectionBlockedTimeout extends AMQPConnectionError {}

/**
 * A call was made on a connection in a state that does not allow it.
 * @category Errors
 */
export class ConnectionWrongStateError extends AMQPConnectionError {}

/**
 * The connection was closed with an AMQP `connection.close`.
 * @category Errors
 */
export class ConnectionClosed extends withReply(AMQPConnectionError) {
  /** @param message default: `(replyCode) replyText` */
  constructor(replyCode: number, replyText: string, message?: string) {
    super(replyCode, replyText, message);
  }
}

/**
 * The broker closed the connection (for example `rabbitmqctl close_connection`).
 * @category Errors
 */
export class ConnectionClosedByBroker extends ConnectionClosed {}

/**
 * This client closed the connection with `connection.close()`.
 * @category Errors
 */
export class ConnectionClosedByClient extends ConnectionClosed {}

/**
 * A problem confined to one channel.
 * @category Errors
 */
export class AMQPChannelError extends AMQPError {}

/**
 * The channel was closed with an AMQP `channel.close`.
 * @category Errors
 */
export class ChannelClosed extends withReply(AMQPChannelError) {
  /** @param message default: `(replyCode) replyText` */
  constructor(replyCode: number, replyText: string, message?: string) {
    super(replyCode, replyText, message);
  }
}

/**
 * The broker closed the channel (a channel-level exception such as 404 or 406).
 * @category Errors
 */
export class ChannelClosedByBroker extends ChannelClosed {}

/**
 * This client closed the channel with `channel.close()`.
 * @category Errors
 */
export class ChannelClosedByClient extends ChannelClosed {}

/**
 * A call was made on a channel in a state that does not allow it.
 * @category Errors
 */
export class ChannelWrongStateError extends AMQPChannelError {}

/**
 * `basicConsume` was given a consumer tag already in use on the channel.
 * @category Errors
 */
export class DuplicateConsumerTag extends AMQPChannelError {}

/**
 * A mandatory message could not be routed and came back with `basic.return`.
 * @category Errors
 */
export class UnroutableError extends AMQPChannelError {}

/**
 * The broker negatively acknowledged a published message.
 * @category Errors
 */
export class NackError extends AMQPChannelError {}

/**
 * A promise-API `rpc` got no reply within its `timeout`. A reply that
 * arrives later is dropped (and counted in `AsyncChannel.lateReplies`).
 * @category Errors
 */
export class RpcTimeoutError extends AMQPChannelError {}

/**
 * A message arrived in sound frames but its properties could not be decoded
 * within the limits (tables nested too deep, truncated, unknown flags). It was
 * rejected without requeue (a dead-letter exchange catches it) and the
 * channel goes on; this error reaches the channel's error callbacks and a
 * `ConeyWarning`. `cause` is the decoding FrameError.
 * @category Errors
 */
export class UndecodableMessageError extends AMQPChannelError {
  /** The channel the message arrived on. */
  readonly channelNumber: number;
  /** The queue it came from, when known (a consumer's or basic.get's queue). */
  readonly queue: string | undefined;
  /** Its delivery tag (undefined for a returned message). */
  readonly deliveryTag: number | undefined;
  constructor(message: string, details: { cause: unknown; channelNumber: number; queue: string | undefined; deliveryTag: number | undefined }) {
    super(message, { cause: details.cause });
    this.channelNumber = details.channelNumber;
    this.queue = details.queue;
    this.deliveryTag = details.deliveryTag;
  }
}

/**
 * A user-supplied argument is invalid; the message names the argument.
 * @category Errors
 */
export class InvalidArgumentError extends AMQPError {}

/**
 * The TCP (or TLS) connect failed: refused, unreachable, or timed out after `socketTimeout`.
 * @category Errors
 */
export class SocketConnectError extends AMQPConnectionError {}

/**
 * The whole TCP + TLS + AMQP handshake took longer than `stackTimeout`.
 * @category Errors
 */
export class StackTimeoutError extends AMQPConnectionError {}

/**
 * Every connection attempt failed; `attempts` lists each attempt's error in order.
 * @category Errors
 */
export class ConnectionWorkflowFailed extends AMQPConnectionError {
  /** The error of each attempt, in the order they were made. */
  readonly attempts: readonly Error[];
  constructor(attempts: readonly Error[]) {
    const lines = attempts.map((e, i) => `  attempt ${i + 1}: ${e.name}: ${e.message}`);
    super(`all ${attempts.length} connection attempt(s) failed:\n${lines.join('\n')}`);
    this.attempts = attempts;
  }
}

/**
 * The token provider of a `TokenCredentials` failed: it threw, rejected,
 * did not answer in time, or resolved to something that is not a usable
 * token (`cause` says which; the message never shows a token). Before a
 * connection attempt it fails that attempt (another attempt, or a recovery
 * round, calls the provider again); on an open connection it is reported to
 * the credentials' `onRefreshError` (default: a `ConeyWarning`) and the
 * refresh is retried after `retryIn` seconds.
 * @category Errors
 */
export class TokenProviderError extends AMQPConnectionError {
  /** Consecutive failures of this refresh, counting this one (1 for a connection attempt). */
  readonly failures: number;
  /** Seconds until the next try on an open connection; undefined before a connection attempt. */
  readonly retryIn: number | undefined;
  /** When the token in use expires; undefined when it has no expiry or there is none yet. */
  readonly expiresAt: Date | undefined;
  constructor(message: string, details: { cause: unknown; failures?: number; retryIn?: number; expiresAt?: Date }) {
    super(message, { cause: details.cause });
    this.failures = details.failures ?? 1;
    this.retryIn = details.retryIn;
    this.expiresAt = details.expiresAt;
  }
}

/**
 * Every channel number up to the negotiated `channelMax` is in use.
 * @category Errors
 */
export class NoFreeChannelsError extends AMQPConnectionError {}

/**
 * Automatic recovery gave up: `maxAttempts` rounds failed, the broker
 * refused the reconnect, or a redeclare failed and `onEntityError` said
 * 'abort'. `reason` is the outage that started the recovery; `cause` the
 * last failure. `onRecoveryFailed` and then `onClose` receive it.
 * @category Errors
 */
export class RecoveryFailedError extends AMQPConnectionError {
  /** Why the connection was lost in the first place. */
  readonly reason: Error;
  constructor(message: string, details: { cause: unknown; reason: Error }) {
    super(message, { cause: details.cause });
    this.reason = details.reason;
  }
}

/** @internal An error as one phrase for a message or a log line: `Name: message` (anything else thrown: as a string). */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
