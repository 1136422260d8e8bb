/**
 * coney: an AMQP 0-9-1 client for TypeScript on Node.js, in the style of
 * pika's `SelectConnection`.
 *
 * Layers, lowest first: `wire` (the generated codec and frames, no I/O),
 * `engine` (connection and channel state machines), `adapters` (sockets and
 * loops), `promise` (the promise API over them). This module is the public surface described in docs/API.md.
 * @packageDocumentation
 */
export * as spec from './wire/spec';
export { BasicProperties, type BasicPropertiesInit } from './wire/spec';
export { Decimal, TypedValue, Typed, type FieldTable, type FieldValue, type FieldType } from './wire/field-table';
export { Reader, Writer } from './wire/codec';
export { FrameParser } from './wire/frame-parser';
export { FrameWriter } from './wire/frame-writer';
export {
  PROTOCOL_HEADER,
  type Frame,
  type MethodFrame,
  type HeaderFrame,
  type BodyFrame,
  type HeartbeatFrame,
  type ProtocolHeaderFrame,
  type FrameHandler,
} from './wire/frame';

export type { IOLoop, TimerHandle, Transport, TransportHandlers, TransportTarget, TlsOptions, TcpOptions } from './engine/ioloop';
export { PlainCredentials, ExternalCredentials, type Credentials } from './engine/credentials';
export { TokenCredentials, type Token, type TokenProvider, type TokenCredentialsOptions } from './engine/token-credentials';
export { ConnectionParameters, type ConnectionParametersOptions, type HeartbeatCallback } from './engine/parameters';
export type { AssembledMessage } from './engine/content-assembler';
export type { ParametersInput } from './engine/parameter-sets';
export { URLParameters } from './engine/url-parameters';
export { Connection, type ConnectionOptions } from './engine/connection';
export { ConnectionStats, STAT_NAMES, type StatName } from './engine/connection-stats';
export { CHANNEL_NAMES, type PublishContext, type DeliverContext, type LifeCycleEvent } from './engine/diagnostics';
export { LifeCycle, type LifeName } from './engine/life-cycle';
export { Channel, type OnMessage, type OnReturn, type OnAckNack, type GetMessage } from './engine/channel';
export type { Callback, ErrorCallback } from './engine/callback-types';
export type {
  ExchangeDeclareOptions,
  ExchangeDeleteOptions,
  QueueDeclareOptions,
  QueueDeleteOptions,
  BindOptions,
  UnbindOptions,
  ConsumeOptions,
  QosOptions,
  GetOptions,
  NoWaitOptions,
  PublishOptions,
} from './engine/channel-options';
export type { QueueArguments, ConsumeArguments, IntegerArgument, RetentionInterval, StreamOffset } from './engine/queue-arguments';

export { NodeIOLoop, type NodeIOLoopOptions } from './adapters/node-ioloop';
export { VirtualIOLoop, VirtualPeer, type VirtualIOLoopOptions, type VirtualListenOptions } from './adapters/virtual-ioloop';
export { DuplexTransport, type DuplexTransportOptions, type ChunkSource } from './adapters/duplex-transport';
export { StreamIOLoop, type StreamIOLoopOptions } from './adapters/stream-ioloop';
export { SelectConnection, type SelectConnectionOptions } from './adapters/select-connection';
export type { RecoveryOptions } from './recovery/options';
export type { RecoveryEvents } from './recovery/connection-recovery';
export type { RecordedEntity, RecordedExchange, RecordedQueue, RecordedBinding, RecordedConsumer } from './recovery/recorded-entity';

export type { ConnectOptions } from './promise/connect';
export { AsyncConnection } from './promise/async-connection';
export { AsyncChannel, type ConsumeIteratorOptions, DEFAULT_CONSUME_PREFETCH } from './promise/async-channel';
export { ConsumeIterator } from './promise/consume-iterator';
export { Message } from './promise/message';
export { type RpcOptions, DIRECT_REPLY_TO } from './promise/direct-reply';

export { connect, type IOThreadConnectOptions } from './threads/connect';
export { IOThreadConnection } from './threads/io-thread-connection';
export { channelFromPort, type ChannelFromPortOptions } from './threads/channel-from-port';
export { PortChannel } from './threads/port-channel';
export { PortMessage } from './threads/port-message';
export { PortConsumeIterator } from './threads/port-consume-iterator';

export {
  AMQPError,
  AMQPConnectionError,
  ConnectionOpenAborted,
  StreamLostError,
  IncompatibleProtocolError,
  AuthenticationError,
  ProbableAuthenticationError,
  ProbableAccessDeniedError,
  AMQPHeartbeatTimeout,
  ConnectionBlockedTimeout,
  ConnectionWrongStateError,
  ConnectionClosed,
  ConnectionClosedByBroker,
  ConnectionClosedByClient,
  AMQPChannelError,
  ChannelClosed,
  ChannelClosedByBroker,
  ChannelClosedByClient,
  ChannelWrongStateError,
  DuplicateConsumerTag,
  UnroutableError,
  NackError,
  UndecodableMessageError,
  FrameError,
  InvalidArgumentError,
  SocketConnectError,
  StackTimeoutError,
  ConnectionWorkflowFailed,
  NoFreeChannelsError,
  RecoveryFailedError,
  RpcTimeoutError,
  TokenProviderError,
} from './errors';
export { VERSION } from './version';
