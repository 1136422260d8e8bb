/**
 * A Connection on a VirtualIOLoop talking to the scripted FakeBroker: the
 * setup of the engine specs. Nothing runs until the test drives the loop
 * (`loop.runUntilIdle()`, `loop.advance(seconds)`), except in
 * {@link openOnFakeBroker}, which runs the handshake and checks that the
 * connection opened.
 */
import { expect } from 'chai';
import {
  Channel,
  Connection,
  ConnectionParameters,
  type ConnectionParametersOptions,
  SelectConnection,
  type SelectConnectionOptions,
  VirtualIOLoop,
} from '../../lib';
import { FakeBroker, type FakeBrokerOptions, type FakeSession } from './fake-broker';

/** Options of {@link connectToFakeBroker}. */
export interface FakeBrokerConnectionOptions {
  /** ConnectionParameters options; `host` defaults to the fake broker's ('fake-broker'). */
  parameters?: ConnectionParametersOptions;
  /** What the fake broker proposes (tune values, mechanisms, accept delay). */
  broker?: FakeBrokerOptions;
  /**
   * Receives the exceptions of user callbacks, which are also recorded in
   * `callbackErrors`. Without it an exception is recorded and then rethrown
   * on its own stack (the connection's default), so that an assertion that
   * fails inside a callback fails the test.
   */
  onCallbackError?: (err: unknown) => void;
  /** Makes the connection a SelectConnection with these options (recovery, its events) on the same loop. */
  select?: Omit<SelectConnectionOptions, 'ioloop' | 'parameters' | 'onOpen' | 'onOpenError' | 'onClose' | 'onCallbackError'>;
}

/** What the connection's own callbacks saw. */
export interface ConnectionEvents {
  /** onOpen calls. */
  opened: number;
  /** onOpenError errors, in order. */
  openErrors: Error[];
  /** onClose reasons, in order. */
  closes: Error[];
}

/** A connection to the fake broker, and what it reported. */
export interface FakeBrokerConnection {
  loop: VirtualIOLoop;
  broker: FakeBroker;
  connection: Connection;
  events: ConnectionEvents;
  /** Exceptions thrown by user callbacks, in order. */
  callbackErrors: unknown[];
}

/** An open connection to the fake broker, with the broker's side of it. */
export interface OpenFakeBrokerConnection extends FakeBrokerConnection {
  session: FakeSession;
}

/** Creates the loop, the fake broker and the connection; the loop has not run yet. */
export function connectToFakeBroker(options: FakeBrokerConnectionOptions = {}): FakeBrokerConnection {
  const loop = new VirtualIOLoop();
  const broker = new FakeBroker(loop, options.broker ?? {});
  const events: ConnectionEvents = { opened: 0, openErrors: [], closes: [] };
  const callbackErrors: unknown[] = [];
  const handler = options.onCallbackError;
  const Kind = options.select === undefined ? Connection : SelectConnection;
  const connection = new Kind({
    ...options.select,
    ioloop: loop,
    parameters: new ConnectionParameters({ host: 'fake-broker', ...options.parameters }),
    onOpen: () => (events.opened += 1),
    onOpenError: (_c, err) => events.openErrors.push(err),
    onClose: (_c, reason) => events.closes.push(reason),
    onCallbackError: (err) => {
      callbackErrors.push(err);
      if (handler === undefined) throw err; // rethrown on its own stack by the connection
      handler(err);
    },
  });
  return { loop, broker, connection, events, callbackErrors };
}

/** {@link connectToFakeBroker}, then runs the handshake; fails unless the connection is open. */
export function openOnFakeBroker(options: FakeBrokerConnectionOptions = {}): OpenFakeBrokerConnection {
  const s = connectToFakeBroker(options);
  s.loop.runUntilIdle();
  expect(s.connection.isOpen, 'connection open').to.equal(true);
  return { ...s, session: s.broker.session };
}

/** Opens a channel on an open connection and runs the loop; fails unless it opened. */
export function openChannel(s: { loop: VirtualIOLoop; connection: Connection }): Channel {
  let opened: Channel | undefined;
  s.connection.channel((err, ch) => {
    if (err) throw err;
    opened = ch;
  });
  s.loop.runUntilIdle();
  expect(opened, 'channel opened').to.be.instanceOf(Channel);
  return opened!;
}
