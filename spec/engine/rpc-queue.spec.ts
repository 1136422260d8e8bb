/**
 * RpcQueue: one synchronous call in flight per channel; asynchronous calls
 * go out at once unless a call is waiting ahead of them, so every call
 * reaches the wire in the order it was made.
 */
import { expect } from 'chai';
import { type RpcCall, RpcQueue } from '../../lib/engine/rpc-queue';
import * as spec from '../../lib/wire/spec';
import type { MethodClass } from '../../lib/wire/spec';

interface Log {
  /** Names of the calls transmitted, in order. */
  wire: string[];
  /** [name, error message or null, reply name] of each completion, in order. */
  done: Array<[string, string | null, string | undefined]>;
}

/** A call named `name`; `replies` null for an asynchronous one. */
function call(log: Log, name: string, replies: readonly MethodClass[] | null, options: { observed?: boolean; transmitThrows?: Error } = {}): RpcCall {
  return {
    replies,
    observed: options.observed,
    transmit() {
      if (options.transmitThrows) throw options.transmitThrows;
      log.wire.push(name);
    },
    complete(err, reply) {
      log.done.push([name, err === null ? null : err.message, reply?.name]);
    },
  };
}

function setup(): { queue: RpcQueue; log: Log } {
  return { queue: new RpcQueue(), log: { wire: [], done: [] } };
}

const DECLARE = [spec.Queue.DeclareOk] as const;
const BIND = [spec.Queue.BindOk] as const;

/** The broker's reply arrives: completes the call it answers, then sends what order allows. */
function reply(queue: RpcQueue, method: spec.AMQPMethod): RpcCall | null {
  const taken = queue.take(method);
  taken?.complete(null, method);
  queue.pump();
  return taken;
}

