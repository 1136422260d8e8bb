/**
 * The few lines every example shares: where the broker is, command-line
 * flags, and what to do when the connection cannot open.
 */
import type { Connection } from '../../lib';

/** The broker URL: `AMQP_URL`, or RabbitMQ's default on localhost. */
export const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@localhost:5672/';

/** The value after `--name` on the command line, or `fallback`. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

/** True when `--name` is on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** An `onOpenError` callback: says why and makes the process exit with 1. */
export function exitOnOpenError(_connection: Connection, err: Error): void {
  console.error(`could not connect: ${err.message}`);
  process.exitCode = 1;
}
