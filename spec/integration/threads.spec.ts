/**
 * Threads against RabbitMQ (issue 16): rabbitpy's multi-threaded example
 * (one connection, a publisher thread and a consumer thread, each with its
 * own channel), a worker that crashes mid-consume, the I/O thread that
 * keeps heartbeats going while the application's thread is blocked (and
 * the negative control without it), and no thread left after close().
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { AMQPConnectionError, type AsyncConnection, connect, ConnectionParameters, type IOThreadConnection, URLParameters } from '../../lib';
import { amqpUrl, uniqueName } from '../support/broker';
import { eventually } from '../support/polling';
import { startTsWorker } from '../threads/fixtures/start-worker';

const WORKER = path.resolve(__dirname, '..', 'threads', 'fixtures', 'port-worker.ts');
const ROOT = path.resolve(__dirname, '..', '..');

/** Collects a worker's messages; `exit` resolves with its exit code. */
function watch(worker: Worker): { messages: Array<Record<string, unknown>>; exit: Promise<number>; errors: Error[] } {
  const messages: Array<Record<string, unknown>> = [];
  const errors: Error[] = [];
  worker.on('message', (m: Record<string, unknown>) => messages.push(m));
  worker.on('error', (err) => errors.push(err));
  const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { messages, exit, errors };
}

/** Resolves with `promise`, or rejects after `ms` saying what was awaited. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every 50 ms until it holds, for at most `ms`. */
async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Burns the calling thread for `ms` without yielding to its event loop. */
function busyLoop(ms: number): void {
  const deadline = Date.now() + ms;
  let x = 0;
  while (Date.now() < deadline) for (let i = 0; i < 10000; i++) x = (x * 31 + i) % 1000003;
  if (x < 0) throw new Error('unreachable');
}

