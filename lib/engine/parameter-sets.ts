/**
 * What a connection may be given as `parameters`, turned into the list of
 * parameter sets it tries: one set or several, each a ConnectionParameters
 * (URLParameters included) or an `amqp://` / `amqps://` URL string.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { describeValue } from './option-checks';
import { ConnectionParameters } from './parameters';
import { URLParameters } from './url-parameters';

/**
 * One parameter set: parameters, or a URL string parsed with {@link URLParameters}.
 * @category Parameters
 */
export type ParametersInput = ConnectionParameters | string;

/**
 * The parameter sets to try, in order. Throws an InvalidArgumentError for an
 * empty list or an element that is neither parameters nor a URL string (and
 * what URLParameters throws for a malformed URL, which never shows the password).
 */
export function toParameterSets(given: ParametersInput | readonly ParametersInput[] | undefined): ConnectionParameters[] {
  if (given === undefined) return [new ConnectionParameters()];
  const list = Array.isArray(given) ? given : [given];
  if (list.length === 0) throw new InvalidArgumentError('parameters: the list of connection parameters is empty');
  return list.map((p: unknown, i) => {
    if (p instanceof ConnectionParameters) return p;
    if (typeof p === 'string') return new URLParameters(p);
    const where = Array.isArray(given) ? `parameters[${i}]` : 'parameters';
    throw new InvalidArgumentError(`${where}: expected ConnectionParameters, URLParameters or an amqp:// URL string, got ${describeValue(p)}`);
  });
}
