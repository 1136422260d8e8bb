/**
 * Private, throwaway RabbitMQ nodes for tests, the demo and developers: one
 * node (`startBroker()`) or a cluster of them (`startCluster()`, below).
 *
 * `startBroker()` runs `/usr/lib/rabbitmq/bin/rabbitmq-server` directly (never
 * the system service) with everything under a fresh temp dir: its own node
 * name, Erlang cookie (in its own HOME), mnesia dir, logs, config, plugins
 * list and its own epmd on a free loopback port. Nothing is shared with a
 * system RabbitMQ that may run on the same machine.
 *
 * Process model (checked with ps): with RABBITMQ_ALLOW_INPUT set the
 * rabbitmq-server script `exec`s erl, and erl `exec`s erlexec which `exec`s
 * beam.smp, so the PID of the spawned child *is* the beam.smp process
 * (`-noinput` is passed back through RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS).
 * Without RABBITMQ_ALLOW_INPUT the script would stay as a shell parent that
 * runs erl in the background. beam.smp's children (erl_child_setup,
 * inet_gethost) exit when it does. epmd is spawned by us (`epmd -port N
 * -address 127.0.0.1`, in the foreground, as our own child) and erl is told
 * not to start one (`-start_epmd false`), so no daemon epmd is left behind.
 *
 * Users, vhosts and permissions come from a definitions file loaded at boot
 * (no rabbitmqctl round trips, each of which costs ~0.6 s): guest/guest with
 * full access to '/' and 'coney-test' and none to 'coney-denied'; with TLS
 * also 'coney-client' (random password) for SASL EXTERNAL.
 *
 * rabbitmqctl for such a node needs: `-n NODENAME`, HOME=<the node's home>
 * (the cookie), ERL_EPMD_PORT=<its epmd port>; `ctl()` / `ctlEnv` do that
 * (plus `-start_epmd false` and an empty RABBITMQ_CONF_ENV_FILE). Use
 * /usr/lib/rabbitmq/bin/rabbitmqctl, not /usr/sbin/rabbitmqctl (a wrapper
 * that switches to the rabbitmq user when run as root).
 *
 * Cleanup: `stop()` sends SIGTERM to beam.smp (RabbitMQ shuts down
 * gracefully, ~1-3 s), SIGKILL after a timeout, then kills epmd and removes
 * the temp dir. A process 'exit' hook SIGKILLs whatever is still running and
 * removes the dir synchronously; SIGINT/SIGTERM/SIGHUP handlers stop the
 * brokers and exit (unless `handleSignals: false`, for callers that do their
 * own signal handling, like with-broker.ts). A small detached shell watchdog
 * kills the broker if this Node process dies without running any hook
 * (SIGKILL, OOM).
 */
