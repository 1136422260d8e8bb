/**
 * coney, driven the pika way: callbacks, `basicPublish` until it returns
 * false, then the connection's drain callback.
 *
 * Which coney is loaded: the lib/ next to this file by default (compiled
 * JavaScript in .tmp/bench-build when run.ts runs the children compiled, or
 * the TypeScript through tsx with `--coney lib`), or the compiled coney in
 * the directory CONEY_BENCH_SOURCE names (dist/, or an experimental build).
 * tsx's CommonJS transform turns every access to an imported binding
 * (`spec.Basic.Deliver`, `spec.FRAME_METHOD`) into a getter call, which costs
 * coney ~20% of its consume CPU and is not what users run.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import type * as Coney from '../../lib/index';
import { coney, coneyParameters } from './coney-module';
import { ConfirmWindow, publishWithDrain, SequentialRpc, type ClientAdapter, type DeclareResult, type Target } from './adapter';

// CONEY_BENCH_TRACE=1: a subscriber on coney:publish and coney:deliver (start and end, doing nothing),
// to measure what tracing costs before the tracer's own work (bench/README.md, "Tracing").
if (process.env['CONEY_BENCH_TRACE'] === '1') {
  const noop = (): void => undefined;
  for (const name of ['coney:publish', 'coney:deliver'])
    tracingChannel(name).subscribe({ start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop });
}

type Channel = Coney.Channel;
type Connection = Coney.SelectConnection;

function ok<T>(resolve: (v: T) => void, reject: (e: Error) => void) {
  return (err: Error | null, v?: T) => (err ? reject(err) : resolve(v as T));
}

export class ConeyAdapter implements ClientAdapter {
  readonly name = 'coney' as const;
  private conn!: Connection;
  private ch!: Channel;
  private onDrain: (() => void) | null = null;
  private onConfirm: ((tag: number, multiple: boolean) => void) | null = null;

  connect(t: Target): Promise<void> {
    return new Promise((resolve, reject) => {
      const parameters = coneyParameters(t);
      this.conn = new coney.SelectConnection({
        parameters,
        onOpen: (c) => {
          c.channel((err, ch) => {
            if (err) return reject(err);
            this.ch = ch!;
            resolve();
          });
        },
        onOpenError: (_c, err) => reject(err),
      });
      // experiments only: e.g. CONEY_BENCH_MULTIPLIER=40 for a 4x higher high-water mark
      if (process.env['CONEY_BENCH_MULTIPLIER']) this.conn.setBackpressureMultiplier(Number(process.env['CONEY_BENCH_MULTIPLIER']));
      this.conn.addOnDrainCallback(() => {
        const w = this.onDrain;
        this.onDrain = null;
        if (w) w();
      });
    });
  }

  declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    return new Promise((resolve, reject) => {
      this.ch.queueDeclare(queue, { passive: opts.passive ?? false, exclusive: opts.exclusive ?? false, durable: false }, (err, r) => {
        if (err) return reject(err);
        resolve({ queue: r.queue, messageCount: r.messageCount });
      });
    });
  }

  deleteQueue(queue: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.ch.queueDelete(
        queue,
        {},
        ok(() => resolve(), reject),
      ),
    );
  }

  publish(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    return publishWithDrain(
      count,
      () => ch.basicPublish('', queue, body),
      (resume) => (this.onDrain = resume),
    );
  }

  publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    let below = true;
    for (let i = 0; i < count; i++) below = ch.basicPublish('', queue, body);
    return below ? Promise.resolve() : new Promise((resolve) => (this.onDrain = resolve));
  }

  enableConfirms(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.ch.confirmDelivery(
        (_ch, m) => this.onConfirm?.(m.deliveryTag, m.multiple),
        ok(() => resolve(), reject),
      ),
    );
  }

  async publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    if (process.env['CONEY_BENCH_ONCONFIRM'] === '1') return this.publishConfirmedEach(queue, body, count, window);
    const ch = this.ch;
    let ackedUpTo = ch.nextPublishSeqNo - 1;
    const w = new ConfirmWindow(count, window);
    this.onConfirm = (tag, multiple) => {
      const n = multiple ? tag - ackedUpTo : 1;
      if (tag > ackedUpTo) ackedUpTo = tag;
      w.confirm(n);
    };
    for (let i = 0; i < count; i++) {
      if (w.full) await w.room();
      w.sent();
      ch.basicPublish('', queue, body);
    }
    await w.done;
    this.onConfirm = null;
  }

  /**
   * CONEY_BENCH_ONCONFIRM=1: the callback API with an outcome per publish
   * (`onConfirm`), what a promise per publish gives: the like-for-like
   * comparison for coney-promise's confirm scenario.
   */
  private async publishConfirmedEach(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    const ch = this.ch;
    const w = new ConfirmWindow(count, window);
    const onConfirm = (err: Error | null): void => (err === null ? w.confirm() : w.fail(err));
    for (let i = 0; i < count; i++) {
      if (w.full) await w.room();
      w.sent();
      ch.basicPublish('', queue, body, undefined, { onConfirm });
    }
    await w.done;
  }

  consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    const ch = this.ch;
    return new Promise((resolve, reject) => {
      ch.basicQos({ prefetchCount: prefetch });
      ch.basicConsume(
        queue,
        (channel, method) => {
          const tag = method.deliveryTag;
          if (tag % ackEvery === 0) channel.basicAck(tag, true);
          onMessage();
        },
        { autoAck: false },
        ok(() => resolve(), reject),
      );
    });
  }

  serveRpc(queue: string): Promise<void> {
    const ch = this.ch;
    return new Promise((resolve, reject) => {
      ch.basicConsume(
        queue,
        (channel, _method, props, body) => {
          channel.basicPublish('', props.replyTo!, body, { correlationId: props.correlationId });
        },
        { autoAck: true },
        ok(() => resolve(), reject),
      );
    });
  }

  async rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>> {
    const ch = this.ch;
    const { queue: replyTo } = await this.declareQueue('', { exclusive: true });
    const rpc = new SequentialRpc();
    await new Promise<void>((resolve, reject) =>
      ch.basicConsume(
        replyTo,
        (_c, _m, props) => rpc.onReply(props.correlationId),
        { autoAck: true },
        ok(() => resolve(), reject),
      ),
    );
    return (queue, body) => rpc.request((correlationId) => ch.basicPublish('', queue, body, { correlationId, replyTo }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.conn.isOpen) return resolve();
      this.conn.addOnCloseCallback(() => resolve());
      this.conn.close();
    });
  }
}
