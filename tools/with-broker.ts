/**
 * `tsx tools/with-broker.ts <command> [args...]`
 *
 * Runs a command against RabbitMQ. When AMQP_URL is already set, the command
 * just runs with it (your own broker). Otherwise a throwaway broker (with a
 * TLS listener) is started, its coordinates are put in the child's
 * environment (AMQP_URL, AMQPS_URL, CONEY_TLS_CA/CERT/KEY,
 * CONEY_BROKER_NODENAME/HOME/EPMD_PORT, CONEY_BROKER_TEST_VHOST,
 * CONEY_BROKER_DENIED_VHOST), the command runs with inherited stdio, and the
 * broker is stopped afterwards in every case. Exits with the command's exit
 * code (128 + signal number when it died of a signal).
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBroker, Broker } from './rabbitmq-node';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal) return 128 + (os.constants.signals[signal] ?? 1);
  return 1;
}

/** PATH with the project's node_modules/.bin first, so `mocha`, `tsx` resolve without npx. */
function pathWithLocalBin(): string {
  const bin = path.resolve(__dirname, '..', 'node_modules', '.bin');
  const current = process.env['PATH'] ?? '';
  return current.split(path.delimiter).includes(bin) ? current : [bin, current].filter(Boolean).join(path.delimiter);
}

function runCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env });
    } catch (err) {
      process.stderr.write(`coney: cannot run ${argv[0]}: ${(err as Error).message}\n`);
      resolve(127);
      return;
    }
    const forward = (sig: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    for (const sig of SIGNALS) process.on(sig, forward);
    child.once('error', (err) => {
      process.stderr.write(`coney: cannot run ${argv[0]}: ${err.message}\n`);
      for (const sig of SIGNALS) process.off(sig, forward);
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      for (const sig of SIGNALS) process.off(sig, forward);
      resolve(exitCodeOf(code, signal));
    });
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length === 0) {
    process.stderr.write('usage: tsx tools/with-broker.ts <command> [args...]\n');
    return 2;
  }
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithLocalBin() };

  if (process.env['AMQP_URL']) {
    process.stderr.write(`coney: using AMQP_URL=${process.env['AMQP_URL']} (no throwaway broker)\n`);
    return runCommand(argv, baseEnv);
  }

  // A signal that arrives while the broker is still starting: remember it, stop, exit.
  let interrupted: NodeJS.Signals | null = null;
  const onEarlySignal = (sig: NodeJS.Signals): void => {
    interrupted = sig;
  };
  for (const sig of SIGNALS) process.on(sig, onEarlySignal);

  let broker: Broker | undefined;
  try {
    broker = await startBroker({ tls: true, handleSignals: false });
  } catch (err) {
    for (const sig of SIGNALS) process.off(sig, onEarlySignal);
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  try {
    if (interrupted) return 128 + (os.constants.signals[interrupted as NodeJS.Signals] ?? 1);
    for (const sig of SIGNALS) process.off(sig, onEarlySignal);
    // While the child runs, signals are forwarded to it (runCommand); keep the
    // process from dying on them before the broker is stopped.
    const keepAlive = (): void => undefined;
    for (const sig of SIGNALS) process.on(sig, keepAlive);
    process.stderr.write(
      `coney: throwaway RabbitMQ at ${broker.url} and ${broker.tls?.url} (node ${broker.nodename}, ` +
        `started in ${(broker.startupMs / 1000).toFixed(1)} s; stopped afterwards)\n`,
    );
    const code = await runCommand(argv, { ...baseEnv, ...broker.env() });
    return code;
  } finally {
    await broker.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`coney: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
