/**
 * The semantic-convention pieces of coney/opentelemetry: destination names,
 * span names, error types and the header getter.
 */
import { expect } from 'chai';
import { processDestination, publishDestination, spanName } from '../../lib/opentelemetry/attributes';
import { headerGetter } from '../../lib/opentelemetry/headers';
import { errorType } from '../../lib/opentelemetry/span-errors';
import { ChannelClosedByBroker } from '../../lib';

describe('coney/opentelemetry: semantic conventions', () => {
  it('builds messaging.destination.name of a publish from exchange and routing key', () => {
    expect(publishDestination('logs', 'warn')).to.equal('logs:warn');
    expect(publishDestination('logs', '')).to.equal('logs');
    expect(publishDestination('', 'tasks')).to.equal('tasks');
    expect(publishDestination('', '')).to.equal('amq.default');
  });

  it('builds messaging.destination.name of a delivery from exchange, routing key and queue', () => {
    expect(processDestination('logs', 'warn', 'warnings')).to.equal('logs:warn:warnings');
    expect(processDestination('', 'tasks', 'tasks')).to.equal('tasks');
    expect(processDestination('logs', '', 'all-logs')).to.equal('logs:all-logs');
    expect(processDestination('logs', 'warn', undefined)).to.equal('logs:warn');
    expect(processDestination('', '', undefined)).to.equal('');
  });

  it('keeps server-named queues and reply-to addresses out of span names', () => {
    expect(spanName('publish', '', 'amq.rabbitmq.reply-to.g1h2AA==')).to.equal('publish amq.default');
    expect(spanName('publish', 'rpc', 'amq.gen-abc')).to.equal('publish rpc');
    expect(spanName('process', 'logs', 'warn', 'amq.gen-abc')).to.equal('process logs:warn');
    expect(spanName('process', '', 'amq.gen-abc', 'amq.gen-abc')).to.equal('process');
    expect(spanName('process', '', 'tasks', 'tasks')).to.equal('process tasks');
  });

  it("takes error.type from the error's class, _OTHER for a thrown non-Error", () => {
    expect(errorType(new ChannelClosedByBroker(404, 'NOT_FOUND'))).to.equal('ChannelClosedByBroker');
    expect(errorType(new Error('x'))).to.equal('Error');
    expect(errorType('a string')).to.equal('_OTHER');
    expect(errorType(undefined)).to.equal('_OTHER');
  });

  it('reads header strings and Buffers, and nothing else', () => {
    const headers = { a: 'x', b: Buffer.from('y'), c: 1, d: { e: 'f' } };
    expect(headerGetter.keys(headers)).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(['a', 'b', 'c', 'd', 'z'].map((k) => headerGetter.get(headers, k))).to.deep.equal(['x', 'y', undefined, undefined, undefined]);
    expect(headerGetter.keys(undefined)).to.deep.equal([]);
    expect(headerGetter.get(undefined, 'a')).to.equal(undefined);
  });
});
