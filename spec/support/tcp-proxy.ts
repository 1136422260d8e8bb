/**
 * A TCP proxy on a loopback port in front of a server (the broker), for the
 * faults a real network produces: every connection through it can be cut at
 * once (the client sees its socket reset: StreamLostError), or the server
 * can go silent (a dead broker that still looks alive to the broker itself)
 * and resume.
 */
import * as net from 'node:net';

/** One connection through the proxy: the client's socket and ours to the server. */
interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
}

/** See the module's comment. */
export class TcpProxy {
  /** Local ports of the proxy's sockets to the server (the broker sees these as the peer ports). */
  readonly upstreamPorts: number[] = [];
  private readonly pairs = new Set<Pair>();
  private silent = false;
  private refusing = false;

  private constructor(
    private readonly server: net.Server,
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  /** Starts a proxy on 127.0.0.1 (a free port) to `targetHost`:`targetPort`; resolves once it listens. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = net.createServer((client) => proxy!.pipe(client));
    proxy = new TcpProxy(server, targetHost, targetPort);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Connections through the proxy that are still open. */
  get connectionCount(): number {
    return this.pairs.size;
  }

  /**
   * From now on what the server sends is dropped, on every connection, while
   * the client's bytes still go through: to the client the server looks
   * dead, to the server the client looks alive.
   */
  goSilent(): void {
    this.silent = true;
  }

  /** Forwards the server's bytes again (those sent while silent stay lost). */
  resume(): void {
    this.silent = false;
  }

  /**
   * While on, new connections are reset as soon as they arrive (a broker
   * that is down while its host is up); the listening port stays ours.
   */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Cuts every connection: both sockets at once, the client's with a reset. */
  cut(): void {
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Cuts every connection and stops listening. */
  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: net.Socket): void {
    if (this.refusing) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    upstream.once('connect', () => this.upstreamPorts.push(upstream.localPort!));
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (this.silent) return;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', close);
    upstream.once('close', close);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}
