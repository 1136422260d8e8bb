/** examples/web-server.ts: HTTP and AMQP on one loop; confirms decide the HTTP status. */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { startExample, stopExample, type RunningExample } from './helpers';
import { cleanUp } from '../support/callbacks';

describe('examples/web-server.ts', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-web');
  let example: RunningExample | undefined;

  after(async () => {
    await stopExample(example);
    await cleanUp([queue]);
  });

  it('publishes each POST /publish, answers after the confirm, reports /stats, stops on SIGTERM', async () => {
    example = startExample('web-server', ['--port', '0', '--queue', queue], 40000);
    const [, port] = await example.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    const base = `http://127.0.0.1:${port}`;

    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${base}/publish`, { method: 'POST', body: `request ${i}` })));
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ deliveryTag: number; confirmed: boolean }>));
    expect(responses.map((r) => r.status)).to.deep.equal(Array(8).fill(200));
    expect(bodies.every((b) => b.confirmed)).to.equal(true);
    expect(bodies.map((b) => b.deliveryTag).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);

    const stats = (await (await fetch(`${base}/stats`)).json()) as Record<string, unknown>;
    expect(stats).to.include({ published: 8, acked: 8, nacked: 0, pending: 0, queueMessages: 8, blocked: false });
    expect((await fetch(`${base}/nothing`)).status).to.equal(404);

    example.kill('SIGTERM');
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.include('shutting down');
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
  });
});
