/**
 * Records the exchanges, queues and bindings the application declares
 * through a connection (on any of its channels), so that recovery can
 * redeclare them on the next connection: exactly as declared, in the order
 * exchanges, queues, bindings. Deletes and unbinds remove records; an
 * auto-delete queue's record goes with its last consumer on this connection
 * (the broker deletes the queue then); a passive declare records nothing.
 * @packageDocumentation
 */
import type { TopologyObserver } from '../engine/topology-observer';
import * as spec from '../wire/spec';
import type { FieldTable } from '../wire/field-table';
import type { RecordedBinding, RecordedEntity, RecordedExchange, RecordedQueue } from './recorded-entity';

/** The broker's own exchanges: declaring them is refused (403), and they always exist. */
function isPredeclared(exchange: string): boolean {
  return exchange === '' || exchange.startsWith('amq.');
}

/** Field tables compared by content (bindings differ by their arguments). */
function sameTable(a: FieldTable, b: FieldTable): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** See the module comment. */
export class TopologyRecorder implements TopologyObserver {
  private readonly exchanges = new Map<string, RecordedExchange>();
  private readonly queues = new Map<string, RecordedQueue>();
  private bindings: RecordedBinding[] = [];
  /** Consumers per queue on this connection, for the auto-delete rule. */
  private readonly consumerCounts = new Map<string, number>();
  /** While recovery redeclares, what it does is not recorded again. */
  muted = false;

  /** Every record, in redeclare order: exchanges, queues, bindings. */
  entities(): RecordedEntity[] {
    return [...this.exchanges.values(), ...this.queues.values(), ...this.bindings];
  }

  /** A server-named queue got `newName` on the new connection: its record and bindings follow. */
  rename(oldName: string, newName: string): void {
    const queue = this.queues.get(oldName);
    if (queue === undefined) return;
    this.queues.delete(oldName);
    queue.name = newName;
    this.queues.set(newName, queue);
    for (const b of this.bindings) if (b.destinationKind === 'queue' && b.destination === oldName) b.destination = newName;
    const count = this.consumerCounts.get(oldName);
    this.consumerCounts.delete(oldName);
    if (count !== undefined) this.consumerCounts.set(newName, count);
  }

  /** Forgets one entity (a redeclare of it failed and was skipped). */
  forget(entity: RecordedEntity): void {
    if (entity.kind === 'exchange') this.forgetExchange(entity.name);
    else if (entity.kind === 'queue') this.forgetQueue(entity.name);
    else if (entity.kind === 'binding') this.bindings = this.bindings.filter((b) => b !== entity);
  }

  onTopology(method: spec.AMQPMethod, reply: spec.AMQPMethod | undefined): void {
    if (this.muted) return;
    if (method instanceof spec.Exchange.Declare) this.onExchangeDeclare(method);
    else if (method instanceof spec.Queue.Declare) this.onQueueDeclare(method, reply);
    else if (method instanceof spec.Exchange.Delete) this.forgetExchange(method.exchange);
    else if (method instanceof spec.Queue.Delete) this.forgetQueue(method.queue);
    else if (method instanceof spec.Queue.Bind) this.bind('queue', method.queue, method.exchange, method.routingKey, method.arguments);
    else if (method instanceof spec.Exchange.Bind) this.bind('exchange', method.destination, method.source, method.routingKey, method.arguments);
    else if (method instanceof spec.Queue.Unbind) this.unbind('queue', method.queue, method.exchange, method.routingKey, method.arguments);
    else if (method instanceof spec.Exchange.Unbind) this.unbind('exchange', method.destination, method.source, method.routingKey, method.arguments);
  }

  onConsumerStarted(queue: string): void {
    if (this.muted) return;
    this.consumerCounts.set(queue, (this.consumerCounts.get(queue) ?? 0) + 1);
  }

  onConsumerEnded(queue: string): void {
    const left = (this.consumerCounts.get(queue) ?? 1) - 1;
    if (left > 0) return void this.consumerCounts.set(queue, left);
    this.consumerCounts.delete(queue);
    // The broker deletes an auto-delete queue once its last consumer goes.
    if (this.queues.get(queue)?.options.autoDelete === true) this.forgetQueue(queue);
  }

  private onExchangeDeclare(m: spec.Exchange.Declare): void {
    if (m.passive || isPredeclared(m.exchange)) return;
    const options = { durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, arguments: m.arguments };
    this.exchanges.delete(m.exchange); // a redeclare moves it to the end: it may now depend on later ones
    this.exchanges.set(m.exchange, { kind: 'exchange', name: m.exchange, type: m.type, options });
  }

  private onQueueDeclare(m: spec.Queue.Declare, reply: spec.AMQPMethod | undefined): void {
    if (m.passive) return;
    // With noWait a server-named queue's name is never known: nothing to record.
    const name = reply instanceof spec.Queue.DeclareOk ? reply.queue : m.queue;
    if (name === '') return;
    const options = { durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, arguments: m.arguments };
    this.queues.delete(name);
    this.queues.set(name, { kind: 'queue', name, serverNamed: m.queue === '', options });
  }

  private forgetExchange(name: string): void {
    this.exchanges.delete(name);
    this.bindings = this.bindings.filter((b) => b.source !== name && !(b.destinationKind === 'exchange' && b.destination === name));
  }

  private forgetQueue(name: string): void {
    this.queues.delete(name);
    this.bindings = this.bindings.filter((b) => !(b.destinationKind === 'queue' && b.destination === name));
  }

  private bind(destinationKind: 'queue' | 'exchange', destination: string, source: string, routingKey: string, args: FieldTable): void {
    if (this.findBinding(destinationKind, destination, source, routingKey, args) !== -1) return;
    this.bindings.push({ kind: 'binding', destinationKind, destination, source, routingKey, arguments: args });
  }

  private unbind(destinationKind: 'queue' | 'exchange', destination: string, source: string, routingKey: string, args: FieldTable): void {
    const i = this.findBinding(destinationKind, destination, source, routingKey, args);
    if (i !== -1) this.bindings.splice(i, 1);
  }

  private findBinding(destinationKind: string, destination: string, source: string, routingKey: string, args: FieldTable): number {
    return this.bindings.findIndex(
      (b) =>
        b.destinationKind === destinationKind &&
        b.destination === destination &&
        b.source === source &&
        b.routingKey === routingKey &&
        sameTable(b.arguments, args),
    );
  }
}
