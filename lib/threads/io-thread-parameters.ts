/**
 * Connection parameters sent to the I/O thread (`connect(url, { ioThread: true })`).
 * ConnectionParameters are a class with credentials whose password is
 * private: the structured clone would lose both. So each parameter set is
 * written as the options its constructor takes, the credentials as what
 * rebuilds them, and rebuilt in the I/O thread.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { ExternalCredentials, PlainCredentials } from '../engine/credentials';
import { toParameterSets, type ParametersInput } from '../engine/parameter-sets';
import { ConnectionParameters, type ConnectionParametersOptions } from '../engine/parameters';

/** One parameter set as it crosses to the I/O thread. */
export interface ThreadParameters {
  readonly options: Omit<ConnectionParametersOptions, 'credentials'>;
  readonly credentials: { readonly plain: [username: string, password: string, eraseOnConnect: boolean] } | { readonly external: true };
}

/** The option names copied as they are (everything but the credentials). */
const COPIED = [
  'host',
  'port',
  'virtualHost',
  'channelMax',
  'frameMax',
  'maxMessageSize',
  'heartbeat',
  'ssl',
  'connectionAttempts',
  'retryDelay',
  'socketTimeout',
  'stackTimeout',
  'blockedConnectionTimeout',
  'locale',
  'connectionName',
  'clientProperties',
  'tcpOptions',
  'socketPath',
] as const;

/** Main thread: the parameter sets to send (throws InvalidArgumentError for what cannot cross). */
export function toThreadParameters(given: ParametersInput | readonly ParametersInput[] | undefined): ThreadParameters[] {
  return toParameterSets(given).map((p, i) => {
    const options: Record<string, unknown> = {};
    for (const name of COPIED) {
      const value = (p as unknown as Record<string, unknown>)[name];
      if (value !== undefined) options[name] = value;
    }
    if (typeof p.heartbeat === 'function') {
      throw new InvalidArgumentError(
        `parameters[${i}]: a heartbeat function cannot run in the I/O thread (ioThread: true); give a number of seconds`,
      );
    }
    return { options: options, credentials: credentialsOf(p, i) };
  });
}

/** I/O thread: the parameter sets rebuilt. */
export function fromThreadParameters(sets: readonly ThreadParameters[]): ConnectionParameters[] {
  return sets.map((s) => {
    const c = s.credentials;
    const credentials = 'plain' in c ? new PlainCredentials(c.plain[0], c.plain[1], c.plain[2]) : new ExternalCredentials();
    return new ConnectionParameters({ ...s.options, credentials });
  });
}

function credentialsOf(p: ConnectionParameters, i: number): ThreadParameters['credentials'] {
  const c = p.credentials;
  if (c instanceof PlainCredentials) {
    if (c.username === null || c.password === null) throw new InvalidArgumentError(`parameters[${i}]: these PlainCredentials were erased`);
    return { plain: [c.username, c.password, c.eraseOnConnect] };
  }
  if (c instanceof ExternalCredentials) return { external: true };
  throw new InvalidArgumentError(
    `parameters[${i}]: ${c.constructor?.name ?? 'these'} credentials cannot be sent to the I/O thread (ioThread: true takes PlainCredentials or ExternalCredentials)`,
  );
}
