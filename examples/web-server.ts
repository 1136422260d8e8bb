/**
 * An HTTP server that publishes each request to RabbitMQ, on the same event
 * loop (pika's Tornado pattern: the web framework and the AMQP connection
 * share one I/O loop, so no threads and no locks).
 *
 *   Step 1: connect, open a channel, declare the queue, turn on publisher confirms
 *   Step 2: start the HTTP server (`--port`, 0 picks a free port; the port is printed)
 *   Step 3: POST /publish  -> basicPublish of the request body; the HTTP
 *           response waits for the broker's confirm: 200 on ack, 502 on nack
 *           GET  /stats    -> counters, plus the queue depth from a passive queue.declare
 *   Step 4: backpressure: while the outbound buffer is over its high-water
 *           mark (basicPublish returned false, until the drain callback) or the
 *           broker has blocked the connection, answer 503 with Retry-After
 *           (default), or with `--wait` hold the request until the drain
 *   Step 5: Ctrl-C / SIGTERM: stop accepting requests, close the connection
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/web-server.ts --port 8080
 *   curl -d 'hello' http://127.0.0.1:8080/publish ; curl http://127.0.0.1:8080/stats
 *
 * Options: `--port N` (8080; 0 = any free port), `--queue NAME` (coney-web),
 * `--wait` (hold requests during backpressure instead of answering 503).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Channel, type Connection, SelectConnection, URLParameters, spec } from '../lib';
import { AMQP_URL, option, flag, exitOnOpenError } from './support/cli';

const PORT = Number(option('port', '8080'));
const QUEUE = option('queue', 'coney-web');
const WAIT = flag('wait');
const MAX_BODY = 1024 * 1024;

const stats = { requests: 0, published: 0, acked: 0, nacked: 0, rejected503: 0, waited: 0 };
/** HTTP responses waiting for their confirm, by delivery tag (ascending). */
const awaitingConfirm = new Map<number, http.ServerResponse>();
/** With --wait: publishes held until the drain callback. */
const heldForDrain: Array<() => void> = [];
let channel: Channel | null = null;
let blocked = false;
let server: http.Server | null = null;

function reply(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body) + '\n');
}

// Step 1
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    console.log(`connection closed: ${reason.message}`);
    for (const res of awaitingConfirm.values()) reply(res, 503, { error: 'connection closed' });
    awaitingConfirm.clear();
    for (const held of heldForDrain.splice(0)) held(); // each answers 503: not connected
    server?.close();
    server?.closeAllConnections();
  },
  onOpen: (conn) => {
    conn.addOnDrainCallback(onDrain);
    conn.addOnConnectionBlockedCallback(() => (blocked = true));
    conn.addOnConnectionUnblockedCallback(() => {
      blocked = false;
      onDrain(conn);
    });
    conn.channel((err, ch) => {
      if (err) throw err;
      channel = ch;
      channel.queueDeclare(QUEUE, { durable: false });
      channel.confirmDelivery(onConfirm, (err) => {
        if (err) throw err;
        startHttp();
      });
    });
  },
});

function onConfirm(_ch: Channel, method: spec.Basic.Ack | spec.Basic.Nack): void {
  const ack = method instanceof spec.Basic.Ack;
  const settle = (tag: number, res: http.ServerResponse): void => {
    awaitingConfirm.delete(tag);
    if (ack) stats.acked += 1;
    else stats.nacked += 1;
    reply(res, ack ? 200 : 502, { deliveryTag: tag, confirmed: ack });
  };
  for (const [tag, res] of awaitingConfirm) {
    if (tag > method.deliveryTag) break;
    if (method.multiple || tag === method.deliveryTag) settle(tag, res);
  }
}

// Step 4
function underPressure(): boolean {
  return blocked || connection.writableNeedDrain;
}

function onDrain(_conn: Connection): void {
  while (heldForDrain.length > 0 && !underPressure()) heldForDrain.shift()!();
}

// Step 3
function publish(body: Buffer, res: http.ServerResponse): void {
  if (channel === null || !channel.isOpen) return reply(res, 503, { error: 'not connected' });
  stats.published += 1;
  const tag = stats.published; // confirm mode numbers the publishes of the channel from 1
  awaitingConfirm.set(tag, res);
  channel.basicPublish('', QUEUE, body, { contentType: 'application/octet-stream', timestamp: new Date() });
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  stats.requests += 1;
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/stats') {
    if (channel === null || !channel.isOpen) return reply(res, 503, { ...stats, error: 'not connected' });
    // An AMQP round trip inside an HTTP request: the loop serves both.
    channel.queueDeclare(QUEUE, { passive: true }, (err, ok) => {
      reply(res, 200, {
        ...stats,
        pending: awaitingConfirm.size,
        queue: QUEUE,
        queueMessages: err ? null : ok.messageCount,
        blocked,
        writableNeedDrain: connection.writableNeedDrain,
      });
    });
    return;
  }
  if (req.method === 'POST' && path === '/publish') {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return reply(res, 413, { error: `body larger than ${MAX_BODY} bytes` });
      const body = Buffer.concat(chunks);
      if (!underPressure()) return publish(body, res);
      if (WAIT) {
        stats.waited += 1;
        heldForDrain.push(() => publish(body, res));
        return;
      }
      stats.rejected503 += 1;
      reply(res, 503, { error: blocked ? 'broker blocked the connection' : 'backpressure' }, { 'retry-after': '1' });
    });
    return;
  }
  reply(res, 404, { error: 'try POST /publish or GET /stats' });
}

// Step 2
function startHttp(): void {
  server = http.createServer(handle);
  server.listen(PORT, '127.0.0.1', () => {
    const { port } = server!.address() as AddressInfo;
    console.log(`listening on http://127.0.0.1:${port} (POST /publish, GET /stats), publishing to queue ${QUEUE}`);
  });
}

// Step 5
function shutdown(): void {
  console.log('shutting down');
  server?.close(); // stop accepting; in-flight requests get their confirm or a 503 on close
  if (connection.isOpen) connection.close();
  else if (!connection.isClosed && !connection.isClosing) connection.close();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

void connection.ioloop.start();
