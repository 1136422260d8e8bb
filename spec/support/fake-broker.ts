/**
 * A scripted AMQP peer on the VirtualIOLoop, for the faults RabbitMQ will
 * not produce on demand (garbage, silence, a socket cut mid-frame) and for
 * deterministic ordering tests. It answers the handshake and the common
 * synchronous methods; tests override any reply with `onMethod`.
 */
import { FrameParser } from '../../lib/wire/frame-parser';
import { FrameWriter } from '../../lib/wire/frame-writer';
import type { Frame } from '../../lib/wire/frame';
import * as spec from '../../lib/wire/spec';
import { PROTOCOL_HEADER } from '../../lib/wire/frame';
import type { VirtualIOLoop, VirtualPeer } from '../../lib/adapters/virtual-ioloop';

/** What the fake broker proposes in connection.tune. */
export interface FakeBrokerOptions {
  host?: string;
  port?: number;
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
  mechanisms?: string;
  /** Seconds to wait before accepting connections (Infinity: never). */
  acceptDelay?: number;
}

/** A method the client sent. */
export interface ReceivedMethod {
  channel: number;
  method: spec.AMQPMethod;
}

/**
 * Handler for a client method; return true when it answered the method
 * itself (the default answer is then skipped).
 */
export type MethodHandler = (session: FakeSession, channel: number, method: spec.AMQPMethod) => boolean | void;

/** One client connection to the fake broker. */
export class FakeSession {
  /** Every method the client sent, in order. */
  readonly methods: ReceivedMethod[] = [];
  /** Every frame the client sent, in order. */
  readonly frames: Frame[] = [];
  /** Content (header + body) the client published, per message. */
  readonly published: Array<{ channel: number; method: spec.Basic.Publish; properties: spec.BasicProperties; body: Buffer }> = [];
  private readonly parser = new FrameParser();
  private headerSeen = false;
  private pendingPublish: { channel: number; method: spec.Basic.Publish; properties?: spec.BasicProperties; parts: Buffer[]; size: number } | null =
    null;
  /** Set to stop answering anything (a silent peer). */
  silent = false;

  constructor(
    readonly broker: FakeBroker,
    readonly peer: VirtualPeer,
  ) {
    peer.onData((chunk) => this.onData(chunk));
  }

  /** Sends a method frame. */
  send(channel: number, method: spec.AMQPMethod): void {
    const w = new FrameWriter(1024);
    w.writeMethod(channel, method);
    for (const chunk of w.take()) this.peer.write(chunk);
  }

  /** Sends a content-carrying method (deliver, get-ok, return) with its content. */
  sendContent(channel: number, method: spec.AMQPMethod, body: Buffer, properties: spec.BasicPropertiesInit = {}): void {
    const w = new FrameWriter(1024);
    w.writeMethod(channel, method);
    w.writeContent(channel, properties, body, this.broker.options.frameMax ?? 131072);
    this.peer.write(Buffer.concat(w.take()));
  }

  /** Sends raw bytes. */
  sendRaw(bytes: Buffer): void {
    this.peer.write(bytes);
  }

  /** The methods of one class the client sent. */
  sent<T extends spec.AMQPMethod>(type: new (...args: never[]) => T): T[] {
    return this.methods.filter((m) => m.method instanceof type).map((m) => m.method as T);
  }

  private onData(chunk: Buffer): void {
    if (!this.headerSeen) {
      if (!chunk.subarray(0, 8).equals(PROTOCOL_HEADER)) throw new Error(`fake broker: bad protocol header ${chunk.toString('hex')}`);
      this.headerSeen = true;
      chunk = chunk.subarray(8);
      this.answerHeader();
    }
    if (chunk.length > 0) this.parser.push(chunk, (frame) => this.onFrame(frame));
  }

  private answerHeader(): void {
    if (this.silent) return;
    this.send(
      0,
      new spec.Connection.Start({
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: { product: 'fake-broker', capabilities: { publisher_confirms: true } },
        mechanisms: this.broker.options.mechanisms ?? 'PLAIN AMQPLAIN',
        locales: 'en_US',
      }),
    );
  }

