/**
 * `npm run broker`: starts a throwaway RabbitMQ (with TLS), prints how to
 * reach it, and keeps it running until Ctrl-C (or SIGTERM), then stops it
 * and removes its files.
 */
import { startBroker, RABBITMQCTL } from './rabbitmq-node';

async function main(): Promise<void> {
  process.stderr.write('coney: starting a throwaway RabbitMQ...\n');
  // handleSignals (the default): Ctrl-C stops the broker and exits.
  const broker = await startBroker({ tls: true });
  const env = broker.env();
  const lines = [
    `coney: RabbitMQ ${broker.nodename} ready in ${(broker.startupMs / 1000).toFixed(1)} s (pid ${broker.pid}, files in ${broker.dir})`,
    '',
    `  AMQP   ${broker.url}`,
    broker.tls ? `  AMQPS  ${broker.tls.url}` : '',
    broker.tls ? `         CA ${broker.tls.caFile}` : '',
    broker.tls ? `         client certificate (CN=${broker.tls.clientUser}, for SASL EXTERNAL) ${broker.tls.certFile}` : '',
    broker.tls ? `         client key ${broker.tls.keyFile}` : '',
    `  vhosts '/' and '${broker.vhosts.test}' (guest: full access), '${broker.vhosts.denied}' (guest: no access)`,
    `  log    ${broker.logFile}`,
    '',
    'Use it from another shell (e.g. `npm test` skips starting its own broker when AMQP_URL is set):',
    '',
    ...Object.entries(env).map(([k, v]) => `  export ${k}='${v}'`),
    '',
    'rabbitmqctl for this node:',
    `  HOME='${broker.home}' ERL_EPMD_PORT=${broker.epmdPort} ${RABBITMQCTL} -n ${broker.nodename} status`,
    '',
    'Ctrl-C stops it.',
  ].filter((l, i, all) => l !== '' || all[i - 1] !== '');
  process.stdout.write(lines.join('\n') + '\n');
  // Keep the process alive; the signal handlers installed by startBroker stop the broker and exit.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
