/**
 * Local TCP helpers for integration specs: a free port nobody listens on,
 * a server that accepts and never answers, a proxy that can stop forwarding
 * the broker's bytes (a "dead" broker), and socket accounting to prove that
 * nothing is left open.
 */
import * as net from 'node:net';

/** Every open `net.Socket` (TLS sockets included) the process holds. */
export function activeSockets(): net.Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is net.Socket => h instanceof net.Socket && !h.destroyed);
}

/** The open client sockets connected (or connecting) to `port` on this host. */
export function clientSocketsTo(port: number): net.Socket[] {
  return activeSockets().filter((s) => s.remotePort === port);
}

/** Resolves once `predicate` holds; rejects after `ms` naming `what`. */
export async function waitUntil(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
}

/** A promise of a pause. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (bound, then released): connecting to it is refused. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Listens on 127.0.0.1 with `onSocket` for each accepted socket; `close()` also destroys them. */
export class LocalServer {
  /** The accepted sockets, server side. */
  readonly sockets: net.Socket[] = [];
  private readonly server: net.Server;

  private constructor(onSocket: (socket: net.Socket) => void) {
    this.server = net.createServer((socket) => {
      this.sockets.push(socket);
      socket.on('error', () => undefined);
      onSocket(socket);
    });
  }

  /** Starts a server; resolves once it listens. */
  static async start(onSocket: (socket: net.Socket) => void = () => undefined): Promise<LocalServer> {
    const s = new LocalServer(onSocket);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  /** The listening port. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stops listening and destroys every accepted socket. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TCP proxy to the broker. `pauseBrokerToClient()` silently drops what
 * the broker sends while still forwarding the client's bytes: to the client
 * the broker looks dead, to the broker the client looks alive.
 */
export class PausableProxy {
  private forwarding = true;
  private readonly upstreams: net.Socket[] = [];

  private constructor(
    private readonly server: LocalServer,
    readonly brokerPort: number,
  ) {}

  /** Starts a proxy to 127.0.0.1:`brokerPort`. */
  static async start(brokerHost: string, brokerPort: number): Promise<PausableProxy> {
    let proxy: PausableProxy | null = null;
    const server = await LocalServer.start((client) => proxy!.pipe(client, brokerHost, brokerPort));
    proxy = new PausableProxy(server, brokerPort);
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return this.server.port;
  }

  /** From now on, the broker's bytes are dropped. */
  pauseBrokerToClient(): void {
    this.forwarding = false;
  }

  /** Stops the proxy and every connection through it. */
  async close(): Promise<void> {
    for (const upstream of this.upstreams) upstream.destroy();
    await this.server.close();
  }

  private pipe(client: net.Socket, host: string, port: number): void {
    const upstream = net.connect({ host, port });
    this.upstreams.push(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (this.forwarding) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
