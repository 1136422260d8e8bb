/**
 * The loop and transport of the in-process micro-benchmarks
 * (consume-micro-child.ts, publish-micro-child.ts): callbacks run when
 * `run()` is called, timers never fire, and a scripted server answers the
 * handshake, channel.open, basic.qos and basic.consume, then stops parsing
 * (a publisher's: once its channel is open) and only counts what it gets.
 */
import type * as Coney from '../lib/index';
import { coney } from './clients/coney-module';

const { spec } = coney;

/** The frame size the scripted server proposes. */
export const FRAME_MAX = 131072;

type Handlers = Coney.TransportHandlers;

/** Just enough of a loop: callbacks run when `run()` is called; timers never fire. */
export class MicroLoop implements Coney.IOLoop {
  private queue: Array<() => void> = [];
  private nextId = 1;
  handlers: Handlers | null = null;
  /** Server side: parses what the client writes and answers the handshake. */
  private readonly server = new coney.FrameParser();
  private headerSeen = false;
  /** Set once the scripted part is over (consume-ok sent, or the channel open for a publisher): what follows is not parsed. */
  private muted = false;
  /** Bytes the client wrote after that (publishes, acks): counted, then dropped. */
  bytesAfter = 0;

  /** @param consumerTag - the tag the consume-ok carries */
  constructor(private readonly consumerTag: string) {}

  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): void {}
  callLater(_delay: number, _cb: () => void): Coney.TimerHandle {
    return { id: this.nextId++ };
  }
  removeTimeout(): void {}
  addCallback(cb: () => void): void {
    this.queue.push(cb);
  }
  addCallbackThreadsafe(cb: () => void): void {
    this.queue.push(cb);
  }
  now(): number {
    return performance.now() / 1000;
  }
  run(): void {
    while (this.queue.length > 0) {
      const q = this.queue;
      this.queue = [];
      for (const cb of q) cb();
    }
  }
  connect(_t: Coney.TransportTarget, handlers: Handlers, done: (err: Error | null, t?: Coney.Transport) => void): () => void {
    this.handlers = handlers;
    const transport: Coney.Transport = {
      write: (chunks) => {
        for (const c of chunks) this.fromClient(c);
        return true;
      },
      bufferedBytes: 0,
      end: () => undefined,
      destroy: () => undefined,
    };
    this.addCallback(() => done(null, transport));
    return () => undefined;
  }

  private send(channel: number, method: Coney.spec.AMQPMethod): void {
    const w = new coney.FrameWriter(1024);
    w.writeMethod(channel, method);
    const bytes = Buffer.concat(w.take());
    this.addCallback(() => this.handlers!.onData(bytes));
  }

  /** The scripted server: answers the handshake, qos and consume; ignores acks. */
  private fromClient(chunk: Buffer): void {
    if (this.muted) {
      this.bytesAfter += chunk.length;
      return;
    }
    if (!this.headerSeen) {
      this.headerSeen = true;
      chunk = chunk.subarray(8);
      this.send(
        0,
        new spec.Connection.Start({
          versionMajor: 0,
          versionMinor: 9,
          serverProperties: { product: 'micro' },
          mechanisms: 'PLAIN',
          locales: 'en_US',
        }),
      );
    }
    this.server.push(chunk, (f: Coney.Frame) => {
      if (f.type !== 1) return;
      const m = f.method;
      if (m instanceof spec.Connection.StartOk) this.send(0, new spec.Connection.Tune({ channelMax: 2047, frameMax: FRAME_MAX, heartbeat: 0 }));
      else if (m instanceof spec.Connection.Open) this.send(0, new spec.Connection.OpenOk());
      else if (m instanceof spec.Channel.Open) {
        this.send(f.channel, new spec.Channel.OpenOk());
        this.muted = this.consumerTag === '';
      } else if (m instanceof spec.Basic.Qos) this.send(f.channel, new spec.Basic.QosOk());
      else if (m instanceof spec.Basic.Consume) {
        this.send(f.channel, new spec.Basic.ConsumeOk({ consumerTag: this.consumerTag }));
        this.muted = true;
      }
    });
  }
}

/** A coney Connection on `loop`, through the handshake, and a channel on it: fails unless both opened. */
export function openChannel(loop: MicroLoop): Coney.Channel {
  let channel: Coney.Channel | null = null;
  const connection = new coney.Connection({
    ioloop: loop,
    parameters: new coney.ConnectionParameters({ frameMax: FRAME_MAX, heartbeat: 0, credentials: new coney.PlainCredentials('guest', 'guest') }),
    onOpen: (c) => c.channel((err, ch) => (channel = err ? null : ch)),
    onClose: (_c, reason) => process.stderr.write(`micro: connection closed: ${String(reason)}\n`),
  });
  loop.run();
  if (channel === null || !connection.isOpen) throw new Error('micro: the connection or channel did not open');
  return channel;
}
