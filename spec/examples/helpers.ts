/**
 * Helpers for the example specs: run an example as a child process
 * (`node --import tsx examples/<name>.ts ...`, with the environment of the
 * test run, which tools/with-broker.ts filled with AMQP_URL and friends)
 * and watch its output. (The TCP proxy that cuts connections is
 * spec/support/tcp-proxy.ts; cleanUp is in spec/support/callbacks.ts.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Channel, spec } from '../../lib';
import { cbp, closeConnection, openChannel, openConnection } from '../support/callbacks';

const ROOT = path.resolve(__dirname, '..', '..');

/** What a finished example did. */
export interface ExampleResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running example. */
export class RunningExample {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Settles when the process has exited (never rejects). */
  readonly done: Promise<ExampleResult>;
  private readonly watchers: Array<() => void> = [];
  private timer: NodeJS.Timeout;

  constructor(
    readonly name: string,
    readonly args: string[],
    options: { timeoutMs: number; env?: NodeJS.ProcessEnv },
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join('examples', `${name}.ts`), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.notify();
    });
    // A hung example must not hang the run: kill it after its time is up.
    this.timer = setTimeout(() => {
      this.stderr += `\n[test] ${name} still running after ${options.timeoutMs} ms: killed\n`;
      this.child.kill('SIGKILL');
    }, options.timeoutMs);
    this.done = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        clearTimeout(this.timer);
        this.notify();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Everything printed so far, stdout then stderr. */
  get output(): string {
    return `${this.stdout}${this.stderr ? `\n--- stderr ---\n${this.stderr}` : ''}`;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves with the match once stdout matches `pattern`; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs = 20000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(new Error(`${this.name}: no output matching ${pattern} within ${timeoutMs} ms; output:\n${this.output}`));
      }, timeoutMs);
      const check = (): boolean => {
        const match = this.stdout.match(pattern);
        if (match) {
          clearTimeout(timer);
          resolve(match);
          return true;
        }
        if (this.exited) {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (code ${this.child.exitCode}) before printing ${pattern}; output:\n${this.output}`));
          return true;
        }
        return false;
      };
      const watcher = (): void => {
        if (check()) remove();
      };
      const remove = (): void => {
        const i = this.watchers.indexOf(watcher);
        if (i !== -1) this.watchers.splice(i, 1);
      };
      if (!check()) this.watchers.push(watcher);
    });
  }

  /** Counts the lines of stdout matching `pattern`. */
  count(pattern: RegExp): number {
    return this.stdout.split('\n').filter((l) => pattern.test(l)).length;
  }

  /** Sends a signal (if still running). */
  kill(signal: NodeJS.Signals = 'SIGINT'): void {
    if (!this.exited) this.child.kill(signal);
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }
}

/** Starts an example. */
export function startExample(name: string, args: string[] = [], timeoutMs = 30000, env?: NodeJS.ProcessEnv): RunningExample {
  return new RunningExample(name, args, { timeoutMs, env });
}

/** Runs an example to completion. */
export function runExample(name: string, args: string[] = [], timeoutMs = 30000, env?: NodeJS.ProcessEnv): Promise<ExampleResult> {
  return startExample(name, args, timeoutMs, env).done;
}

/** Kills a still-running example (for after-hooks). */
export async function stopExample(example: RunningExample | undefined): Promise<void> {
  if (example === undefined || example.exited) return;
  example.kill('SIGKILL');
  await example.done;
}

/** The AMQP URL of the broker under test with its host and port replaced (for the proxy). */
export function urlVia(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}

// ---- broker access for the specs (through the library, as a user would) ----

/** Opens a connection and a channel, runs `fn`, closes the connection. */
export async function withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await openConnection();
  try {
    const channel = await openChannel(connection);
    return await fn(channel);
  } finally {
    await closeConnection(connection);
  }
}

/** Ready-message count of a queue (passive declare), or null when it does not exist. */
export function queueMessageCount(queue: string): Promise<number | null> {
  return withChannel(async (channel) => {
    try {
      const ok = await cbp<spec.Queue.DeclareOk>((cb) => channel.queueDeclare(queue, { passive: true }, cb));
      return ok.messageCount;
    } catch {
      return null;
    }
  });
}