describe('RpcQueue', () => {
  it('sends a synchronous call at once when the channel is idle', () => {
    const { queue, log } = setup();
    queue.submit(call(log, 'declare', DECLARE));
    expect(log.wire).to.deep.equal(['declare']);
    expect(log.done, 'it awaits its reply').to.deep.equal([]);
    expect(queue.nothingWaiting).to.equal(true);
  });

  it('holds a second synchronous call until the first one is answered', () => {
    const { queue, log } = setup();
    queue.submit(call(log, 'declare', DECLARE));
    queue.submit(call(log, 'bind', BIND));
    expect(log.wire).to.deep.equal(['declare']);
    expect(queue.nothingWaiting).to.equal(false);
    reply(queue, new spec.Queue.DeclareOk({ queue: 'q' }));
    expect(log.wire).to.deep.equal(['declare', 'bind']);
    expect(log.done).to.deep.equal([['declare', null, 'queue.declare-ok']]);
    reply(queue, new spec.Queue.BindOk());
    expect(log.done.map(([name]) => name)).to.deep.equal(['declare', 'bind']);
  });

  it('sends an asynchronous call at once, even with a synchronous one in flight, and completes it with null', () => {
    const { queue, log } = setup();
    queue.submit(call(log, 'declare', DECLARE));
    queue.submit(call(log, 'ack', null));
    expect(log.wire).to.deep.equal(['declare', 'ack']);
    expect(log.done).to.deep.equal([['ack', null, undefined]]);
  });

  it('keeps an asynchronous call behind a waiting one: the wire order is the call order', () => {
    const { queue, log } = setup();
    queue.submit(call(log, 'declare', DECLARE));
    queue.submit(call(log, 'bind', BIND));
    queue.submit(call(log, 'publish', null));
    queue.submit(call(log, 'qos', [spec.Basic.QosOk]));
    queue.submit(call(log, 'ack', null));
    expect(log.wire).to.deep.equal(['declare']);
    reply(queue, new spec.Queue.DeclareOk());
    expect(log.wire, 'up to the next synchronous call after the one now in flight').to.deep.equal(['declare', 'bind', 'publish']);
    reply(queue, new spec.Queue.BindOk());
    expect(log.wire).to.deep.equal(['declare', 'bind', 'publish', 'qos', 'ack']);
    reply(queue, new spec.Basic.QosOk());
    expect(log.done.map(([name]) => name)).to.deep.equal(['declare', 'publish', 'bind', 'ack', 'qos']);
    expect(queue.nothingWaiting).to.equal(true);
  });

  it("lets the caller complete a reply's call before later calls are sent (take, then pump)", () => {
    const { queue, log } = setup();
    queue.submit(call(log, 'declare', DECLARE));
    queue.submit(call(log, 'publish', null));
    queue.submit(call(log, 'bind', BIND));
    expect(log.wire).to.deep.equal(['declare', 'publish']);
    const taken = queue.take(new spec.Queue.DeclareOk());
    expect(log.wire, 'take() sends nothing').to.deep.equal(['declare', 'publish']);
    taken!.complete(null);
    expect(log.wire, 'nor does completing').to.deep.equal(['declare', 'publish']);
    queue.pump();
    expect(log.wire).to.deep.equal(['declare', 'publish', 'bind']);
  });

  describe('take', () => {
    it('takes the call in flight when the method is one of its replies', () => {
      const { queue, log } = setup();
      const get = call(log, 'get', [spec.Basic.GetOk, spec.Basic.GetEmpty]);
      queue.submit(get);
      expect(queue.take(new spec.Basic.GetEmpty())).to.equal(get);
      expect(queue.take(new spec.Basic.GetEmpty()), 'only once').to.equal(null);
    });

    it('leaves the call in flight for a method that does not answer it', () => {
      const { queue, log } = setup();
      const declare = call(log, 'declare', DECLARE);
      queue.submit(declare);
      expect(queue.take(new spec.Queue.BindOk())).to.equal(null);
      expect(queue.take(new spec.Queue.DeclareOk())).to.equal(declare);
    });

    it('takes nothing when nothing is in flight', () => {
      const { queue, log } = setup();
      expect(queue.take(new spec.Queue.DeclareOk())).to.equal(null);
      queue.submit(call(log, 'ack', null));
      expect(queue.take(new spec.Queue.DeclareOk()), 'an asynchronous call awaits nothing').to.equal(null);
    });
  });

  describe('a call whose transmit throws', () => {
    it('is completed with the error, and the next call goes out', () => {
      const { queue, log } = setup();
      queue.submit(call(log, 'bad declare', DECLARE, { transmitThrows: new Error('queue name too long') }));
      expect(log.done).to.deep.equal([['bad declare', 'queue name too long', undefined]]);
      queue.submit(call(log, 'declare', DECLARE));
      expect(log.wire).to.deep.equal(['declare']);
    });

    it('does not stop the pump: the calls behind it go out', () => {
      const { queue, log } = setup();
      queue.submit(call(log, 'declare', DECLARE));
      queue.submit(call(log, 'bad bind', BIND, { transmitThrows: new Error('bad arguments') }));
      queue.submit(call(log, 'bind', BIND));
      reply(queue, new spec.Queue.DeclareOk());
      expect(log.wire).to.deep.equal(['declare', 'bind']);
      expect(log.done).to.deep.equal([
        ['declare', null, 'queue.declare-ok'],
        ['bad bind', 'bad arguments', undefined],
      ]);
    });
  });

  describe('failAll', () => {
    it('fails the call in flight, then the waiting ones in order, and empties the queue', () => {
      const { queue, log } = setup();
      queue.submit(call(log, 'declare', DECLARE));
      queue.submit(call(log, 'bind', BIND));
      queue.submit(call(log, 'publish', null));
      queue.failAll(new Error('channel closed'));
      expect(log.done).to.deep.equal([
        ['declare', 'channel closed', undefined],
        ['bind', 'channel closed', undefined],
        ['publish', 'channel closed', undefined],
      ]);
      expect(queue.nothingWaiting).to.equal(true);
      expect(queue.take(new spec.Queue.DeclareOk())).to.equal(null);
      queue.pump();
      expect(log.wire).to.deep.equal(['declare']);
    });

    it('tells whether an application callback learnt of the failure', () => {
      const { queue, log } = setup();
      queue.submit(call(log, 'internal', DECLARE, { observed: false }));
      queue.submit(call(log, 'user', BIND, { observed: true }));
      expect(queue.failAll(new Error('x'))).to.equal(true);
      queue.submit(call(log, 'internal', DECLARE));
      expect(queue.failAll(new Error('y'))).to.equal(false);
      expect(queue.failAll(new Error('z')), 'nothing left to fail').to.equal(false);
    });

    it('leaves the queue usable', () => {
      const { queue, log } = setup();
      queue.submit(call(log, 'declare', DECLARE));
      queue.failAll(new Error('closed'));
      queue.submit(call(log, 'again', DECLARE));
      expect(log.wire).to.deep.equal(['declare', 'again']);
    });
  });
});
