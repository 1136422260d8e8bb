/**
 * Local TCP helpers for integration specs: a free port nobody listens on,
 * a server that accepts and never answers, and socket accounting to prove
 * that nothing is left open. (The proxy that cuts or silences connections
 * is in tcp-proxy.ts; bounded waiting in polling.ts.)
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
