/**
 * The coney every coney bench client loads, and the connection parameters
 * they all use, in one place.
 *
 * Which coney: the lib/ next to this file by default (compiled JavaScript in
 * .tmp/bench-build when run.ts runs the children compiled, or the TypeScript
 * through tsx with `--coney lib`), or the compiled coney in the directory
 * CONEY_BENCH_SOURCE names (dist/, or an experimental build).
 */
import * as path from 'node:path';
import type * as Coney from '../../lib/index';
import type { Target } from './adapter';

const source = process.env['CONEY_BENCH_SOURCE'];

/** The coney module under test. */
export const coney = (source ? require(path.resolve(source, 'index.js')) : require('../../lib/index')) as typeof Coney;

/** The parameters of every coney bench connection: the target, frameMax 128 KiB, no heartbeat, Nagle off. */
export function coneyParameters(t: Target): Coney.ConnectionParameters {
  return new coney.ConnectionParameters({
    host: t.host,
    port: t.port,
    virtualHost: t.vhost,
    credentials: new coney.PlainCredentials(t.user, t.password),
    frameMax: 131072,
    heartbeat: 0,
    tcpOptions: { noDelay: true },
  });
}
