/**
 * coney: an AMQP 0-9-1 client for TypeScript on Node.js, in the style of
 * pika's `SelectConnection`.
 *
 * Layers, lowest first: `wire` (the generated codec and frames, no I/O),
 * `engine` (connection and channel state machines), `adapters` (sockets and
 * loops). This module is the public surface described in API.md.
 * @packageDocumentation
 */
export * as spec from './wire/spec';
export { BasicProperties, type BasicPropertiesInit } from './wire/spec';
export { Decimal, TypedValue, Typed, type FieldTable, type FieldValue } from './wire/field-table';
export { FrameParser } from './wire/frame-parser';
export { FrameWriter } from './wire/frame-writer';
export { PROTOCOL_HEADER, type Frame } from './wire/frame';

export type { IOLoop, TimerHandle, Transport, TransportHandlers, TransportTarget, TlsOptions, TcpOptions } from './engine/ioloop';
export { PlainCredentials, ExternalCredentials, type Credentials } from './engine/credentials';
export { ConnectionParameters, type ConnectionParametersOptions } from './engine/parameters';
export { URLParameters } from './engine/url-parameters';
export { Connection, type ConnectionOptions } from './engine/connection';
export {
  Channel,
  type Callback,
  type OnMessage,
  type GetMessage,
  type ExchangeDeclareOptions,
  type QueueDeclareOptions,
  type BindOptions,
  type ConsumeOptions,
  type QosOptions,
} from './engine/channel';

export { NodeIOLoop, type NodeIOLoopOptions } from './adapters/node-ioloop';
export { VirtualIOLoop, type VirtualPeer } from './adapters/virtual-ioloop';
export { DuplexTransport, StreamIOLoop, type StreamIOLoopOptions } from './adapters/duplex-transport';
export { SelectConnection, type SelectConnectionOptions } from './adapters/select-connection';

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
  FrameError,
  InvalidArgumentError,
  SocketConnectError,
  StackTimeoutError,
  ConnectionWorkflowFailed,
  NoFreeChannelsError,
} from './errors';
export { VERSION } from './version';
