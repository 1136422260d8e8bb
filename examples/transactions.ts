/**
 * AMQP transactions (`tx.select`, `tx.commit`, `tx.rollback`): publishes
 * made in a transaction reach the queue only on commit; a rollback discards them.
 *
 *   Step 1: connect, open a channel, declare a private queue
 *   Step 2: `txSelect` puts the channel in transactional mode (for good)
 *   Step 3: publish 3 messages, then `txRollback`: the queue stays empty
 *   Step 4: publish 3 messages, then `txCommit`: the queue now holds 3
 *   Step 5: check each step with a passive `queueDeclare` (its `messageCount`), then close
 *
 * Transactions are slow (a round trip per commit) and cover only this
 * channel; publisher confirms are the usual way to make publishing safe.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/transactions.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/transactions.ts
 */
import { type Channel, SelectConnection, URLParameters } from '../lib';
import { AMQP_URL, exitOnOpenError } from './support/cli';

const QUEUE = `coney-transactions-${process.pid}`;
const BATCH = 3;

let ok = false;

/** How many messages wait in the queue (passive declare: checks, creates nothing). */
function messageCount(channel: Channel, cb: (count: number) => void): void {
  channel.queueDeclare(QUEUE, { passive: true }, (err, declareOk) => {
    if (err) throw err;
    cb(declareOk.messageCount);
  });
}

function publishBatch(channel: Channel, label: string): void {
  for (let i = 1; i <= BATCH; i++) channel.basicPublish('', QUEUE, `${label} ${i}`);
}

function run(channel: Channel): void {
  // Step 2
  channel.txSelect((err) => {
    if (err) throw err;
    console.log('tx.select: the channel is transactional');
    // Step 3
    publishBatch(channel, 'rolled back');
    channel.txRollback((err) => {
      if (err) throw err;
      messageCount(channel, (afterRollback) => {
        console.log(`published ${BATCH}, rolled back: ${afterRollback} messages in the queue`);
        // Step 4
        publishBatch(channel, 'committed');
        channel.txCommit((err) => {
          if (err) throw err;
          messageCount(channel, (afterCommit) => {
            console.log(`published ${BATCH}, committed: ${afterCommit} messages in the queue`);
            ok = afterRollback === 0 && afterCommit === BATCH;
            console.log(ok ? 'OK: rollback discarded, commit delivered' : 'UNEXPECTED counts');
            connection.close();
          });
        });
      });
    });
  });
}

// Step 1
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    console.log(`connection closed: ${reason.message}`);
    process.exitCode = ok ? 0 : 1;
  },
  onOpen: (conn) =>
    conn.channel((err, channel) => {
      if (err) throw err;
      channel.queueDeclare(QUEUE, { exclusive: true }, (err) => {
        if (err) throw err;
        run(channel);
      });
    }),
});

void connection.ioloop.start();
