/**
 * Errors across a port keep their classes and fields (lib/promise/port-errors.ts),
 * through a real MessagePort (the structured clone in between).
 */
import { expect } from 'chai';
import { MessageChannel } from 'node:worker_threads';
import {
  AMQPChannelError,
  ChannelClosedByBroker,
  ConnectionWorkflowFailed,
  NackError,
  RecoveryFailedError,
  SocketConnectError,
  StreamLostError,
  UndecodableMessageError,
  FrameError,
} from '../../lib';
import { reviveError, serializeError, type SerializedError } from '../../lib/promise/port-errors';

/** Sends the serialized error through a MessageChannel and revives it on the other side. */
async function roundTrip(err: unknown): Promise<Error> {
  const { port1, port2 } = new MessageChannel();
  try {
    const received = new Promise<SerializedError>((resolve) => port2.once('message', resolve));
    port1.postMessage(serializeError(err));
    return reviveError(await received);
  } finally {
    port1.close();
  }
}

describe('threads: errors across a port', () => {
  it('ChannelClosedByBroker arrives as ChannelClosedByBroker with replyCode and replyText', async () => {
    const err = await roundTrip(new ChannelClosedByBroker(404, 'NOT_FOUND - no queue'));
    expect(err).to.be.instanceOf(ChannelClosedByBroker);
    expect(err).to.be.instanceOf(AMQPChannelError);
    const closed = err as ChannelClosedByBroker;
    expect([closed.replyCode, closed.replyText, closed.message, closed.name]).to.deep.equal([
      404,
      'NOT_FOUND - no queue',
      '(404) NOT_FOUND - no queue',
      'ChannelClosedByBroker',
    ]);
    expect(closed.stack).to.include('ChannelClosedByBroker');
  });

  it('nested errors keep their classes: cause, attempts, reason', async () => {
    const attempt = new SocketConnectError('connect ECONNREFUSED', { cause: new Error('raw') });
    const failed = await roundTrip(new ConnectionWorkflowFailed([attempt, new StreamLostError('gone')]));
    expect(failed).to.be.instanceOf(ConnectionWorkflowFailed);
    const attempts = (failed as ConnectionWorkflowFailed).attempts;
    expect(attempts[0]).to.be.instanceOf(SocketConnectError);
    expect(attempts[0].cause).to.be.instanceOf(Error);
    expect((attempts[0].cause as Error).message).to.equal('raw');
    expect(attempts[1]).to.be.instanceOf(StreamLostError);
    const recovery = await roundTrip(new RecoveryFailedError('gave up', { cause: new NackError('n'), reason: new StreamLostError('lost') }));
    expect((recovery as RecoveryFailedError).reason).to.be.instanceOf(StreamLostError);
    expect(recovery.cause).to.be.instanceOf(NackError);
    const undecodable = await roundTrip(
      new UndecodableMessageError('bad', { cause: new FrameError('f'), channelNumber: 3, queue: 'q', deliveryTag: 9 }),
    );
    expect(undecodable).to.be.instanceOf(UndecodableMessageError);
    expect([(undecodable as UndecodableMessageError).channelNumber, (undecodable as UndecodableMessageError).deliveryTag]).to.deep.equal([3, 9]);
  });

  it('built-in errors, thrown non-errors and an error that is its own cause', async () => {
    expect(await roundTrip(new TypeError('t'))).to.be.instanceOf(TypeError);
    const thrown = await roundTrip('a string');
    expect(thrown).to.be.instanceOf(Error);
    expect(thrown.message).to.equal('a string');
    const loop = new Error('loop');
    (loop as { cause?: unknown }).cause = loop;
    const revived = await roundTrip(loop);
    expect(revived.message).to.equal('loop');
    class Custom extends Error {
      extra = () => 1;
    }
    const custom = await roundTrip(new Custom('c'));
    expect(custom).to.be.instanceOf(Error);
    expect(custom.message).to.equal('c');
  });
});
