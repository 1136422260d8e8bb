/**
 * The client properties sent in `connection.start-ok`: who we are and which
 * RabbitMQ extensions we understand.
 * @packageDocumentation
 */
import type { FieldTable } from '../wire/field-table';
import { VERSION } from '../version';

/** The capabilities coney implements; the broker enables extensions from this table. */
export const CLIENT_CAPABILITIES: FieldTable = Object.freeze({
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
});

/**
 * Builds the client properties: ours, with the user's merged over them
 * (capabilities merged key by key), and `connection_name` when one is given.
 */
export function clientProperties(overrides: FieldTable = {}, connectionName?: string): FieldTable {
  const base: FieldTable = {
    product: 'coney',
    version: VERSION,
    platform: `Node.js ${process.version}`,
    information: 'AMQP 0-9-1 client for TypeScript, in the style of pika',
  };
  const userCapabilities = overrides['capabilities'];
  const capabilities =
    userCapabilities !== null && typeof userCapabilities === 'object' && !Array.isArray(userCapabilities)
      ? { ...CLIENT_CAPABILITIES, ...(userCapabilities as FieldTable) }
      : { ...CLIENT_CAPABILITIES };
  const named = connectionName === undefined ? {} : { connection_name: connectionName };
  return { ...base, ...overrides, ...named, capabilities };
}