  private onFrame(frame: Frame): void {
    this.frames.push(frame);
    if (frame.type === spec.FRAME_METHOD) {
      this.methods.push({ channel: frame.channel, method: frame.method });
      if (frame.method instanceof spec.Basic.Publish) {
        this.pendingPublish = { channel: frame.channel, method: frame.method, parts: [], size: 0 };
        return;
      }
      if (this.silent) return;
      const handled = this.broker.onMethod?.(this, frame.channel, frame.method);
      if (handled !== true) this.answer(frame.channel, frame.method);
    } else if (frame.type === spec.FRAME_HEADER && this.pendingPublish !== null) {
      this.pendingPublish.properties = frame.properties;
      this.pendingPublish.size = frame.bodySize;
      if (frame.bodySize === 0) this.finishPublish();
    } else if (frame.type === spec.FRAME_BODY && this.pendingPublish !== null) {
      this.pendingPublish.parts.push(Buffer.from(frame.payload));
      const got = this.pendingPublish.parts.reduce((n, b) => n + b.length, 0);
      if (got >= this.pendingPublish.size) this.finishPublish();
    }
  }

  private finishPublish(): void {
    const p = this.pendingPublish!;
    this.pendingPublish = null;
    this.published.push({ channel: p.channel, method: p.method, properties: p.properties!, body: Buffer.concat(p.parts) });
  }

  /** The default answers of a well-behaved broker. */
  private answer(channel: number, m: spec.AMQPMethod): void {
    const o = this.broker.options;
    const reply = (r: spec.AMQPMethod): void => this.send(channel, r);
    if (m instanceof spec.Connection.StartOk) {
      reply(new spec.Connection.Tune({ channelMax: o.channelMax ?? 2047, frameMax: o.frameMax ?? 131072, heartbeat: o.heartbeat ?? 0 }));
    } else if (m instanceof spec.Connection.Open) reply(new spec.Connection.OpenOk());
    else if (m instanceof spec.Connection.Close) {
      reply(new spec.Connection.CloseOk());
      this.peer.end();
    } else if (m instanceof spec.Channel.Open) reply(new spec.Channel.OpenOk());
    else if (m instanceof spec.Channel.Close) reply(new spec.Channel.CloseOk());
    else if (m instanceof spec.Queue.Declare)
      reply(new spec.Queue.DeclareOk({ queue: m.queue || 'amq.gen-fake', messageCount: 0, consumerCount: 0 }));
    else if (m instanceof spec.Queue.Bind) reply(new spec.Queue.BindOk());
    else if (m instanceof spec.Exchange.Declare) reply(new spec.Exchange.DeclareOk());
    else if (m instanceof spec.Basic.Qos) reply(new spec.Basic.QosOk());
    else if (m instanceof spec.Basic.Consume) reply(new spec.Basic.ConsumeOk({ consumerTag: m.consumerTag }));
    else if (m instanceof spec.Basic.Cancel) reply(new spec.Basic.CancelOk({ consumerTag: m.consumerTag }));
    else if (m instanceof spec.Confirm.Select) reply(new spec.Confirm.SelectOk());
  }
}

/** A fake AMQP broker listening on a VirtualIOLoop address. */
export class FakeBroker {
  /** Sessions in the order the client connected. */
  readonly sessions: FakeSession[] = [];
  /** Optional override for client methods. */
  onMethod: MethodHandler | null = null;
  private readonly stopListening: () => void;

  constructor(
    readonly loop: VirtualIOLoop,
    readonly options: FakeBrokerOptions = {},
  ) {
    this.stopListening = loop.listen(options.host ?? 'fake-broker', options.port ?? 5672, (peer) => this.sessions.push(new FakeSession(this, peer)), {
      acceptDelay: options.acceptDelay ?? 0,
    });
  }

  /** The newest session. */
  get session(): FakeSession {
    const s = this.sessions[this.sessions.length - 1];
    if (s === undefined) throw new Error('fake broker: no client has connected');
    return s;
  }

  /** Stops accepting connections. */
  close(): void {
    this.stopListening();
  }
}
