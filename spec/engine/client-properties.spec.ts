/**
 * The client properties of connection.start-ok: product, version, platform
 * and the capabilities coney implements, with the user's properties merged
 * over them and the connection name.
 */
import { expect } from 'chai';
import { CLIENT_CAPABILITIES, clientProperties } from '../../lib/engine/client-properties';
import { VERSION } from '../../lib/version';

describe('clientProperties', () => {
  it('says who we are and what we implement', () => {
    const props = clientProperties();
    expect(props['product']).to.equal('coney');
    expect(props['version']).to.equal(VERSION);
    expect(props['platform']).to.equal(`Node.js ${process.version}`);
    expect(props['information']).to.be.a('string').and.not.equal('');
    expect(props['capabilities']).to.deep.equal(CLIENT_CAPABILITIES);
    expect(props).not.to.have.property('connection_name');
  });

  it('announces the RabbitMQ extensions coney implements, each as true', () => {
    expect(CLIENT_CAPABILITIES).to.deep.equal({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
    });
    expect(Object.isFrozen(CLIENT_CAPABILITIES)).to.equal(true);
  });

  it('merges the user properties over ours', () => {
    const props = clientProperties({ product: 'my-app', extra: 'x' });
    expect(props['product']).to.equal('my-app');
    expect(props['extra']).to.equal('x');
    expect(props['version']).to.equal(VERSION);
  });

  it('merges user capabilities key by key: one can be turned off, others added', () => {
    const props = clientProperties({ capabilities: { 'connection.blocked': false, custom_feature: true } });
    expect(props['capabilities']).to.deep.equal({ ...CLIENT_CAPABILITIES, 'connection.blocked': false, custom_feature: true });
  });

  for (const [what, value] of [
    ['a string', 'all'],
    ['an array', ['publisher_confirms']],
    ['null', null],
  ] as const) {
    it(`keeps our capabilities when the user gives ${what} for them`, () => {
      expect(clientProperties({ capabilities: value as never })['capabilities']).to.deep.equal(CLIENT_CAPABILITIES);
    });
  }

  it('sends the connection name as connection_name, over a user property of that name', () => {
    expect(clientProperties({}, 'orders-worker')['connection_name']).to.equal('orders-worker');
    expect(clientProperties({ connection_name: 'from properties' }, 'from parameters')['connection_name']).to.equal('from parameters');
    expect(clientProperties({ connection_name: 'from properties' })['connection_name']).to.equal('from properties');
  });

  it('changes neither the user object nor our capabilities', () => {
    const overrides = { product: 'mine', capabilities: { custom: true } };
    const props = clientProperties(overrides, 'n');
    expect(overrides).to.deep.equal({ product: 'mine', capabilities: { custom: true } });
    expect(props['capabilities']).not.to.equal(CLIENT_CAPABILITIES);
    expect(clientProperties()['capabilities'], 'a fresh table per call').not.to.equal(clientProperties()['capabilities']);
  });
});