import { spawn, execFile, ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

export const RABBITMQ_BIN_DIR = '/usr/lib/rabbitmq/bin';
export const RABBITMQ_SERVER = `${RABBITMQ_BIN_DIR}/rabbitmq-server`;
export const RABBITMQCTL = `${RABBITMQ_BIN_DIR}/rabbitmqctl`;

/** Vhost where guest has full permissions. */
export const TEST_VHOST = 'coney-test';
/** Vhost where guest has no permissions at all (access-refused tests). */
export const DENIED_VHOST = 'coney-denied';
/** User that logs in with SASL EXTERNAL and the generated client certificate. */
export const TLS_CLIENT_USER = 'coney-client';

const HOST = '127.0.0.1';
/** rabbitmqctl picks its own distribution port from 35672..35682 by default: avoid those. */
const CTL_DIST_PORT_MIN = 35672;
const CTL_DIST_PORT_MAX = 35682;
/** The file, in a node's directory, that holds its current beam.smp PID (a cluster node's changes when it is restarted). */
const BEAM_PID_FILE = 'beam.pid';

export interface StartBrokerOptions {
  /** Also start a TLS listener with a freshly generated CA, server and client certificate. */
  tls?: boolean;
  /** Milliseconds to wait for the broker to accept AMQP (default 60000). */
  startTimeoutMs?: number;
  /**
   * Install SIGINT/SIGTERM/SIGHUP handlers that stop every broker and exit
   * (default true). Pass false when the caller handles signals itself and
   * calls stop(); the 'exit' hook and the watchdog are installed anyway.
   */
  handleSignals?: boolean;
  /** Print progress lines to stderr. */
  verbose?: boolean;
  /** Extra rabbitmq.conf lines, e.g. ['heartbeat = 5', 'consumer_timeout = 1000']. */
  extraConfig?: string[];
  /**
   * The node's advanced.config (Erlang terms), for settings rabbitmq.conf
   * has no key for, e.g. `[{rabbit, [{channel_tick_interval, 100}]}].`
   * Default: none.
   */
  advancedConfig?: string;
}

export interface BrokerTls {
  /** amqps URL for guest through the TLS listener (host name localhost, matching the certificate). */
  url: string;
  port: number;
  /** CA certificate (PEM) that signed both the server and the client certificate. */
  caFile: string;
  /** Client certificate (PEM), CN=coney-client: log in with SASL EXTERNAL. */
  certFile: string;
  /** Client private key (PEM). */
  keyFile: string;
  /** The broker user matching the client certificate's CN. */
  clientUser: string;
  /** That user's (random) password, in case a test wants PLAIN with it. */
  clientPassword: string;
}

export interface Broker {
  /** amqp://guest:guest@127.0.0.1:PORT/ */
  url: string;
  host: string;
  port: number;
  /** Erlang node name, e.g. coney-1234-ab12cd@localhost. */
  nodename: string;
  /** The HOME of the node and of rabbitmqctl: holds the Erlang cookie. */
  home: string;
  /** The temp dir holding everything (removed by stop()). */
  dir: string;
  /** PID of beam.smp. */
  pid: number;
  /** Port of our private epmd: rabbitmqctl needs ERL_EPMD_PORT set to it. */
  epmdPort: number;
  /** Erlang distribution port of the node. */
  distPort: number;
  /** The broker's log file. */
  logFile: string;
  /** Where the broker's stdout and stderr go. */
  stdoutFile: string;
  vhosts: { test: string; denied: string };
  tls?: BrokerTls;
  /** Milliseconds from spawn until the broker answered the AMQP protocol header. */
  startupMs: number;
  /** Environment for rabbitmqctl (HOME, ERL_EPMD_PORT, ...), merged over process.env by ctl(). */
  ctlEnv: Record<string, string>;
  /** Runs `rabbitmqctl -n NODENAME ...args` with the node's HOME and epmd; resolves its stdout. */
  ctl(args: string[]): Promise<string>;
  /** Environment variables describing this broker for child processes (AMQP_URL, ...). */
  env(): Record<string, string>;
  /** Stops the node (SIGTERM, then SIGKILL), its epmd and watchdog, and removes the temp dir. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------
// process-wide cleanup

interface Running {
  /** beam.smp first, then epmd, then the watchdog. A function: a cluster node's PID changes when it is restarted. */
  pids(): number[];
  dir: string;
  stop(): Promise<void>;
}

const running = new Set<Running>();
let exitHookInstalled = false;
let signalHooksInstalled = false;

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killAllNow(): void {
  const all = [...running];
  const pids = all.flatMap((r) => r.pids());
  for (const pid of pids) killQuietly(pid, 'SIGKILL');
  // kill() returns before the target's threads have stopped: a beam.smp that
  // still writes while its dir is removed leaves part of the dir behind.
  waitGoneSync(pids, 2000);
  for (const r of all) {
    try {
      fs.rmSync(r.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort */
    }
  }
  running.clear();
}

/** Blocks (for the 'exit' hook, where nothing async runs) until the processes are gone, at most `ms`. */
function waitGoneSync(pids: number[], ms: number): void {
  const deadline = Date.now() + ms;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (pids.some((pid) => !isGone(pid)) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 20);
}

/** True once the process is gone, or a zombie its parent has not reaped yet (it runs nothing any more). */
function isGone(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return !isAlive(pid);
  }
}

/** Resolves true once the process is gone, false if it is still there after `ms`. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!isGone(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, SIGKILL if the process is still there after `graceMs`: for processes that need not be our children. */
async function terminate(pid: number, graceMs: number): Promise<void> {
  killQuietly(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return;
  killQuietly(pid, 'SIGKILL');
  await waitGone(pid, 5000);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllNow);
}

function installSignalHooks(): void {
  if (signalHooksInstalled) return;
  signalHooksInstalled = true;
  const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  let stopping = false;
  for (const sig of Object.keys(codes) as NodeJS.Signals[]) {
    process.on(sig, () => {
      if (stopping) {
        // second Ctrl-C: no more waiting
        killAllNow();
        process.exit(codes[sig]);
      }
      stopping = true;
      process.stderr.write(`\nconey: ${sig}: stopping the throwaway RabbitMQ...\n`);
      const all = [...running].map((r) => r.stop().catch(() => undefined));
      const force = setTimeout(() => {
        killAllNow();
        process.exit(codes[sig]);
      }, 15000);
      force.unref();
      void Promise.all(all).then(() => process.exit(codes[sig]));
    });
  }
}

// ---------------------------------------------------------------------------
// helpers

/** Free loopback TCP ports, all distinct, none in rabbitmqctl's own range. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, HOST, () => resolve());
      });
      servers.push(srv);
      const port = (srv.address() as net.AddressInfo).port;
      if (port >= CTL_DIST_PORT_MIN && port <= CTL_DIST_PORT_MAX) continue; // keep it bound, skip it
      ports.push(port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  return ports;
}

function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${String(stderr)}${String(stdout)}`.trim());
        reject(e);
      } else {
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      }
    });
  });
}

function tailOf(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The first lines logged at [error] level (where the cause usually is), from the given files. */
function firstErrors(files: string[], max: number): string {
  const found: string[] = [];
  for (const file of files) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (/\[(error|critical|alert|emergency)\]/.test(line) || /BOOT FAILED/.test(line)) found.push(line);
      if (found.length >= max) return found.join('\n');
    }
  }
  return found.join('\n');
}

/** Connects, sends the AMQP 0-9-1 protocol header and waits for a Connection.Start method frame. */
export function probeAmqp(host: string, port: number, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const sock = net.connect({ host, port });
    const done = (err?: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no Connection.Start from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 11) return;
      const ok = isConnectionStart(buf);
      done(ok ? undefined : new Error(`unexpected answer from ${host}:${port}: ${buf.subarray(0, 16).toString('hex')}`));
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error(`connection to ${host}:${port} closed before Connection.Start`)));
  });
}

/** Frame type 1 (method) on channel 0 whose payload starts with class 10, method 10. */
export function isConnectionStart(buf: Buffer): boolean {
  return buf.length >= 11 && buf[0] === 1 && buf.readUInt16BE(1) === 0 && buf.readUInt16BE(7) === 10 && buf.readUInt16BE(9) === 10;
}

