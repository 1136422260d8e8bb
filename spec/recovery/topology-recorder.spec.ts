import { expect } from 'chai';
import { TopologyRecorder } from '../../lib/recovery/topology-recorder';
import * as spec from '../../lib/wire/spec';

function declareQueue(r: TopologyRecorder, queue: string, named: string, init: Partial<spec.Queue.DeclareFields> = {}): void {
  r.onTopology(new spec.Queue.Declare({ queue, ...init }), new spec.Queue.DeclareOk({ queue: named, messageCount: 0, consumerCount: 0 }));
}

describe('TopologyRecorder', () => {
  it('keeps exchanges, queues and bindings in redeclare order with their exact arguments', () => {
    const r = new TopologyRecorder();
    r.onTopology(new spec.Queue.Bind({ queue: 'q', exchange: 'x', routingKey: 'k', arguments: { 'x-match': 'all' } }), new spec.Queue.BindOk());
    declareQueue(r, 'q', 'q', { durable: true, arguments: { 'x-max-length': 10 } });
    r.onTopology(new spec.Exchange.Declare({ exchange: 'x', type: 'headers', durable: true }), new spec.Exchange.DeclareOk());
    r.onTopology(new spec.Exchange.Bind({ destination: 'x2', source: 'x', routingKey: '' }), new spec.Exchange.BindOk());
    const entities = r.entities();
    expect(entities.map((e) => e.kind)).to.deep.equal(['exchange', 'queue', 'binding', 'binding']);
    expect(entities[0]).to.deep.include({ name: 'x', type: 'headers' });
    expect(entities[1]).to.deep.equal({
      kind: 'queue',
      name: 'q',
      serverNamed: false,
      options: { durable: true, exclusive: false, autoDelete: false, arguments: { 'x-max-length': 10 } },
    });
    expect(entities[2]).to.deep.include({
      destinationKind: 'queue',
      destination: 'q',
      source: 'x',
      routingKey: 'k',
      arguments: { 'x-match': 'all' },
    });
    expect(entities[3]).to.deep.include({ destinationKind: 'exchange', destination: 'x2', source: 'x' });
  });

  it("records nothing for passive declares, the broker's own exchanges, or a noWait server-named queue", () => {
    const r = new TopologyRecorder();
    r.onTopology(new spec.Exchange.Declare({ exchange: 'x', passive: true }), new spec.Exchange.DeclareOk());
    r.onTopology(new spec.Exchange.Declare({ exchange: 'amq.topic', type: 'topic', durable: true }), new spec.Exchange.DeclareOk());
    r.onTopology(new spec.Queue.Declare({ queue: 'q', passive: true }), new spec.Queue.DeclareOk({ queue: 'q', messageCount: 0, consumerCount: 0 }));
    r.onTopology(new spec.Queue.Declare({ queue: '', noWait: true }), undefined);
    expect(r.entities()).to.deep.equal([]);
  });

  it('forgets deleted entities with their bindings, and unbound bindings', () => {
    const r = new TopologyRecorder();
    r.onTopology(new spec.Exchange.Declare({ exchange: 'x', type: 'fanout' }), new spec.Exchange.DeclareOk());
    declareQueue(r, 'q1', 'q1');
    declareQueue(r, 'q2', 'q2');
    r.onTopology(new spec.Queue.Bind({ queue: 'q1', exchange: 'x' }), new spec.Queue.BindOk());
    r.onTopology(new spec.Queue.Bind({ queue: 'q2', exchange: 'x', routingKey: 'a' }), new spec.Queue.BindOk());
    r.onTopology(new spec.Queue.Bind({ queue: 'q2', exchange: 'x', routingKey: 'b' }), new spec.Queue.BindOk());
    r.onTopology(new spec.Queue.Unbind({ queue: 'q2', exchange: 'x', routingKey: 'a' }), new spec.Queue.UnbindOk());
    r.onTopology(new spec.Queue.Delete({ queue: 'q1' }), new spec.Queue.DeleteOk({ messageCount: 0 }));
    expect(r.entities().map((e) => (e.kind === 'binding' ? `${e.destination}:${e.routingKey}` : e.kind === 'consumer' ? '' : e.name))).to.deep.equal([
      'x',
      'q2',
      'q2:b',
    ]);
    r.onTopology(new spec.Exchange.Delete({ exchange: 'x' }), new spec.Exchange.DeleteOk());
    expect(r.entities().map((e) => e.kind)).to.deep.equal(['queue']);
  });

  it("drops an auto-delete queue's record with its last consumer", () => {
    const r = new TopologyRecorder();
    declareQueue(r, 'auto', 'auto', { autoDelete: true });
    declareQueue(r, 'kept', 'kept');
    r.onConsumerStarted('auto');
    r.onConsumerStarted('auto');
    r.onConsumerStarted('kept');
    r.onConsumerEnded('auto');
    r.onConsumerEnded('kept');
    expect(r.entities().map((e) => (e.kind === 'queue' ? e.name : ''))).to.deep.equal(['auto', 'kept']);
    r.onConsumerEnded('auto');
    expect(r.entities().map((e) => (e.kind === 'queue' ? e.name : ''))).to.deep.equal(['kept']);
  });

  it('moves a renamed server-named queue with its bindings', () => {
    const r = new TopologyRecorder();
    declareQueue(r, '', 'amq.gen-1', { exclusive: true });
    r.onTopology(new spec.Queue.Bind({ queue: 'amq.gen-1', exchange: 'logs' }), new spec.Queue.BindOk());
    expect(r.entities()[0]).to.deep.include({ name: 'amq.gen-1', serverNamed: true });
    r.rename('amq.gen-1', 'amq.gen-2');
    expect(r.entities()[0]).to.deep.include({ name: 'amq.gen-2' });
    expect(r.entities()[1]).to.deep.include({ destination: 'amq.gen-2' });
  });

  it('records nothing while muted (recovery redeclaring)', () => {
    const r = new TopologyRecorder();
    r.muted = true;
    declareQueue(r, 'q', 'q');
    expect(r.entities()).to.deep.equal([]);
  });
});
