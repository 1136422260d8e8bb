/**
 * A private, throwaway RabbitMQ node for tests, the demo and developers.
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
  /** Extra rabbitmq.conf lines, e.g. ['heartbeat = 5']. */
  extraConfig?: string[];
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
  pids: number[]; // beam.smp first, then epmd, then the watchdog
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
  for (const r of running) {
    for (const pid of r.pids) killQuietly(pid, 'SIGKILL');
    try {
      fs.rmSync(r.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  running.clear();
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

/** Starts a detached shell that kills the given PIDs and removes dir once `parent` is gone. */
function startWatchdog(parent: number, pids: number[], dir: string): ChildProcess {
  const script =
    'parent=$1; dir=$2; shift 2; ' +
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done; ' +
    'kill -KILL "$@" 2>/dev/null; sleep 1; rm -rf "$dir"';
  const child = spawn('/bin/sh', ['-c', script, 'coney-broker-watchdog', String(parent), dir, ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

// ---------------------------------------------------------------------------

let counter = 0;

export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  const started = Date.now();
  const log = (msg: string): void => {
    if (options.verbose) process.stderr.write(`coney: ${msg}\n`);
  };
  if (!fs.existsSync(RABBITMQ_SERVER)) {
    throw new Error(`${RABBITMQ_SERVER} not found: install RabbitMQ with\n  sudo apt-get install -y rabbitmq-server openssl python3-pika amqp-tools`);
  }
  installExitHook();
  if (options.handleSignals !== false) installSignalHooks();

  const id = `${process.pid}-${crypto.randomBytes(3).toString('hex')}${counter++ ? `-${counter}` : ''}`;
  const nodename = `coney-${id}@localhost`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `coney-rabbitmq-${process.pid}-`));
  const entry: Running = { pids: [], dir, stop: () => Promise.resolve() };
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
      if (epmd?.pid && epmd.exitCode === null && epmd.signalCode === null) {
        const exited = new Promise<void>((resolve) => epmd!.once('exit', () => resolve()));
        killQuietly(epmd.pid, 'SIGTERM');
        if (!(await within(exited, 3000))) killQuietly(epmd.pid, 'SIGKILL');
      }
      killQuietly(watchdog?.pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      running.delete(entry);
    })();
    return stopped;
  };
  entry.stop = stop;

  try {
    for (const d of [home, mnesiaBase, logBase]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home, '.erlang.cookie'), crypto.randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });

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
    const pluginsFile = path.join(dir, 'enabled_plugins');
    fs.writeFileSync(pluginsFile, certs ? '[rabbitmq_auth_mechanism_ssl].\n' : '[].\n');
    const confEnvFile = path.join(dir, 'rabbitmq-env.conf'); // instead of /etc/rabbitmq/rabbitmq-env.conf
    fs.writeFileSync(confEnvFile, '# empty: the throwaway node takes everything from its environment\n');

    const commonEnv: Record<string, string> = {
      HOME: home,
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_CONF_ENV_FILE: confEnvFile,
      LC_ALL: 'C.UTF-8',
      LANG: 'C.UTF-8',
    };
    const ctlEnv: Record<string, string> = { ...commonEnv, RABBITMQ_CTL_ERL_ARGS: '-start_epmd false' };
    const serverEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...commonEnv,
      RABBITMQ_NODENAME: nodename,
      RABBITMQ_NODE_IP_ADDRESS: HOST,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: mnesiaBase,
      RABBITMQ_LOG_BASE: logBase,
      RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
      RABBITMQ_CONFIG_FILE: configFile,
      RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'), // absent on purpose
      RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
      // Makes the script exec erl (so our child PID is beam.smp); -noinput given back here.
      RABBITMQ_ALLOW_INPUT: '1',
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-noinput -start_epmd false -kernel inet_dist_use_interface {127,0,0,1}',
    };
    delete serverEnv['NOTIFY_SOCKET'];
    delete serverEnv['RABBITMQ_SERVER_START_ARGS'];
    delete serverEnv['ERL_LIBS'];

    // our own epmd, loopback only, in the foreground
    epmd = spawn('epmd', ['-port', String(epmdPort), '-address', HOST], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) },
    });
    if (epmd.pid) entry.pids.push(epmd.pid);
    let epmdExit: string | null = null;
    epmd.once('error', (err) => (epmdExit = `cannot run epmd: ${err.message}`));
    epmd.once('exit', (code, signal) => (epmdExit ??= `epmd exited early (${signal ?? code})`));
    await waitForListen(epmdPort, 10000, () => epmdExit);

    const out = fs.openSync(stdoutFile, 'a');
    const spawnedAt = Date.now();
    try {
      beam = spawn(RABBITMQ_SERVER, [], { detached: true, stdio: ['ignore', out, out], env: serverEnv, cwd: dir });
    } finally {
      fs.closeSync(out);
    }
    const beamPid = beam.pid;
    if (beamPid) entry.pids.unshift(beamPid);
    let beamExit: string | null = null;
    beam.once('error', (err) => (beamExit = `cannot run ${RABBITMQ_SERVER}: ${err.message}`));
    beam.once('exit', (code, signal) => (beamExit ??= `rabbitmq-server exited early (${signal ? `signal ${signal}` : `code ${code}`})`));
    if (beamPid && epmd.pid) {
      watchdog = startWatchdog(process.pid, [beamPid, epmd.pid], dir);
      if (watchdog.pid) entry.pids.push(watchdog.pid);
    }
    log(`rabbitmq-server pid ${beamPid}, node ${nodename}, dir ${dir}`);

    // wait for AMQP
    const deadline = spawnedAt + timeoutMs;
    let lastErr: unknown;
    for (;;) {
      if (beamExit) throw new Error(beamExit);
      try {
        await probeAmqp(HOST, port, 2000);
        break;
      } catch (err) {
        lastErr = err;
      }
      if (Date.now() > deadline) {
        throw new Error(`RabbitMQ did not accept AMQP on ${HOST}:${port} within ${timeoutMs} ms (${(lastErr as Error)?.message})`);
      }
      await sleep(200);
    }
    const startupMs = Date.now() - spawnedAt;
    if (certs) await probeTls(tlsPort, certs.ca);
    log(`broker ready after ${startupMs} ms (${Date.now() - started} ms with preparation)`);

    const ctl = async (args: string[]): Promise<string> => {
      const { stdout } = await run(RABBITMQCTL, ['-n', nodename, ...args], { env: { ...process.env, ...ctlEnv }, timeoutMs: 120000 });
      return stdout;
    };
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
      ctl,
      env: () => brokerEnv(broker),
      stop,
    };
    return broker;
  } catch (err) {
    // Debugging aid: CONEY_KEEP_FAILED_BROKER_DIR=/some/dir keeps a copy of a failed node's files.
    if (process.env['CONEY_KEEP_FAILED_BROKER_DIR']) fs.cpSync(dir, process.env['CONEY_KEEP_FAILED_BROKER_DIR'], { recursive: true });
    const detail = [
      `--- first errors in ${stdoutFile} and ${path.basename(logFile)} ---`,
      firstErrors([stdoutFile, logFile], 12),
      `--- ${stdoutFile} (tail) ---`,
      tailOf(stdoutFile, 30),
      `--- ${logFile} (tail) ---`,
      tailOf(logFile, 40),
    ].join('\n');
    await stop().catch(() => undefined);
    const e = new Error(`coney: could not start a throwaway RabbitMQ: ${(err as Error).message}\n${detail}`);
    throw e;
  }
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