/** A TLS handshake against the listener, verifying its certificate with the CA. */
export function probeTls(port: number, caFile: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: HOST, servername: 'localhost', port, ca: fs.readFileSync(caFile) });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TLS handshake on port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      sock.destroy();
      if (sock.authorized) resolve();
      else reject(new Error(`TLS listener certificate not trusted: ${String(sock.authorizationError)}`));
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
  });
}

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)). */
function passwordHash(password: string): string {
  const salt = crypto.randomBytes(4);
  const digest = crypto
    .createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

async function generateCertificates(
  dir: string,
): Promise<{ ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string }> {
  const tlsDir = path.join(dir, 'tls');
  fs.mkdirSync(tlsDir, { mode: 0o700 });
  const p = (name: string): string => path.join(tlsDir, name);
  const openssl = (args: string[]): Promise<unknown> => run('openssl', args, { cwd: tlsDir });
  const days = '30';
  // EC keys: generated instantly (RSA-2048 takes noticeable time on a slow CI box).
  const key = (name: string): Promise<unknown> =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', p(name)]);
  await Promise.all([key('ca.key'), key('server.key'), key('client.key')]);
  fs.writeFileSync(p('ca.ext'), 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n');
  fs.writeFileSync(
    p('server.ext'),
    'basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment, keyAgreement\n' +
      'extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n' +
      'authorityKeyIdentifier = keyid\nsubjectKeyIdentifier = hash\n',
  );
  fs.writeFileSync(
    p('client.ext'),
    'basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment, keyAgreement\n' +
      'extendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid\nsubjectKeyIdentifier = hash\n',
  );
  await openssl(['req', '-new', '-key', p('ca.key'), '-subj', '/CN=coney-test-ca', '-out', p('ca.csr')]);
  await openssl(['x509', '-req', '-in', p('ca.csr'), '-signkey', p('ca.key'), '-days', days, '-extfile', p('ca.ext'), '-out', p('ca.crt')]);
  await Promise.all([
    openssl(['req', '-new', '-key', p('server.key'), '-subj', '/CN=localhost', '-out', p('server.csr')]),
    openssl(['req', '-new', '-key', p('client.key'), '-subj', `/CN=${TLS_CLIENT_USER}`, '-out', p('client.csr')]),
  ]);
  const sign = (name: string, serial: string): Promise<unknown> =>
    openssl([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-set_serial',
      serial,
      '-days',
      days,
      '-extfile',
      p(`${name}.ext`),
      '-out',
      p(`${name}.crt`),
    ]);
  await Promise.all([sign('server', '0x' + crypto.randomBytes(8).toString('hex')), sign('client', '0x' + crypto.randomBytes(8).toString('hex'))]);
  for (const f of ['ca.key', 'server.key', 'client.key']) fs.chmodSync(p(f), 0o600);
  return { ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key') };
}

function waitForListen(port: number, timeoutMs: number, isDead: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const dead = isDead();
      if (dead) return reject(new Error(dead));
      const s = net.connect({ host: HOST, port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${HOST}:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts a detached shell that, once `parent` is gone, SIGKILLs the given
 * PIDs and the one in each `dir/<node>/beam.pid` (a cluster node started
 * again has a new PID, written there), then removes dir.
 */
function startWatchdog(parent: number, pids: number[], dir: string): ChildProcess {
  const script =
    'parent=$1; dir=$2; shift 2; ' +
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done; ' +
    'kill -KILL "$@" 2>/dev/null; ' +
    `for f in "$dir"/*/${BEAM_PID_FILE}; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done; ` +
    'sleep 1; rm -rf "$dir"';
  const child = spawn('/bin/sh', ['-c', script, 'coney-broker-watchdog', String(parent), dir, ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

// ---------------------------------------------------------------------------
// launching one node: shared by startBroker, startCluster and a cluster node's restart

/**
 * How to run one node's rabbitmq-server: plain data, so that a cluster can
 * save it (cluster.json) and another process can start that node again.
 */
export interface NodeLaunch {
  nodename: string;
  /** Working directory of the node process. */
  cwd: string;
  /** Where the node's stdout and stderr go (appended to). */
  stdoutFile: string;
  /** Written with the spawned PID at every launch (the PID is beam.smp's: see the process model above). */
  pidFile: string;
  /** The variables we set, merged over the launching process's environment. */
  env: Record<string, string>;
}

/** The files and ports of one node, from which `nodeEnv` makes its environment. */
interface NodeLayout {
  nodename: string;
  home: string;
  epmdPort: number;
  port: number;
  distPort: number;
  mnesiaBase: string;
  logBase: string;
  configFile: string;
  pluginsFile: string;
  advancedConfigFile: string;
  confEnvFile: string;
  rabbitPidFile: string;
}

/** Variables shared by a node and the rabbitmqctl that talks to it: the cookie's HOME and the private epmd. */
function baseEnv(home: string, epmdPort: number, confEnvFile: string): Record<string, string> {
  return {
    HOME: home,
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_CONF_ENV_FILE: confEnvFile, // instead of /etc/rabbitmq/rabbitmq-env.conf
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
  };
}

/** rabbitmqctl's environment for nodes on that epmd with that cookie. */
function ctlEnvOf(home: string, epmdPort: number, confEnvFile: string): Record<string, string> {
  return { ...baseEnv(home, epmdPort, confEnvFile), RABBITMQ_CTL_ERL_ARGS: '-start_epmd false' };
}

function nodeEnv(n: NodeLayout): Record<string, string> {
  return {
    ...baseEnv(n.home, n.epmdPort, n.confEnvFile),
    RABBITMQ_NODENAME: n.nodename,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(n.port),
    RABBITMQ_DIST_PORT: String(n.distPort),
    RABBITMQ_MNESIA_BASE: n.mnesiaBase,
    RABBITMQ_LOG_BASE: n.logBase,
    RABBITMQ_ENABLED_PLUGINS_FILE: n.pluginsFile,
    RABBITMQ_CONFIG_FILE: n.configFile,
    RABBITMQ_ADVANCED_CONFIG_FILE: n.advancedConfigFile, // may be absent: then none
    RABBITMQ_PID_FILE: n.rabbitPidFile,
    // Makes the script exec erl (so our child PID is beam.smp); -noinput given back here.
    RABBITMQ_ALLOW_INPUT: '1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-noinput -start_epmd false -kernel inet_dist_use_interface {127,0,0,1}',
  };
}

/** Spawns rabbitmq-server (detached, output appended to its file) and records its PID in `launch.pidFile`. */
function spawnNode(launch: NodeLaunch): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...launch.env };
  // Inherited from a systemd unit or a shell set up for another RabbitMQ: not ours.
  delete env['NOTIFY_SOCKET'];
  delete env['RABBITMQ_SERVER_START_ARGS'];
  delete env['ERL_LIBS'];
  const out = fs.openSync(launch.stdoutFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(RABBITMQ_SERVER, [], { detached: true, stdio: ['ignore', out, out], env, cwd: launch.cwd });
  } finally {
    fs.closeSync(out);
  }
  if (child.pid) fs.writeFileSync(launch.pidFile, `${child.pid}\n`);
  return child;
}

/** A description of why `child` is gone, once it is ('error' or 'exit'); null while it runs. */
function deathWatch(child: ChildProcess, what: string): () => string | null {
  let dead: string | null = null;
  child.once('error', (err) => (dead ??= `cannot run ${what}: ${err.message}`));
  child.once('exit', (code, signal) => (dead ??= `${what} exited early (${signal ? `signal ${signal}` : `code ${code}`})`));
  return () => dead;
}

/** Our own epmd on a loopback port, in the foreground (so we can stop it by PID); `ready` once it listens. */
function spawnEpmd(epmdPort: number): { epmd: ChildProcess; ready: Promise<void> } {
  const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', HOST], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) },
  });
  const dead = deathWatch(epmd, 'epmd');
  return { epmd, ready: waitForListen(epmdPort, 10000, dead) };
}

/** Resolves once the node answers the AMQP protocol header; rejects when `isDead()` says why not, or at `deadline`. */
async function waitForAmqp(port: number, deadline: number, isDead: () => string | null): Promise<void> {
  let lastErr: unknown;
  for (;;) {
    const dead = isDead();
    if (dead) throw new Error(dead);
    try {
      await probeAmqp(HOST, port, 2000);
      return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`RabbitMQ did not accept AMQP on ${HOST}:${port} in time (${(lastErr as Error)?.message})`);
    await sleep(200);
  }
}

/** The first errors and the tails of a node's output and log, for a failure message. */
function nodeDiagnostics(stdoutFile: string, logFile: string): string {
  return [
    `--- first errors in ${stdoutFile} and ${path.basename(logFile)} ---`,
    firstErrors([stdoutFile, logFile], 12),
    `--- ${stdoutFile} (tail) ---`,
    tailOf(stdoutFile, 30),
    `--- ${logFile} (tail) ---`,
    tailOf(logFile, 40),
  ].join('\n');
}

/** Runs rabbitmqctl -n `nodename` with `ctlEnv`; resolves its stdout. */
async function runCtl(nodename: string, ctlEnv: Record<string, string>, args: string[], timeoutMs = 120000): Promise<string> {
  const { stdout } = await run(RABBITMQCTL, ['-n', nodename, ...args], { env: { ...process.env, ...ctlEnv }, timeoutMs });
  return stdout;
}

// ---------------------------------------------------------------------------

let counter = 0;

/** A name part unique to this process and call: `<pid>-<random>[-<n>]`. */
function uniqueId(): string {
  return `${process.pid}-${crypto.randomBytes(3).toString('hex')}${counter++ ? `-${counter}` : ''}`;
}

/**
 * The last steps of stopping a broker or a cluster, once its nodes are down:
 * its private epmd and watchdog go, its files are removed, and it leaves the
 * set the exit hook stops.
 */
async function releaseRun(entry: Running, epmd: ChildProcess | undefined, watchdog: ChildProcess | undefined, dir: string): Promise<void> {
  await stopEpmd(epmd);
  killQuietly(watchdog?.pid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  running.delete(entry);
}

/** Starts a private single node; see the top of this file. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  const started = Date.now();
  const log = (msg: string): void => {
    if (options.verbose) process.stderr.write(`coney: ${msg}\n`);
  };
  assertRabbitMQInstalled();
  installExitHook();
  if (options.handleSignals !== false) installSignalHooks();

  const nodename = `coney-${uniqueId()}@localhost`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `coney-rabbitmq-${process.pid}-`));
  const pids: number[] = [];
  const entry: Running = { pids: () => pids, dir, stop: () => Promise.resolve() };
  running.add(entry);

  let beam: ChildProcess | undefined;
  let epmd: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  const home = path.join(dir, 'home');
  const mnesiaBase = path.join(dir, 'mnesia');
  const logBase = path.join(dir, 'log');
  const stdoutFile = path.join(dir, 'stdout.log');
  const logFile = path.join(logBase, `${nodename}.log`);
  const timeoutMs = options.startTimeoutMs ?? 60000;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const beamPid = beam?.pid;
      if (beamPid && beam && beam.exitCode === null && beam.signalCode === null) {
        const exited = new Promise<void>((resolve) => beam!.once('exit', () => resolve()));
        killQuietly(beamPid, 'SIGTERM');
        if (!(await within(exited, 15000))) {
          killQuietly(beamPid, 'SIGKILL');
          await within(exited, 5000);
        }
      }
      // erl_child_setup / inet_gethost follow beam.smp; give them a moment.
      await releaseRun(entry, epmd, watchdog, dir);
    })();
    return stopped;
  };
  entry.stop = stop;

  try {
    for (const d of [home, mnesiaBase, logBase]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    writeCookie(home);

    const [port, distPort, epmdPort, tlsPort] = await freePorts(options.tls ? 4 : 3);
    const certs = options.tls ? await generateCertificates(dir) : undefined;
    log(`ports amqp=${port} dist=${distPort} epmd=${epmdPort}${certs ? ` amqps=${tlsPort}` : ''}`);

    const clientPassword = crypto.randomBytes(12).toString('hex');
    const definitions = {
      rabbit_version: '3.10.8',
      users: [
        { name: 'guest', password_hash: passwordHash('guest'), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] },
        { name: TLS_CLIENT_USER, password_hash: passwordHash(clientPassword), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] },
      ],
      vhosts: [{ name: '/' }, { name: TEST_VHOST }, { name: DENIED_VHOST }],
      permissions: [
        { user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' },
        { user: 'guest', vhost: TEST_VHOST, configure: '.*', write: '.*', read: '.*' },
        { user: TLS_CLIENT_USER, vhost: '/', configure: '.*', write: '.*', read: '.*' },
        { user: TLS_CLIENT_USER, vhost: TEST_VHOST, configure: '.*', write: '.*', read: '.*' },
      ],
      topic_permissions: [],
      parameters: [],
      global_parameters: [],
      policies: [],
      queues: [],
      exchanges: [],
      bindings: [],
    };
    const definitionsFile = path.join(dir, 'definitions.json');
    fs.writeFileSync(definitionsFile, JSON.stringify(definitions, null, 2));

    const conf = [
      `listeners.tcp.default = ${HOST}:${port}`,
      'loopback_users.guest = true',
      `load_definitions = ${definitionsFile}`,
      'log.console = false',
      'log.file.level = info',
      'disk_free_limit.absolute = 10MB',
    ];
    if (certs) {
      conf.push(
        `listeners.ssl.default = ${HOST}:${tlsPort}`,
        `ssl_options.cacertfile = ${certs.ca}`,
        `ssl_options.certfile = ${certs.serverCert}`,
        `ssl_options.keyfile = ${certs.serverKey}`,
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = false',
        'auth_mechanisms.1 = PLAIN',
        'auth_mechanisms.2 = AMQPLAIN',
        'auth_mechanisms.3 = EXTERNAL',
        'ssl_cert_login_from = common_name',
      );
    }
    conf.push(...(options.extraConfig ?? []));
    const configFile = path.join(dir, 'rabbitmq.conf');
    fs.writeFileSync(configFile, conf.join('\n') + '\n');
    const advancedConfigFile = path.join(dir, 'advanced.config');
    if (options.advancedConfig !== undefined) fs.writeFileSync(advancedConfigFile, options.advancedConfig + '\n');
    const pluginsFile = path.join(dir, 'enabled_plugins');
    fs.writeFileSync(pluginsFile, certs ? '[rabbitmq_auth_mechanism_ssl].\n' : '[].\n');
    const confEnvFile = writeConfEnvFile(dir);

    const ctlEnv = ctlEnvOf(home, epmdPort, confEnvFile);
    const launch: NodeLaunch = {
      nodename,
      cwd: dir,
      stdoutFile,
      pidFile: path.join(dir, BEAM_PID_FILE),
      env: nodeEnv({
        nodename,
        home,
        epmdPort,
        port,
        distPort,
        mnesiaBase,
        logBase,
        configFile,
        pluginsFile,
        advancedConfigFile,
        confEnvFile,
        rabbitPidFile: path.join(dir, 'rabbitmq.pid'),
      }),
    };

    const epmdStart = spawnEpmd(epmdPort);
    epmd = epmdStart.epmd;
    if (epmd.pid) pids.push(epmd.pid);
    await epmdStart.ready;

    const spawnedAt = Date.now();
    beam = spawnNode(launch);
    const beamPid = beam.pid;
    if (beamPid) pids.unshift(beamPid);
    const beamDead = deathWatch(beam, 'rabbitmq-server');
    if (beamPid && epmd.pid) {
      watchdog = startWatchdog(process.pid, [beamPid, epmd.pid], dir);
      if (watchdog.pid) pids.push(watchdog.pid);
    }
    log(`rabbitmq-server pid ${beamPid}, node ${nodename}, dir ${dir}`);

    try {
      await waitForAmqp(port, spawnedAt + timeoutMs, beamDead);
    } catch (err) {
      throw new Error(`${(err as Error).message} (waited up to ${timeoutMs} ms)`);
    }
    const startupMs = Date.now() - spawnedAt;
    if (certs) await probeTls(tlsPort, certs.ca);
    log(`broker ready after ${startupMs} ms (${Date.now() - started} ms with preparation)`);

    const url = `amqp://guest:guest@${HOST}:${port}/`;
    const tlsInfo: BrokerTls | undefined = certs && {
      url: `amqps://guest:guest@localhost:${tlsPort}/`,
      port: tlsPort,
      caFile: certs.ca,
      certFile: certs.clientCert,
      keyFile: certs.clientKey,
      clientUser: TLS_CLIENT_USER,
      clientPassword,
    };
    const broker: Broker = {
      url,
      host: HOST,
      port,
      nodename,
      home,
      dir,
      pid: beamPid!,
      epmdPort,
      distPort,
      logFile,
      stdoutFile,
      vhosts: { test: TEST_VHOST, denied: DENIED_VHOST },
      tls: tlsInfo,
      startupMs,
      ctlEnv,
      ctl: (args) => runCtl(nodename, ctlEnv, args),
      env: () => brokerEnv(broker),
      stop,
    };
    return broker;
  } catch (err) {
    // Debugging aid: CONEY_KEEP_FAILED_BROKER_DIR=/some/dir keeps a copy of a failed node's files.
    if (process.env['CONEY_KEEP_FAILED_BROKER_DIR']) fs.cpSync(dir, process.env['CONEY_KEEP_FAILED_BROKER_DIR'], { recursive: true });
    const detail = nodeDiagnostics(stdoutFile, logFile);
    await stop().catch(() => undefined);
    const e = new Error(`coney: could not start a throwaway RabbitMQ: ${(err as Error).message}\n${detail}`);
    throw e;
  }
}

function assertRabbitMQInstalled(): void {
  if (!fs.existsSync(RABBITMQ_SERVER)) {
    throw new Error(`${RABBITMQ_SERVER} not found: install RabbitMQ with\n  sudo apt-get install -y rabbitmq-server openssl python3-pika amqp-tools`);
  }
}

/** The Erlang cookie that the node(s) and rabbitmqctl share, in `home` (mode 400, as Erlang demands). */
function writeCookie(home: string): void {
  fs.writeFileSync(path.join(home, '.erlang.cookie'), crypto.randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
}

/** An empty rabbitmq-env.conf, so that /etc/rabbitmq/rabbitmq-env.conf is not read; returns its path. */
function writeConfEnvFile(dir: string): string {
  const file = path.join(dir, 'rabbitmq-env.conf');
  fs.writeFileSync(file, '# empty: the throwaway node takes everything from its environment\n');
  return file;
}

/** SIGTERM to our epmd child, SIGKILL if it has not exited within 3 s. */
async function stopEpmd(epmd: ChildProcess | undefined): Promise<void> {
  if (!epmd?.pid || epmd.exitCode !== null || epmd.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => epmd.once('exit', () => resolve()));
  killQuietly(epmd.pid, 'SIGTERM');
  if (!(await within(exited, 3000))) killQuietly(epmd.pid, 'SIGKILL');
}

/** The environment variables with-broker.ts hands to its child, describing `broker`. */
export function brokerEnv(broker: Broker): Record<string, string> {
  const env: Record<string, string> = {
    AMQP_URL: broker.url,
    CONEY_BROKER_NODENAME: broker.nodename,
    CONEY_BROKER_HOME: broker.home,
    CONEY_BROKER_EPMD_PORT: String(broker.epmdPort),
    CONEY_BROKER_TEST_VHOST: broker.vhosts.test,
    CONEY_BROKER_DENIED_VHOST: broker.vhosts.denied,
  };
  if (broker.tls) {
    env['AMQPS_URL'] = broker.tls.url;
    env['CONEY_TLS_CA'] = broker.tls.caFile;
    env['CONEY_TLS_CERT'] = broker.tls.certFile;
    env['CONEY_TLS_KEY'] = broker.tls.keyFile;
    env['CONEY_TLS_CLIENT_USER'] = broker.tls.clientUser;
  }
  return env;
}

// ---------------------------------------------------------------------------
// a cluster of throwaway nodes

/*
 * `startCluster()` runs `size` nodes (default 3) as one RabbitMQ cluster on
 * loopback, with the same isolation as startBroker: one temp dir, one private
 * epmd that every node and rabbitmqctl use (ERL_EPMD_PORT), one HOME whose
 * .erlang.cookie they share, and per node its own name, AMQP and
 * distribution ports, mnesia and log dirs and rabbitmq.conf. The nodes find
 * each other with classic_config peer discovery (the conf lists all of them),
 * so no rabbitmqctl join_cluster is needed: on 3.10.8 with 2 cores three nodes
 * form a cluster in 10-15 s (see clusterNodeConfig). Guest is the default user (guest/guest, '/'),
 * created when the cluster's database is first made; `loopback_users = none`.
 *
 * Everything needed to control the cluster from another process (a spec
 * under with-broker.ts) is saved in `<dir>/cluster.json` (`ClusterInfo`):
 * `controlCluster(readClusterInfo(dir))` can stop and start a node's rabbit
 * application, SIGKILL a node's beam.smp and start that node again with the
 * same settings (its mnesia dir makes it rejoin by itself). Each node's
 * current PID is in `<dir>/node-<i>/beam.pid`, rewritten at every launch, so
 * that whoever owns the cluster (stop(), the exit hook, the watchdog) stops
 * a node that another process restarted.
 */

export interface StartClusterOptions {
  /** Number of nodes (default 3). */
  size?: number;
  /** Milliseconds to wait until every node reports all nodes running (default 180000). */
  startTimeoutMs?: number;
  /** As for startBroker: install SIGINT/SIGTERM/SIGHUP handlers that stop everything and exit (default true). */
  handleSignals?: boolean;
  /** Print progress lines to stderr. */
  verbose?: boolean;
  /** Extra rabbitmq.conf lines for every node. */
  extraConfig?: string[];
  /** advanced.config (Erlang terms) for every node. */
  advancedConfig?: string;
}

/** One node of a throwaway cluster. */
export interface ClusterNode {
  /** 1 for the first node. */
  index: number;
  /** Erlang node name, e.g. coney-1234-ab12cd-2@localhost. */
  nodename: string;
  host: string;
  /** AMQP port. */
  port: number;
  /** amqp://guest:guest@127.0.0.1:PORT/ */
  url: string;
  /** Erlang distribution port. */
  distPort: number;
  /** The node's directory: config, mnesia, logs, beam.pid. */
  dir: string;
  /** The node's log file. */
  logFile: string;
  /** How to start it (again). */
  launch: NodeLaunch;
}

/** Everything needed to reach and control a throwaway cluster; saved as `<dir>/cluster.json`. */
export interface ClusterInfo {
  /** The temp dir holding everything (removed when the cluster is stopped). */
  dir: string;
  /** The HOME of the nodes and of rabbitmqctl: holds the Erlang cookie. */
  home: string;
  /** Port of the private epmd all nodes use. */
  epmdPort: number;
  /** Environment for rabbitmqctl (HOME, ERL_EPMD_PORT, ...), merged over process.env. */
  ctlEnv: Record<string, string>;
  nodes: ClusterNode[];
}

/** Operations on a running throwaway cluster, from any process on the machine. Every wait is bounded. */
export interface ClusterControl {
  readonly info: ClusterInfo;
  readonly nodes: ClusterNode[];
  /** The node with that 1-based index or Erlang node name; throws for an unknown one. */
  node(indexOrName: number | string): ClusterNode;
  /** Runs `rabbitmqctl -n <node> ...args`; resolves its stdout. */
  ctl(node: ClusterNode, args: string[], timeoutMs?: number): Promise<string>;
  /** The node's beam.smp PID while it runs; undefined once it is gone. */
  pid(node: ClusterNode): number | undefined;
  /** The node names `node` reports running (`rabbitmqctl cluster_status`), sorted; null when it does not answer. */
  runningNodes(node: ClusterNode): Promise<string[] | null>;
  /** Resolves once every node reports all nodes running. */
  waitUntilFormed(timeoutMs?: number): Promise<void>;
  /** `rabbitmqctl stop_app` on the node; resolves once the other nodes no longer count it as running. */
  stopApp(node: ClusterNode, timeoutMs?: number): Promise<void>;
  /** `rabbitmqctl start_app` on the node; resolves once it is back in the cluster, as for restart(). */
  startApp(node: ClusterNode, timeoutMs?: number): Promise<void>;
  /** SIGKILL of the node's beam.smp; resolves once it is gone and the other nodes no longer count it as running. */
  kill(node: ClusterNode, timeoutMs?: number): Promise<void>;
  /**
   * Starts a killed node's process again with the same settings; resolves
   * once it has rejoined: it reports itself and the other running nodes, and
   * each of them reports the same set. Rejects if the node still runs.
   */
  restart(node: ClusterNode, timeoutMs?: number): Promise<void>;
}

/** A cluster started by this process: control, plus how to describe and stop it. */
export interface Cluster extends ClusterControl {
  dir: string;
  home: string;
  epmdPort: number;
  /** The nodes' amqp:// URLs, node 1 first. */
  urls: string[];
  /** Milliseconds from spawning the nodes until all of them reported the cluster formed. */
  startupMs: number;
  /** Environment variables describing the cluster for child processes (CONEY_CLUSTER_*). */
  env(): Record<string, string>;
  /** Stops every node (SIGTERM, then SIGKILL), epmd and the watchdog, and removes the temp dir. */
  stop(): Promise<void>;
}

/** The file in a cluster's dir that holds its ClusterInfo. */
export const CLUSTER_INFO_FILE = 'cluster.json';

/** The rabbitmq.conf of one cluster node: its listener, the peers to discover, then `extra`. */
export function clusterNodeConfig(port: number, nodenames: string[], extra: string[] = []): string {
  return (
    [
      `listeners.tcp.default = ${HOST}:${port}`,
      'cluster_formation.peer_discovery_backend = classic_config',
      ...nodenames.map((name, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${name}`),
      // Discovery takes a cluster-wide lock, so the first node to get it always
      // finds the others not yet running and retries until it gives up and
      // forms the cluster alone; the others wait for the lock, then join it.
      // The default 10 retries x 500 ms make everyone wait; 5 x 200 ms brought
      // the cluster's start on 2 cores from ~22 s down to ~9 s.
      'cluster_formation.discovery_retry_limit = 5',
      'cluster_formation.discovery_retry_interval = 200',
      'loopback_users = none',
      'log.console = false',
      'log.file.level = info',
      'disk_free_limit.absolute = 10MB',
      ...extra,
    ].join('\n') + '\n'
  );
}

/** The environment variables with-broker.ts hands to its child, describing the cluster. */
export function clusterEnv(info: ClusterInfo): Record<string, string> {
  return {
    CONEY_CLUSTER_DIR: info.dir,
    CONEY_CLUSTER_URLS: info.nodes.map((n) => n.url).join(','),
    CONEY_CLUSTER_NODENAMES: info.nodes.map((n) => n.nodename).join(','),
    CONEY_CLUSTER_HOME: info.home,
    CONEY_CLUSTER_EPMD_PORT: String(info.epmdPort),
  };
}

/** Reads `<dir>/cluster.json`, written by startCluster. */
export function readClusterInfo(dir: string): ClusterInfo {
  const file = path.join(dir, CLUSTER_INFO_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`no throwaway cluster in ${dir}: cannot read ${file} (${(err as Error).message}); is it still running?`);
  }
  return JSON.parse(text) as ClusterInfo;
}

/** The live PID in a node's pid file, or undefined. */
function livePid(node: ClusterNode): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(node.launch.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && !isGone(pid) ? pid : undefined;
}

/**
 * Polls `check` (every 300 ms, after it settles) until it returns null;
 * otherwise it returns what is still missing, which the timeout error names.
 */
async function pollUntil(what: string, timeoutMs: number, check: () => Promise<string | null>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = await check();
    if (missing === null) return;
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs} ms (${missing})`);
    await sleep(300);
  }
}

/** Operations on the cluster that `info` describes; see ClusterControl. */
export function controlCluster(info: ClusterInfo): ClusterControl {
  const all = info.nodes.map((n) => n.nodename).sort();
  const ctl = (node: ClusterNode, args: string[], timeoutMs = 60000): Promise<string> => runCtl(node.nodename, info.ctlEnv, args, timeoutMs);

  const runningNodes = async (node: ClusterNode): Promise<string[] | null> => {
    try {
      const status = JSON.parse(await ctl(node, ['cluster_status', '--formatter', 'json'], 30000)) as { running_nodes?: string[] };
      return [...(status.running_nodes ?? [])].sort();
    } catch {
      return null;
    }
  };

  const node = (indexOrName: number | string): ClusterNode => {
    const found = info.nodes.find((n) => (typeof indexOrName === 'number' ? n.index === indexOrName : n.nodename === indexOrName));
    if (!found) throw new Error(`no node ${indexOrName} in the cluster (${all.join(', ')})`);
    return found;
  };

  /** Null once no other node that answers counts `gone` as running; otherwise what they say. */
  const noLongerCounted = async (gone: ClusterNode): Promise<string | null> => {
    const views = await Promise.all(info.nodes.filter((n) => n !== gone).map(async (n) => [n, await runningNodes(n)] as const));
    const still = views.filter(([, view]) => view?.includes(gone.nodename));
    return still.length ? still.map(([n, view]) => `${n.nodename} reports ${view!.join(', ')}`).join('; ') : null;
  };

  /** Null once `node` reports itself running and every node it reports reports the same set. */
  const rejoined = async (node: ClusterNode): Promise<string | null> => {
    const own = await runningNodes(node);
    if (!own?.includes(node.nodename)) return `${node.nodename} reports ${own ? own.join(', ') || 'nothing' : 'nothing (no answer)'}`;
    for (const name of own) {
      if (name === node.nodename) continue;
      const view = await runningNodes(info.nodes.find((n) => n.nodename === name) ?? node);
      if (view?.join() !== own.join()) return `${node.nodename} reports ${own.join(', ')} but ${name} reports ${view?.join(', ') ?? 'nothing'}`;
    }
    return null;
  };

  return {
    info,
    nodes: info.nodes,
    node,
    ctl,
    pid: livePid,
    runningNodes,

    waitUntilFormed: (timeoutMs = 180000) =>
      pollUntil(`the cluster of ${all.join(', ')}`, timeoutMs, async () => {
        for (const n of info.nodes) {
          const view = await runningNodes(n);
          if (view?.join() !== all.join()) return `${n.nodename} reports ${view ? view.join(', ') || 'nothing' : 'nothing (no answer)'}`;
        }
        return null;
      }),

    stopApp: async (n, timeoutMs = 60000) => {
      await ctl(n, ['stop_app'], timeoutMs);
      await pollUntil(`${n.nodename} leaving the running nodes after stop_app`, timeoutMs, () => noLongerCounted(n));
    },

    startApp: async (n, timeoutMs = 120000) => {
      await ctl(n, ['start_app'], timeoutMs);
      await pollUntil(`${n.nodename} back in the cluster after start_app`, timeoutMs, () => rejoined(n));
    },

    kill: async (n, timeoutMs = 30000) => {
      const pid = livePid(n);
      if (pid === undefined) throw new Error(`cannot kill ${n.nodename}: it is not running (no live PID in ${n.launch.pidFile})`);
      killQuietly(pid, 'SIGKILL');
      if (!(await waitGone(pid, timeoutMs))) throw new Error(`${n.nodename} (pid ${pid}) still there ${timeoutMs} ms after SIGKILL`);
      await pollUntil(`the other nodes noticing that ${n.nodename} was killed`, timeoutMs, () => noLongerCounted(n));
    },

    restart: async (n, timeoutMs = 120000) => {
      const running = livePid(n);
      if (running !== undefined) {
        throw new Error(
          `cannot restart ${n.nodename}: it still runs (pid ${running}); kill() it first; a node stopped with stop_app is started again with start_app`,
        );
      }
      const deadline = Date.now() + timeoutMs;
      // Detached, and not tied to this process: the cluster's owner stops it through beam.pid.
      const beam = spawnNode(n.launch);
      beam.unref();
      const dead = deathWatch(beam, `rabbitmq-server for ${n.nodename}`);
      try {
        await waitForAmqp(n.port, deadline, dead);
        await pollUntil(`${n.nodename} rejoining the cluster after its restart`, Math.max(0, deadline - Date.now()), async () => {
          const why = dead();
          if (why) throw new Error(why);
          return rejoined(n);
        });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${nodeDiagnostics(n.launch.stdoutFile, n.logFile)}`);
      }
    },
  };
}

/** Starts a private cluster of throwaway nodes; resolves once every node reports all of them running. */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const size = options.size ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 180000;
  const log = (msg: string): void => {
    if (options.verbose) process.stderr.write(`coney: ${msg}\n`);
  };
  assertRabbitMQInstalled();
  installExitHook();
  if (options.handleSignals !== false) installSignalHooks();

  const id = uniqueId();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `coney-cluster-${process.pid}-`));
  const home = path.join(dir, 'home');
  let epmd: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  let nodes: ClusterNode[] = [];
  const pids = (): number[] => [...nodes.map(livePid), epmd?.pid, watchdog?.pid].filter((p): p is number => p !== undefined);
  const entry: Running = { pids, dir, stop: () => Promise.resolve() };
  running.add(entry);

  let stopped: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopped ??= (async () => {
      const beamPids = nodes.map(livePid).filter((pid): pid is number => pid !== undefined);
      await Promise.all(beamPids.map((pid) => terminate(pid, 15000)));
      await releaseRun(entry, epmd, watchdog, dir);
    })();
    return stopped;
  };
  entry.stop = stopAll;

  try {
    fs.mkdirSync(home, { mode: 0o700 });
    writeCookie(home);
    const [epmdPort, ...nodePorts] = await freePorts(1 + 2 * size);
    const confEnvFile = writeConfEnvFile(dir);
    const pluginsFile = path.join(dir, 'enabled_plugins');
    fs.writeFileSync(pluginsFile, '[].\n');
    const advancedConfigFile = path.join(dir, 'advanced.config');
    if (options.advancedConfig !== undefined) fs.writeFileSync(advancedConfigFile, options.advancedConfig + '\n');

    const nodenames = Array.from({ length: size }, (_, i) => `coney-${id}-${i + 1}@localhost`);
    nodes = nodenames.map((nodename, i) => {
      const nodeDir = path.join(dir, `node-${i + 1}`);
      const [port, distPort] = [nodePorts[2 * i], nodePorts[2 * i + 1]];
      const logBase = path.join(nodeDir, 'log');
      for (const d of [nodeDir, logBase]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      const configFile = path.join(nodeDir, 'rabbitmq.conf');
      fs.writeFileSync(configFile, clusterNodeConfig(port, nodenames, options.extraConfig));
      return {
        index: i + 1,
        nodename,
        host: HOST,
        port,
        url: `amqp://guest:guest@${HOST}:${port}/`,
        distPort,
        dir: nodeDir,
        logFile: path.join(logBase, `${nodename}.log`),
        launch: {
          nodename,
          cwd: nodeDir,
          stdoutFile: path.join(nodeDir, 'stdout.log'),
          pidFile: path.join(nodeDir, BEAM_PID_FILE),
          env: nodeEnv({
            nodename,
            home,
            epmdPort,
            port,
            distPort,
            mnesiaBase: path.join(nodeDir, 'mnesia'),
            logBase,
            configFile: configFile.replace(/\.conf$/, ''),
            pluginsFile,
            advancedConfigFile,
            confEnvFile,
            rabbitPidFile: path.join(nodeDir, 'rabbitmq.pid'),
          }),
        },
      };
    });
    const info: ClusterInfo = { dir, home, epmdPort, ctlEnv: ctlEnvOf(home, epmdPort, confEnvFile), nodes };
    fs.writeFileSync(path.join(dir, CLUSTER_INFO_FILE), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
    log(`cluster ${nodenames.join(', ')} in ${dir}, epmd port ${epmdPort}`);

    const epmdStart = spawnEpmd(epmdPort);
    epmd = epmdStart.epmd;
    await epmdStart.ready;

    const spawnedAt = Date.now();
    const deadline = spawnedAt + timeoutMs;
    const beams = nodes.map((n) => spawnNode(n.launch));
    if (epmd.pid) watchdog = startWatchdog(process.pid, [epmd.pid], dir);
    await Promise.all(nodes.map((n, i) => waitForAmqp(n.port, deadline, deathWatch(beams[i], `rabbitmq-server for ${n.nodename}`))));
    log(`every node accepts AMQP after ${Date.now() - spawnedAt} ms`);
    const control = controlCluster(info);
    await control.waitUntilFormed(Math.max(0, deadline - Date.now()));
    const startupMs = Date.now() - spawnedAt;
    log(`cluster formed after ${startupMs} ms`);

    const cluster: Cluster = {
      ...control,
      dir,
      home,
      epmdPort,
      urls: nodes.map((n) => n.url),
      startupMs,
      env: () => clusterEnv(info),
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    if (process.env['CONEY_KEEP_FAILED_BROKER_DIR']) fs.cpSync(dir, process.env['CONEY_KEEP_FAILED_BROKER_DIR'], { recursive: true });
    const detail = nodes.map((n) => nodeDiagnostics(n.launch.stdoutFile, n.logFile)).join('\n');
    await stopAll().catch(() => undefined);
    throw new Error(`coney: could not start a throwaway RabbitMQ cluster: ${(err as Error).message}\n${detail}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true when `p` settles within `ms`, false otherwise; leaves no timer behind. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

/** True while the process exists (for tests and scripts that check cleanup). */
export { isAlive };
