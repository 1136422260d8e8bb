/**
 * `NODE_DEBUG=coney`: the connection's life on stderr through Node's
 * `util.debuglog` (section `coney`): attempts and their outcome, the
 * negotiated tune values, heartbeat timeouts, blocked and unblocked, close
 * reasons, recovery steps, channel opens and closes.
 *
 * Never a credential: connections are described by
 * `ConnectionParameters.toString()` (no password) and errors by their name
 * and message, which coney writes without secrets; a token or password is
 * never an argument here. Off the hot paths only; with the section off, a
 * call costs one boolean test and formats nothing.
 * @packageDocumentation
 */
import { debuglog } from 'node:util';

const log = debuglog('coney');

/** True when `NODE_DEBUG` names `coney`: callers with costly arguments check it first. */
export function debugEnabled(): boolean {
  return log.enabled;
}

/** Logs one line (printf-style `format`, as `util.format`) when `NODE_DEBUG=coney`. */
export function debug(format: string, ...args: unknown[]): void {
  if (log.enabled) log(format, ...args);
}
