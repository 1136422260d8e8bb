/**
 * The connection-level fuzz target: a whole {@link Connection} on the
 * {@link VirtualIOLoop} against a {@link ScriptedPeer}. After a valid
 * handshake the client opens a channel or two and makes a few calls
 * (declare, qos, consume, confirm + publish, get, close); then the peer sends
 * a random mix of well-formed traffic and garbage: mutated, truncated and
 * size-corrupted frames, frames for channels never opened, deeply nested
 * headers, broker-side closes, heartbeats on the wrong channel, a socket cut.
 *
 * Whatever happens, once the connection is closed (by the client at the end
 * of the script, or by the peer dropping the socket) every callback must
 * have run exactly once and nothing may have escaped the loop.
 * @packageDocumentation
 */
import { AMQPError } from '../../lib/errors';
import { VirtualIOLoop } from '../../lib/adapters/virtual-ioloop';
import { Channel } from '../../lib/engine/channel';
import { Connection } from '../../lib/engine/connection';
import { ConnectionParameters } from '../../lib/engine/parameters';
import * as spec from '../../lib/wire/spec';
import { AllocationRefused } from './alloc-guard';
import { CallbackTracker } from './callback-tracker';
import {
  HEARTBEAT,
  corruptSize,
  deepDepth,
  deepHeaderFrame,
  frame,
  headerPayload,
  methodPayload,
  mutate,
  propertiesBytes,
  randomFrame,
  randomMethodValues,
} from './generators';
import { describeError, type InputContext, type Target } from './harness';
import type { Rng } from './prng';
import { ScriptedPeer } from './scripted-peer';

/** One run of the script: the client side's state and helpers. */
class Script {
  readonly tracker = new CallbackTracker();
  readonly channels: Channel[] = [];
  peer: ScriptedPeer | null = null;
  opened = 0;
  openErrors = 0;
  closes = 0;

  constructor(
    readonly ctx: InputContext,
    readonly rng: Rng,
  ) {}

  /**
   * Makes a library call that takes a completion callback. The callback must
   * run exactly once, unless the call threw synchronously (then never).
   */
  call<A extends unknown[]>(label: string, invoke: (cb: (...args: A) => void) => void, then?: (...args: A) => void): void {
    const { cb, entry } = this.tracker.track<A>(label, then);
    try {
      invoke(cb);
    } catch (err) {
      this.tracker.threw(entry);
      // a state error (channel already closed) is a fair answer; anything else is not
      if (!(err instanceof AMQPError)) this.ctx.fail('exception', `${label} threw ${describeError(err)}`, err);
    }
  }

  /** After onOpen: open one or two channels and use them. */
  onOpen(connection: Connection): void {
    const n = this.rng.range(1, 2);
    for (let i = 0; i < n; i++) this.openChannel(connection);
  }

  openChannel(connection: Connection): void {
    this.call<[Error | null, Channel?]>(
      'connection.channel callback',
      (cb) => connection.channel(cb),
      (err, ch) => {
        if (err !== null || ch === undefined) return;
        this.channels.push(ch);
        const { cb } = this.tracker.track('channel onClose callback (channel had opened)');
        ch.addOnCloseCallback(cb);
        const ops = this.rng.range(0, 4);
        for (let k = 0; k < ops; k++) this.randomOp(ch);
      },
    );
  }

  /** One random channel call. */
  randomOp(ch: Channel): void {
    const rng = this.rng;
    switch (rng.int(11)) {
      case 0:
        return this.call('queueDeclare callback', (cb) => ch.queueDeclare(rng.chance(0.5) ? '' : 'q', {}, cb));
      case 1:
        return this.call('exchangeDeclare callback', (cb) => ch.exchangeDeclare('x', {}, cb));
      case 2:
        return this.call('basicQos callback', (cb) => ch.basicQos({ prefetchCount: rng.int(100) }, cb));
      case 3:
      case 4:
        return this.call('basicConsume callback', (cb) => {
          ch.basicConsume(
            'q',
            (c, m) => {
              // acknowledge now and then: acks of odd tags are the application's business, not a crash
              if (rng.chance(0.3)) c.basicAck(m.deliveryTag);
            },
            rng.chance(0.3) ? { consumerTag: `ctag-${rng.int(3)}` } : {},
            cb,
          );
        });
      case 5:
        this.call('confirmDelivery callback', (cb) => ch.confirmDelivery(() => undefined, cb));
        return this.publish(ch);
      case 6:
        return this.publish(ch);
      case 7:
        return this.call('basicGet callback', (cb) => ch.basicGet('q', cb));
      case 8:
        return this.call('queueBind callback', (cb) => ch.queueBind('q', 'x', 'rk', {}, cb));
      case 9: {
        const tag = ch.consumerTags[0];
        if (tag !== undefined) return this.call('basicCancel callback', (cb) => ch.basicCancel(tag, cb));
        return this.call('txSelect callback', (cb) => ch.txSelect(cb));
      }
      default:
        return this.call('channel.close callback', (cb) => ch.close(200, 'fuzz', cb));
    }
  }

