/**
 * toParameterSets: what a connection may be given as `parameters` (one set
 * or several; ConnectionParameters, URLParameters or an amqp:// URL string),
 * turned into the list of sets it tries, in order.
 */
import { expect } from 'chai';
import { toParameterSets } from '../../lib/engine/parameter-sets';
import { ConnectionParameters } from '../../lib/engine/parameters';
import { URLParameters } from '../../lib/engine/url-parameters';
import { InvalidArgumentError } from '../../lib/errors';

describe('toParameterSets', () => {
  it('without parameters: one default set (localhost:5672)', () => {
    const sets = toParameterSets(undefined);
    expect(sets).to.have.length(1);
    expect(sets[0]).to.be.instanceOf(ConnectionParameters);
    expect([sets[0].host, sets[0].port, sets[0].virtualHost]).to.deep.equal(['localhost', 5672, '/']);
  });

  it('keeps a ConnectionParameters (or URLParameters) as it is', () => {
    const params = new ConnectionParameters({ host: 'a' });
    const url = new URLParameters('amqp://b/');
    expect(toParameterSets(params)[0]).to.equal(params);
    expect(toParameterSets(url)[0]).to.equal(url);
  });

  it('parses a URL string with URLParameters', () => {
    const [set] = toParameterSets('amqps://bob:pw@rabbit.example:5999/prod');
    expect(set).to.be.instanceOf(URLParameters);
    expect([set.host, set.port, set.virtualHost, set.ssl === false]).to.deep.equal(['rabbit.example', 5999, 'prod', false]);
  });

  it('keeps the order of a list, mixing both kinds', () => {
    const first = new ConnectionParameters({ host: 'first' });
    const sets = toParameterSets([first, 'amqp://second/', new URLParameters('amqp://third/')]);
    expect(sets.map((s) => s.host)).to.deep.equal(['first', 'second', 'third']);
    expect(sets[0]).to.equal(first);
  });

  it('rejects an empty list', () => {
    expect(() => toParameterSets([])).to.throw(InvalidArgumentError, 'parameters: the list of connection parameters is empty');
  });

  it('rejects a plain object, naming it (options are not parameters)', () => {
    expect(() => toParameterSets({ host: 'h' } as never)).to.throw(
      InvalidArgumentError,
      'parameters: expected ConnectionParameters, URLParameters or an amqp:// URL string, got an object',
    );
  });

  it('rejects a bad element of a list, naming its index', () => {
    expect(() => toParameterSets(['amqp://a/', 5672 as never])).to.throw(
      InvalidArgumentError,
      'parameters[1]: expected ConnectionParameters, URLParameters or an amqp:// URL string, got the number 5672',
    );
    expect(() => toParameterSets([null as never])).to.throw(InvalidArgumentError, /^parameters\[0\]: .*got null$/);
  });

  it("passes URLParameters' error for a malformed URL on, without the password", () => {
    let caught: unknown;
    try {
      toParameterSets(['amqp://a/', 'amqp://bob:hunter2@host:notaport/']);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(InvalidArgumentError);
    expect((caught as Error).message).to.match(/^invalid port 'notaport' in AMQP URL/);
    expect((caught as Error).message).not.to.include('hunter2');
  });
});
