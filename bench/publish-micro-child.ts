/**
 * The publish path without sockets: `node publish-micro-child.js '<json job>'`
 * (started by bench/instructions.ts). A coney Connection on the
 * in-process MicroLoop (micro-loop.ts) opens a channel, then publishes
 * `warmup + n` messages of `size` bytes to the default exchange, running
 * the loop (the turn's flush into the transport, which counts and drops
 * the bytes) every 1024 publishes: basicPublish -> OutboundBuffer ->
 * FrameWriter -> Transport.write, as an application's publish loop does.
 * Prints `MICRO_RESULT <json>` with the CPU per publish.
 */
import { MicroLoop, openChannel } from './micro-loop';

/** What to run. */
export interface PublishJob {
  size: number;
  n: number;
  warmup: number;
}

function main(job: PublishJob): { n: number; cpuUs: number; bytes: number } {
  const loop = new MicroLoop(''); // no consumer: the server stops parsing once the channel is open
  const ch = openChannel(loop);
  const body = Buffer.alloc(job.size, 0x62);
  const publish = (count: number): void => {
    for (let i = 0; i < count; i++) {
      ch.basicPublish('', 'bench', body);
      if ((i & 1023) === 1023) loop.run();
    }
    loop.run();
  };
  publish(job.warmup);
  const c0 = process.cpuUsage();
  publish(job.n);
  const c = process.cpuUsage(c0);
  if (loop.bytesAfter < (job.warmup + job.n) * job.size) throw new Error(`micro: only ${loop.bytesAfter} bytes reached the transport`);
  return { n: job.n, cpuUs: (c.user + c.system) / job.n, bytes: loop.bytesAfter };
}

if (require.main === module) {
  const job = JSON.parse(process.argv[2]) as PublishJob;
  process.stdout.write(`MICRO_RESULT ${JSON.stringify(main(job))}\n`);
}