  publish(ch: Channel): void {
    const n = this.rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      try {
        ch.basicPublish('', 'q', this.rng.bytes(this.rng.smallSize(300)), { contentType: 'x/y', headers: { n: i } });
      } catch (err) {
        if (!(err instanceof AMQPError)) this.ctx.fail('exception', `basicPublish threw ${describeError(err)}`, err);
      }
    }
  }

  /** A channel number the peer has open, one never opened, 0, or the highest. */
  pickChannel(): number {
    const open = this.peer ? [...this.peer.openChannels] : [];
    const r = this.rng.float();
    if (r < 0.6 && open.length > 0) return this.rng.pick(open);
    if (r < 0.8) return this.rng.range(3, 9);
    return this.rng.pick([0, 65535]);
  }

  /** Queues one chaos event on the peer (or acts on the client side). */
  chaos(connection: Connection, loop: VirtualIOLoop): void {
    const peer = this.peer!;
    const rng = this.rng;
    const ch = this.pickChannel();
    switch (rng.int(20)) {
      case 0:
        return peer.queue(rng.bytes(rng.range(1, 64)));
      case 1:
      case 2:
        return peer.queue(randomFrame(rng, ch));
      case 3:
      case 4:
        return peer.queue(mutate(rng, randomFrame(rng, ch)));
      case 5:
        return peer.queue(corruptSize(rng, randomFrame(rng, ch)));
      case 6: {
        const f = randomFrame(rng, ch);
        return peer.queue(f.subarray(0, rng.int(f.length)));
      }
      case 7:
      case 8: {
        // a delivery, honest or with a body that disagrees with its header
        const tags = peer.consumers.get(ch) ?? [];
        const tag = tags.length > 0 && rng.chance(0.8) ? rng.pick(tags) : `ctag-${rng.int(3)}`;
        const values = randomMethodValues(rng, spec.Basic.Deliver, () => ({}));
        values['consumerTag'] = tag;
        peer.queue(frame(1, ch, methodPayload(spec.Basic.Deliver, values)));
        const size = rng.smallSize(500);
        const deep = rng.chance(0.15);
        if (deep) peer.queue(deepHeaderFrame(rng, deepDepth(rng), ch));
        else
          peer.queue(
            frame(
              2,
              ch,
              headerPayload(rng.chance(0.85) ? size : rng.pick([0, size + 1, 2 ** 40, 2 ** 53 - 1]), propertiesBytes(rng, 0, rng.chance(0.05))),
            ),
          );
        for (let left = size; left > 0;) {
          const k = Math.min(left, rng.range(1, 400));
          peer.queue(frame(3, ch, rng.bytes(k)));
          left -= k;
        }
        return;
      }
      case 9:
        // content out of order: a header or a body with no method before it
        return peer.queue(
          rng.chance(0.5) ? frame(2, ch, headerPayload(rng.smallSize(100), propertiesBytes(rng))) : frame(3, ch, rng.bytes(rng.smallSize(50))),
        );
      case 10:
        return peer.queueMethod(ch === 0 ? 1 : ch, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - fuzz' }));
      case 11:
        if (rng.chance(0.5)) return peer.queueMethod(0, new spec.Connection.Close({ replyCode: 320, replyText: 'CONNECTION_FORCED - fuzz' }));
        return peer.queue(HEARTBEAT);
      case 12:
        return peer.queue(rng.chance(0.5) ? frame(8, rng.range(1, 3), Buffer.alloc(0)) : Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
      case 13:
        return peer.queueMethod(
          ch,
          rng.chance(0.5)
            ? new spec.Basic.Ack({ deliveryTag: rng.int(10), multiple: rng.chance(0.3) })
            : new spec.Basic.Nack({ deliveryTag: rng.int(10) }),
        );
      case 14:
        return peer.queueMethod(0, rng.chance(0.5) ? new spec.Connection.Blocked({ reason: 'fuzz' }) : new spec.Connection.Unblocked());
      case 15: {
        const tags = peer.consumers.get(ch) ?? ['ctag-0'];
        return peer.queueMethod(ch, new spec.Basic.Cancel({ consumerTag: rng.pick(tags) }));
      }
      case 16:
        return peer.queueContent(
          ch,
          new spec.Basic.Return({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'q' }),
          rng.bytes(rng.smallSize(50)),
        );
      case 17: {
        // the client acts in the middle of it all
        const live = this.channels.filter((c) => c.isOpen);
        if (live.length > 0 && rng.chance(0.7)) return this.randomOp(rng.pick(live));
        return this.openChannel(connection);
      }
      case 18:
        // let time pass: heartbeat checks, close timeouts
        peer.flush();
        try {
          loop.advance(rng.pick([0.5, 2, 10, 60]));
        } catch (err) {
          this.ctx.fail('exception', `the loop failed: ${describeError(err)}`, err);
        }
        return;
      default:
        if (rng.chance(0.15)) {
          if (rng.chance(0.5)) peer.end();
          else peer.destroy();
        }
    }
  }
}

/** Runs the loop until it is idle, reporting a runaway loop as a failure. */
function settle(script: Script, loop: VirtualIOLoop): void {
  try {
    loop.runUntilIdle();
  } catch (err) {
    script.ctx.fail('exception', `the loop failed: ${describeError(err)}`, err);
  }
}

/** A whole connection against a scripted peer that turns hostile after the handshake. */
export const connectionTarget: Target = {
  name: 'connection',
  description: 'Connection on the VirtualIOLoop vs a scripted peer: handshake, channels, then garbage; callbacks settled once',
  share: 10,
  run(ctx: InputContext): void {
    const rng = ctx.rng;
    const script = new Script(ctx, rng);
    const escaped: unknown[] = [];
    const loop = new VirtualIOLoop({ onError: (err) => escaped.push(err), maxCallbacksPerRun: 200_000 });
    const behaviour = {
      channelMax: rng.pick([0, 1, 2, 2047]),
      frameMax: rng.pick([4096, 131072]),
      heartbeat: rng.chance(0.8) ? 0 : rng.range(1, 5),
      silence: rng.chance(0.8) ? 0 : 0.2,
      wrongReply: rng.chance(0.8) ? 0 : 0.1,
    };
    loop.listen('fuzz-peer', 5672, (vp) => {
      script.peer = new ScriptedPeer(rng, vp, behaviour);
    });
    const userErrors: unknown[] = [];
    const connection = new Connection({
      ioloop: loop,
      parameters: new ConnectionParameters({ host: 'fuzz-peer', port: 5672, stackTimeout: 15, socketTimeout: 5 }),
      onOpen: (c) => {
        script.opened++;
        script.onOpen(c);
      },
      onOpenError: () => script.openErrors++,
      onClose: () => script.closes++,
      onCallbackError: (err) => userErrors.push(err),
    });

    // the handshake (and the client's first calls), answered correctly
    settle(script, loop);
    for (let i = 0; i < 4 && script.peer !== null; i++) {
      script.peer.flush();
      settle(script, loop);
    }

    const peer = script.peer;
    if (peer !== null) {
      const events = rng.range(1, 8);
      for (let e = 0; e < events; e++) {
        script.chaos(connection, loop);
        if (rng.chance(0.6)) {
          peer.flush();
          settle(script, loop);
        }
      }
      peer.flush();
      settle(script, loop);
      ctx.input(peer.sentBytes());
    }

    // the end: the client closes; if that cannot finish, the peer drops the socket
    if (!connection.isClosed && !connection.isClosing) {
      try {
        connection.close();
      } catch (err) {
        if (!(err instanceof AMQPError)) ctx.fail('exception', `connection.close threw ${describeError(err)}`, err);
      }
    }
    for (let i = 0; i < 4 && !connection.isClosed; i++) {
      peer?.flush();
      settle(script, loop);
    }
    try {
      loop.runUntil(() => connection.isClosed, 30);
    } catch (err) {
      ctx.fail('exception', `the loop failed: ${describeError(err)}`, err);
    }
    if (!connection.isClosed) {
      peer?.destroy();
      settle(script, loop);
    }
    // let every timer that is still armed fire (close and heartbeat timeouts)
    try {
      loop.advance(120);
    } catch (err) {
      ctx.fail('exception', `the loop failed: ${describeError(err)}`, err);
    }
    if (peer !== null) ctx.input(peer.sentBytes());

    // an allocation the harness refused is already counted as 'alloc'
    for (const err of escaped) if (!(err instanceof AllocationRefused)) ctx.fail('exception', `escaped the loop: ${describeError(err)}`, err);
    for (const err of userErrors) ctx.fail('exception', `reached onCallbackError: ${describeError(err)}`, err);
    for (const err of peer?.clientErrors ?? []) ctx.fail('exception', `the client sent bytes the peer cannot parse: ${describeError(err)}`, err);
    if (!connection.isClosed) ctx.fail('callback', 'the connection is not closed after close() and a destroyed socket');
    const openOnce =
      (script.opened === 1 && script.openErrors === 0 && script.closes === 1) ||
      (script.opened === 0 && script.openErrors === 1 && script.closes === 0);
    if (!openOnce) {
      ctx.fail(
        'callback',
        `connection callbacks: onOpen ${script.opened}, onOpenError ${script.openErrors}, onClose ${script.closes} (want 1/0/1 or 0/1/0)`,
      );
    }
    for (const p of script.tracker.problems()) ctx.fail('callback', p);
    if (connection.isClosed && loop.pendingTimerCount > 0)
      ctx.fail('callback', `timers still armed after the connection closed: ${loop.pendingTimerCount}`);
  },
};
