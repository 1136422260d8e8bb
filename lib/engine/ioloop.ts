/**
 * The adapter seam. The connection engine talks to the outside world only
 * through an {@link IOLoop} (time and callbacks) and the {@link Transport}
 * it opens (bytes). Adapters in `lib/adapters/` implement them; the engine
 * never imports `net` or `tls`.
 * @packageDocumentation
 */

/**
 * An opaque handle returned by {@link IOLoop.callLater}.
 * @category I/O loops and adapters
 */
export interface TimerHandle {
  /** A number unique within its loop. */
  readonly id: number;
}

/**
 * TLS settings passed through to the adapter (Node's `tls.ConnectionOptions` for NodeIOLoop).
 * @category Parameters
 */
export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate, PEM. */
  cert?: string | Buffer;
  /** Client private key, PEM. */
  key?: string | Buffer;
  /** Passphrase of the private key. */
  passphrase?: string;
  /** Server name for SNI and certificate checks. */
  servername?: string;
  /** Verify the broker's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Any other option the adapter understands. */
  [option: string]: unknown;
}

/**
 * Socket options for TCP transports.
 * @category Parameters
 */
export interface TcpOptions {
  /** Disable Nagle's algorithm (default true). */
  noDelay?: boolean;
  /** Enable TCP keep-alive probes. */
  keepAlive?: boolean;
  /** Milliseconds before the first keep-alive probe. */
  keepAliveInitialDelay?: number;
}

/**
 * Where and how a transport connects.
 * @category I/O loops and adapters
 */
export interface TransportTarget {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** A Unix socket path; when set, host and port are ignored. */
  path?: string;
  /** TLS settings, or false for plain TCP. */
  tls: TlsOptions | false;
  /** Seconds the connect (TCP and TLS) may take before it fails. */
  socketTimeout: number;
  /** Socket options. */
  tcpOptions: TcpOptions;
}

/**
 * What a transport reports to its owner. Each is called on the loop.
 * @category I/O loops and adapters
 */
export interface TransportHandlers {
  /**
   * Bytes arrived. The buffer may be kept, unless the handler returns `true`:
   * that says nothing refers to the chunk any more, and a transport that
   * reads into memory of its own may read into the chunk's bytes again.
   */
  onData(chunk: Buffer): boolean | void;
  /** The stream closed; `err` is null for an orderly end. Called exactly once. */
  onClose(err: Error | null): void;
  /** The transport's own buffer went back under its high-water mark. */
  onDrain(): void;
}

/**
 * An open byte stream.
 * @category I/O loops and adapters
 */
export interface Transport {
  /** Writes the chunks in order, as one batch. Returns false when above the high-water mark. */
  write(chunks: Buffer[]): boolean;
  /** Bytes accepted but not yet handed to the OS. */
  readonly bufferedBytes: number;
  /** Closes after pending writes are flushed. */
  end(): void;
  /** Closes now; `onClose` still fires once. */
  destroy(): void;
}

/**
 * The event loop a connection runs on: timers, deferred callbacks and a way
 * to open transports.
 * @category I/O loops and adapters
 */
export interface IOLoop {
  /** Runs the loop until {@link IOLoop.stop}; keeps the process alive meanwhile; settles when stopped. */
  start(): Promise<void>;
  /** Stops the loop; the promise of `start()` settles. */
  stop(): void;
  /** Runs `cb` after `delaySeconds`. */
  callLater(delaySeconds: number, cb: () => void): TimerHandle;
  /** Cancels a timer from {@link IOLoop.callLater}; unknown or fired handles are ignored. */
  removeTimeout(handle: TimerHandle): void;
  /** Runs `cb` soon, on the loop, after the current callback returns. */
  addCallback(cb: () => void): void;
  /** Like {@link IOLoop.addCallback}, safe to call from any context (worker messages, signal handlers). */
  addCallbackThreadsafe(cb: () => void): void;
  /** Monotonic time in seconds. */
  now(): number;
  /**
   * Opens a transport to `target`. `done` is called exactly once, unless the
   * returned abort function is called first. Handlers fire only after `done`
   * gave a transport.
   */
  connect(target: TransportTarget, handlers: TransportHandlers, done: (err: Error | null, transport?: Transport) => void): () => void;
  /**
   * Optional: receives what a callback or a timer run by the loop threw;
   * without it such exceptions are rethrown asynchronously (NodeIOLoop) or at
   * the end of the run (VirtualIOLoop). The other work of the loop goes on
   * either way. Set by whoever creates the loop: no connection sets it (a
   * connection isolates its own callbacks and routes their exceptions to its
   * `onCallbackError`).
   */
  onError?: (err: unknown) => void;
}