describe('threads (RabbitMQ)', function () {
  this.timeout(120000);
  let connection: AsyncConnection;
  beforeEach(async () => {
    connection = await connect(amqpUrl(), { onClose: () => undefined });
  });
  afterEach(async () => {
    if (connection.isOpen) await connection.close();
  });

  describe("rabbitpy's multi-threaded example: one connection, a publisher worker and a consumer worker", () => {
    async function run(count: number, confirms: boolean): Promise<void> {
      const exchange = uniqueName('threading_example');
      const queue = uniqueName('threading_queue');
      {
        await using channel = await connection.channel();
        await channel.exchangeDeclare(exchange, { type: 'direct', autoDelete: true });
        await channel.queueDeclare(queue, { autoDelete: false });
        await channel.queueBind(queue, exchange, 'test');
      }
      const consumer = watch(startTsWorker(WORKER, { role: 'consume', queue, count }, await connection.openChannelPort()));
      const publisher = watch(
        startTsWorker(WORKER, { role: 'publish', queue, exchange, routingKey: 'test', count, confirms }, await connection.openChannelPort()),
      );
      expect(await within(publisher.exit, 60000, 'the publisher thread')).to.equal(0, String(publisher.errors));
      expect(await within(consumer.exit, 60000, 'the consumer thread')).to.equal(0, String(consumer.errors));
      expect(publisher.messages).to.deep.equal([{ published: count, confirmed: confirms ? count : 0 }]);
      const bodies = consumer.messages.filter((m) => 'body' in m);
      expect(bodies).to.have.length(count);
      expect(new Set(bodies.map((m) => m['body'])).size).to.equal(count);
      expect(bodies.map((m) => m['body'])).to.have.members(Array.from({ length: count }, (_, i) => `Message #${i}`));
      expect(bodies.filter((m) => m['redelivered'] === true)).to.have.length(0);
      expect(consumer.messages.at(-1)).to.deep.equal({ done: count });
      // each received exactly once: nothing left in the queue, nothing unacked
      await using channel = await connection.channel();
      const ok = await channel.queueDelete(queue);
      expect(ok.messageCount).to.equal(0);
      expect(connection.isOpen).to.equal(true);
    }

    it('100 messages, each received exactly once', () => run(100, false));
    it('10,000 messages with publisher confirms', () => run(10000, true));
  });

  it('a worker that throws mid-consume: its channel closes, its unacked messages are requeued, another worker goes on', async () => {
    const crashQueue = uniqueName('threads-crash');
    const otherQueue = uniqueName('threads-other');
    await using channel = await connection.channel();
    await channel.queueDeclare(crashQueue);
    await channel.queueDeclare(otherQueue);
    for (let i = 0; i < 10; i++) await channel.basicPublish('', crashQueue, `c${i}`);
    await channel.queueDeclare(crashQueue, { passive: true });

    const other = watch(startTsWorker(WORKER, { role: 'consume', queue: otherQueue, count: 6 }, await connection.openChannelPort()));
    for (let i = 0; i < 3; i++) await channel.basicPublish('', otherQueue, `o${i}`);
    await until(() => other.messages.length === 3, 20000, 'the other worker got its first 3 messages');

    const crash = watch(
      startTsWorker(WORKER, { role: 'crash', queue: crashQueue, count: 10, prefetch: 10, crashAfter: 4 }, await connection.openChannelPort()),
    );
    expect(await within(crash.exit, 20000, 'the crashing worker exits')).to.equal(1);
    expect(crash.errors.map((e) => e.message)).to.deep.equal(['worker crashed mid-consume (on purpose)']);
    expect(crash.messages.filter((m) => 'body' in m)).to.have.length.within(4, 10);
    // 3 acked before the crash; the 7 others (handed out or buffered, never acked) go back to the queue
    await until(
      async () => {
        const ok = await channel.queueDeclare(crashQueue, { passive: true });
        return ok.consumerCount === 0 && ok.messageCount === 7;
      },
      20000,
      'the crashed worker channel is gone and its 7 unacked messages are ready again',
    );

    for (let i = 3; i < 6; i++) await channel.basicPublish('', otherQueue, `o${i}`);
    expect(await within(other.exit, 20000, 'the other worker finishes')).to.equal(0);
    expect(other.messages.filter((m) => 'body' in m).map((m) => m['body'])).to.deep.equal(['o0', 'o1', 'o2', 'o3', 'o4', 'o5']);
    expect(connection.isOpen).to.equal(true);
    await channel.queueDelete(crashQueue);
    await channel.queueDelete(otherQueue);
  });

  describe('heartbeat 1 s, the calling thread blocked 5 s holding unacked deliveries', () => {
    const url = (): ConnectionParameters => {
      const u = new URLParameters(amqpUrl());
      return new ConnectionParameters({ host: u.host, port: u.port, virtualHost: u.virtualHost, credentials: u.credentials, heartbeat: 1 });
    };

    /** Publishes 5 messages, takes all of them from a consume() without acking, blocks 5 s, acks, makes a round trip. */
    async function blockWhileHolding(c: AsyncConnection | IOThreadConnection, queue: string): Promise<{ redelivered: number; roundTrip: unknown }> {
      const channel = await c.channel();
      await channel.queueDeclare(queue);
      await channel.basicQos({ prefetchCount: 5 });
      for (let i = 0; i < 5; i++) await channel.basicPublish('', queue, `h${i}`);
      const held = [];
      let redelivered = 0;
      for await (const message of channel.consume(queue)) {
        held.push(message!);
        if (message!.redelivered) redelivered += 1;
        if (held.length === 5) break;
      }
      busyLoop(5000);
      // let the loop run: what arrived meanwhile (a close, a heartbeat timeout) is handled now
      await new Promise((resolve) => setTimeout(resolve, 500));
      const roundTrip = await Promise.all(held.map((m) => m.ack()))
        .then(() => channel.queueDeclare(queue, { passive: true }))
        .catch((err: unknown) => err);
      return { redelivered, roundTrip };
    }

    it('ioThread: the connection stays open and nothing is redelivered', async () => {
      const queue = uniqueName('threads-hb');
      let closedWith: Error | null = null;
      const c = await connect(url(), { ioThread: true, onClose: (_c, reason) => (closedWith = reason) });
      try {
        const { redelivered, roundTrip } = await blockWhileHolding(c, queue);
        expect(redelivered).to.equal(0);
        expect(roundTrip).to.have.property('messageCount', 0);
        expect(c.isOpen).to.equal(true);
        expect(closedWith).to.equal(null);
        // The counters, mirrored from the I/O thread: its heartbeats went on while this thread was busy.
        await eventually(() => c.stats.acked >= 5, 2000, 'the acks in the mirrored stats');
        expect(c.stats.delivered).to.be.at.least(5);
        expect(c.stats.heartbeatsSent, 'heartbeats sent by the I/O thread').to.be.at.least(4);
        const ch = await c.channel();
        const ok = await ch.queueDelete(queue);
        expect(ok.messageCount).to.equal(0); // every message acked once, none back in the queue
      } finally {
        if (c.isOpen) await c.close();
      }
    });

    it('negative control, without ioThread: the broker drops the connection and requeues the messages', async () => {
      const queue = uniqueName('threads-hb-neg');
      let closedWith: Error | null = null;
      const c = await connect(url(), { onClose: (_c, reason) => (closedWith = reason) });
      try {
        const { roundTrip } = await blockWhileHolding(c, queue);
        expect(roundTrip).to.be.instanceOf(Error);
        await until(() => c.isClosed, 10000, 'the connection is closed');
        expect(closedWith).to.be.instanceOf(AMQPConnectionError);
        expect(closedWith!.constructor.name).to.be.oneOf(['StreamLostError', 'AMQPHeartbeatTimeout']);
        await using ch = await connection.channel();
        await until(async () => (await ch.queueDeclare(queue, { passive: true })).messageCount === 5, 10000, 'the 5 unacked messages are requeued');
        await ch.queueDelete(queue);
      } finally {
        if (c.isOpen) await c.close();
      }
    });
  });

  describe('no thread or handle left behind', () => {
    /** Runs the body of an async function in a child process (under tsx); resolves with its exit code and output, or fails after `ms`. */
    function runScript(body: string, ms: number): Promise<{ code: number | null; output: string }> {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'coney-threads-')), 'script.ts');
      writeFileSync(file, `(async () => {\n${body}\n})().catch((err) => { console.error(err); process.exitCode = 1; });\n`);
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: process.env });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the process did not exit on its own within ${ms} ms; output:\n${output}`));
        }, ms);
        child.once('close', (code) => {
          clearTimeout(timer);
          rmSync(path.dirname(file), { recursive: true, force: true });
          resolve({ code, output });
        });
      });
    }

    it('connect({ ioThread: true }), use a channel, close(): the process exits on its own', async () => {
      const lib = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'));
      const { code, output } = await runScript(
        `const { connect } = require(${lib});
         const c = await connect(process.env.AMQP_URL, { ioThread: true });
         const ch = await c.channel();
         const q = await ch.queueDeclare('', { exclusive: true });
         await ch.basicPublish('', q.queue, 'x');
         for await (const m of ch.consume(q.queue)) { await m.ack(); break; }
         await c.close();
         console.log('closed', c.isClosed);`,
        20000,
      );
      expect(code, output).to.equal(0);
      expect(output).to.include('closed true');
    });

    it('connect({ ioThread: true }) that fails (a wrong password, a closed port, an abort): the same error classes, and the process exits on its own', async () => {
      const lib = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'));
      const { code, output } = await runScript(
        `const coney = require(${lib});
         const url = new URL(process.env.AMQP_URL);
         const outcome = (p) => p.then(() => 'opened', (e) => e.constructor.name + (e instanceof coney.AMQPConnectionError ? ' (AMQPConnectionError)' : ''));
         url.password = 'wrong-password';
         console.log('password:', await outcome(coney.connect(url.toString(), { ioThread: true })));
         const closed = new URL(process.env.AMQP_URL);
         closed.port = '1';
         console.log('port:', await outcome(coney.connect(closed.toString() + '?connection_attempts=1', { ioThread: true })));
         const aborted = AbortSignal.abort(new Error('stop'));
         console.log('abort:', await outcome(coney.connect(process.env.AMQP_URL, { ioThread: true, signal: aborted })));
         const later = new AbortController();
         const pending = outcome(coney.connect(process.env.AMQP_URL, { ioThread: true, signal: later.signal }));
         later.abort(new RangeError('later'));
         console.log('abort later:', await pending);`,
        30000,
      );
      expect(code, output).to.equal(0);
      expect(output).to.include('password: ProbableAuthenticationError (AMQPConnectionError)');
      expect(output).to.match(/port: \w+ \(AMQPConnectionError\)/);
      expect(output).to.include('abort: Error');
      expect(output).to.include('abort later: RangeError');
    });

    it('from the compiled package (plain node, no tsx): the I/O thread starts from its .js file and the process exits', async function () {
      this.timeout(180000);
      // A build of its own (tsconfig.build.json, as npm run build), so that this does not depend on a fresh dist/.
      const out = mkdtempSync(path.join(tmpdir(), 'coney-threads-build-'));
      try {
        execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out], {
          cwd: ROOT,
        });
        const script = `const { connect } = require(${JSON.stringify(path.join(out, 'index.js'))});
          (async () => {
            const c = await connect(process.env.AMQP_URL, { ioThread: true });
            const ch = await c.channel();
            const q = await ch.queueDeclare('', { exclusive: true });
            await ch.basicPublish('', q.queue, 'built');
            const m = await ch.basicGet(q.queue);
            await m.ack();
            await c.close();
            console.log('got', m.body.toString(), c.isClosed);
          })();`;
        const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', script], { cwd: tmpdir(), env: process.env });
          let output = '';
          child.stdout.on('data', (d: Buffer) => (output += d.toString()));
          child.stderr.on('data', (d: Buffer) => (output += d.toString()));
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`did not exit within 20 s:\n${output}`));
          }, 20000);
          child.once('close', (c) => {
            clearTimeout(timer);
            resolve({ code: c, output });
          });
        });
        expect(code, output).to.equal(0);
        expect(output).to.include('got built true');
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });

    it('a channel port handed to a worker that ends without closing it, then close(): the process exits on its own', async () => {
      const lib = JSON.stringify(path.join(ROOT, 'lib', 'index.ts'));
      const worker = JSON.stringify(WORKER);
      const start = JSON.stringify(path.join(ROOT, 'spec', 'threads', 'fixtures', 'start-worker.ts'));
      const { code, output } = await runScript(
        `const { connect } = require(${lib});
         const { startTsWorker } = require(${start});
         const c = await connect(process.env.AMQP_URL);
         const ch = await c.channel();
         const q = await ch.queueDeclare('', { exclusive: true });
         const w = startTsWorker(${worker}, { role: 'publish', queue: q.queue, count: 3, close: false }, await c.openChannelPort());
         await new Promise((resolve) => w.once('exit', resolve));
         // the worker's channel (number 2) was closed when its thread ended: the next channel gets its number
         // (its close is under way when the thread's exit is seen: a few tries)
         for (let i = 0; i < 100; i++) {
           const probe = await c.channel();
           if (probe.channelNumber === 2 || i === 99) { console.log('next channel', probe.channelNumber); break; }
           await probe.close();
           await new Promise((resolve) => setTimeout(resolve, 50));
         }
         // its close-ok came after its publishes were routed (a channel's order)
         const ok = await ch.queueDeclare(q.queue, { passive: true });
         console.log('published', ok.messageCount);
         await c.close();`,
        20000,
      );
      expect(code, output).to.equal(0);
      expect(output).to.include('published 3');
      expect(output).to.include('next channel 2');
    });
  });
});
