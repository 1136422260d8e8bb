/**
 * The OpenTelemetry messaging semantic conventions for RabbitMQ, as coney
 * applies them: attribute names, `messaging.destination.name` and the span
 * names.
 * @packageDocumentation
 */
import type { Attributes } from '@opentelemetry/api';

/**
 * The attribute names coney's spans carry (OpenTelemetry semantic
 * conventions, messaging and RabbitMQ, development status as of v1.37).
 * @category OpenTelemetry
 */
export const ATTR = {
  messagingSystem: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destinationName: 'messaging.destination.name',
  destinationAnonymous: 'messaging.destination.anonymous',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
} as const;

/** A queue or routing key the broker named: `amq.gen-...` (server-named queue) or the direct reply-to pseudo-queue. */
export function isServerNamed(name: string): boolean {
  return name.startsWith('amq.gen-') || name.startsWith('amq.rabbitmq.reply-to');
}

/**
 * `messaging.destination.name` of a publish: `{exchange}:{routing key}`, or
 * the one that is not empty, or `amq.default` (the default exchange, no
 * routing key).
 */
export function publishDestination(exchange: string, routingKey: string): string {
  if (exchange !== '' && routingKey !== '') return `${exchange}:${routingKey}`;
  return exchange || routingKey || 'amq.default';
}

/**
 * `messaging.destination.name` of a delivery: `{exchange}:{routing key}:{queue}`
 * without the empty parts, and with the queue left out when it equals the
 * routing key (a publish to the default exchange).
 */
export function processDestination(exchange: string, routingKey: string, queue: string | undefined): string {
  const parts = [exchange, routingKey];
  if (queue !== undefined && queue !== routingKey) parts.push(queue);
  return parts.filter((p) => p !== '').join(':');
}

/**
 * The span name: `{operation} {destination}` as the conventions ask, where
 * the destination is `messaging.destination.name` built without the
 * server-named parts (an `amq.gen-...` queue or a reply-to address would
 * make one span name per queue); `{operation}` alone when nothing is left.
 */
export function spanName(operation: 'publish' | 'process', exchange: string, routingKey: string, queue?: string): string {
  const key = isServerNamed(routingKey) ? '' : routingKey;
  const destination =
    operation === 'publish'
      ? publishDestination(exchange, key)
      : processDestination(exchange, key, queue === undefined || isServerNamed(queue) ? undefined : queue);
  return destination === '' ? operation : `${operation} ${destination}`;
}

/** Where the connection is: `server.address` and `server.port`, when known. */
export interface ServerEndpoint {
  readonly host: string;
  readonly port: number;
}

/** The message attributes common to publish and process spans. */
export function messageAttributes(
  properties: { readonly messageId?: string; readonly correlationId?: string },
  body: Buffer,
  server: ServerEndpoint | undefined,
): Attributes {
  const attributes: Attributes = { [ATTR.messagingSystem]: 'rabbitmq', [ATTR.bodySize]: body.length };
  if (properties.messageId !== undefined) attributes[ATTR.messageId] = properties.messageId;
  if (properties.correlationId !== undefined) attributes[ATTR.conversationId] = properties.correlationId;
  if (server !== undefined) {
    attributes[ATTR.serverAddress] = server.host;
    attributes[ATTR.serverPort] = server.port;
  }
  return attributes;
}
