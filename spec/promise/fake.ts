/**
 * The promise API on the VirtualIOLoop and the scripted FakeBroker: the
 * loop drives itself (`start()`), so the specs simply await, and virtual
 * time jumps to the next timer whenever nothing else is left to do.
 */
import { expect } from 'chai';
import { type AsyncChannel, type AsyncConnection, connect, type ConnectOptions, VirtualIOLoop } from '../../lib';
import { FakeBroker, type FakeBrokerOptions, type FakeSession } from '../support/fake-broker';
import * as spec from '../../lib/wire/spec';

/** An open AsyncConnection on a self-driving virtual loop, with the broker's side of it. */
export interface FakeAsync {
  loop: VirtualIOLoop;
  broker: FakeBroker;
  connection: AsyncConnection;
  session: FakeSession;
  /** What reached the connection's onCallbackError. */
  reported: unknown[];
  /** Closes the connection if still open and stops the loop. */
  stop(): Promise<void>;
}

/** Connects to a fake broker (the loop self-driving); resolves once open. */
export async function openFake(options: Omit<ConnectOptions, 'ioloop'> = {}, broker: FakeBrokerOptions = {}): Promise<FakeAsync> {
  const loop = new VirtualIOLoop();
  const fake = new FakeBroker(loop, broker);
  void loop.start();
  const reported: unknown[] = [];
  const connection = await connect('amqp://fake-broker', { onCallbackError: (err) => reported.push(err), ...options, ioloop: loop });
  return {
    loop,
    broker: fake,
    connection,
    session: fake.session,
    reported,
    async stop() {
      if (!connection.isClosed && !connection.isClosing) await connection.close();
      loop.stop();
    },
  };
}

/** Sends a delivery of `body` to consumer `consumerTag` on `channel`. */
export function deliver(
  s: FakeAsync,
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  body: string,
  properties: spec.BasicPropertiesInit = {},
): void {
  s.session.sendContent(channel, new spec.Basic.Deliver({ consumerTag, deliveryTag, exchange: '', routingKey: 'q' }), Buffer.from(body), properties);
}

/** Resolves after the self-driving loop had a few turns to pass frames both ways. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The methods of one class the client sent on `channel`. */
export function sentOn<T extends spec.AMQPMethod>(s: FakeAsync, channel: AsyncChannel, type: new (...args: never[]) => T): T[] {
  return s.session.methods.filter((m) => m.channel === channel.channelNumber && m.method instanceof type).map((m) => m.method as T);
}

/** Awaits `promise`, expects it to reject with an instance of `type` (whose message matches `pattern`), returns the error. */
export async function rejects<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E, pattern?: RegExp): Promise<E> {
  let outcome: { err: unknown } | null = null;
  try {
    await promise;
  } catch (err) {
    outcome = { err };
  }
  if (outcome === null) throw new Error(`expected a rejection with ${type.name}, but it resolved`);
  expect(outcome.err).to.be.instanceOf(type);
  if (pattern !== undefined) expect((outcome.err as Error).message).to.match(pattern);
  return outcome.err as E;
}
