/**
 * The 14 basic properties in flag order (AMQP 0-9-1, class basic), written
 * out by hand so that the specs that check the generated codec (and the raw
 * decoder of the interop specs) do not take the order from the codec itself.
 */
export const PROPERTY_NAMES = [
  'contentType',
  'contentEncoding',
  'headers',
  'deliveryMode',
  'priority',
  'correlationId',
  'replyTo',
  'expiration',
  'messageId',
  'timestamp',
  'type',
  'userId',
  'appId',
  'clusterId',
] as const;
