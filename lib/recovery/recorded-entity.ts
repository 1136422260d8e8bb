/**
 * What recovery knows of the application's topology: each exchange, queue,
 * binding and consumer declared through the connection, with its exact
 * arguments, in the shape `filter` and `onEntityError` receive.
 * @packageDocumentation
 */
import type { FieldTable } from '../wire/field-table';

/**
 * An exchange declared through the connection.
 * @category Recovery
 */
export interface RecordedExchange {
  readonly kind: 'exchange';
  readonly name: string;
  readonly type: string;
  readonly options: { readonly durable: boolean; readonly autoDelete: boolean; readonly internal: boolean; readonly arguments: FieldTable };
}

/**
 * A queue declared through the connection; `serverNamed`: declared with the
 * name '' (the broker gives it a new name on each recovery).
 * @category Recovery
 */
export interface RecordedQueue {
  readonly kind: 'queue';
  name: string;
  readonly serverNamed: boolean;
  readonly options: { readonly durable: boolean; readonly exclusive: boolean; readonly autoDelete: boolean; readonly arguments: FieldTable };
}

/**
 * A queue binding (`queueBind`) or an exchange-to-exchange binding (`exchangeBind`).
 * @category Recovery
 */
export interface RecordedBinding {
  readonly kind: 'binding';
  readonly destinationKind: 'queue' | 'exchange';
  destination: string;
  readonly source: string;
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

/**
 * A consumer, re-registered on its own channel with its tag and options.
 * @category Recovery
 */
export interface RecordedConsumer {
  readonly kind: 'consumer';
  readonly queue: string;
  readonly consumerTag: string;
  readonly options: { readonly autoAck: boolean; readonly exclusive: boolean; readonly noLocal: boolean; readonly arguments: FieldTable };
}

/**
 * One recorded entity, as `filter` and `onEntityError` see it.
 * @category Recovery
 */
export type RecordedEntity = RecordedExchange | RecordedQueue | RecordedBinding | RecordedConsumer;

/** A one-line description for error messages: "queue 'jobs'", "binding 'logs' -> queue 'q1' ('#')". */
export function describeEntity(entity: RecordedEntity): string {
  switch (entity.kind) {
    case 'exchange':
    case 'queue':
      return `${entity.kind} ${JSON.stringify(entity.name)}`;
    case 'binding':
      return `binding ${JSON.stringify(entity.source)} -> ${entity.destinationKind} ${JSON.stringify(entity.destination)} (${JSON.stringify(entity.routingKey)})`;
    case 'consumer':
      return `consumer ${JSON.stringify(entity.consumerTag)} on queue ${JSON.stringify(entity.queue)}`;
  }
}
