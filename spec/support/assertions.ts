/**
 * Small assertions shared by the parameter specs (parameters, credentials,
 * url-parameters): an InvalidArgumentError's message, the message of a
 * rejected URL, and the PlainCredentials that parameters hold.
 */
import { expect } from 'chai';
import { PlainCredentials } from '../../lib/engine/credentials';
import type { ConnectionParameters } from '../../lib/engine/parameters';
import { URLParameters } from '../../lib/engine/url-parameters';
import { InvalidArgumentError } from '../../lib/errors';

/** Runs `fn`, expects an InvalidArgumentError, returns its message. */
export function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

/** The message of the InvalidArgumentError that `new URLParameters(url)` throws. */
export function urlError(url: string): string {
  return invalidMessage(() => new URLParameters(url));
}

/** The credentials of `params`, which must be PlainCredentials. */
export function plainCredentials(params: ConnectionParameters): PlainCredentials {
  expect(params.credentials).to.be.instanceOf(PlainCredentials);
  return params.credentials as PlainCredentials;
}
