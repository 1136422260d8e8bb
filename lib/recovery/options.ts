/**
 * The `recovery` option of a connection: what the application may set, its
 * defaults, and the checks that turn a mistyped value into a clear error
 * at construction rather than a surprise during an outage.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { checkCallback, checkOptions, describeValue } from '../engine/option-checks';
import type { RecordedEntity } from './recorded-entity';

/**
 * What to recover and how often to try (see the README's Recovery section).
 * @category Recovery
 */
export interface RecoveryOptions {
  /** Seconds before the first reconnect, jittered (full jitter): default 0.5. */
  initialDelay?: number;
  /** Cap of the exponential backoff between rounds, in seconds: default 30. */
  maxDelay?: number;
  /** Rounds over all parameter sets before giving up: default Infinity. */
  maxAttempts?: number;
  /** Redeclare the recorded exchanges, queues and bindings: default true. */
  topology?: boolean;
  /** Re-register consumers with their tags, options and callbacks: default true. */
  consumers?: boolean;
  /** In confirm mode, republish what the broker never answered: default true. */
  republish?: boolean;
  /** False leaves an entity out of recovery (a consumer left out is reported through its channel's cancel callbacks). */
  filter?: (entity: RecordedEntity) => boolean;
  /** A redeclare failed: 'skip' that entity or 'abort' the recovery (the default). */
  onEntityError?: (entity: RecordedEntity, err: Error) => 'skip' | 'abort';
}

/** {@link RecoveryOptions} with every default filled in. */
export interface RecoverySettings {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly maxAttempts: number;
  readonly topology: boolean;
  readonly consumers: boolean;
  readonly republish: boolean;
  readonly filter: (entity: RecordedEntity) => boolean;
  readonly onEntityError: (entity: RecordedEntity, err: Error) => 'skip' | 'abort';
}

const RECOVERY_OPTIONS = ['initialDelay', 'maxDelay', 'maxAttempts', 'topology', 'consumers', 'republish', 'filter', 'onEntityError'] as const;

const DEFAULTS: RecoverySettings = {
  initialDelay: 0.5,
  maxDelay: 30,
  maxAttempts: Infinity,
  topology: true,
  consumers: true,
  republish: true,
  filter: () => true,
  onEntityError: () => 'abort',
};

/**
 * Checks the `recovery` option and fills in the defaults: null when recovery
 * is off (undefined or false), the settings otherwise (`true`: all defaults).
 */
export function recoverySettings(value: unknown): RecoverySettings | null {
  if (value === undefined || value === false) return null;
  if (value === true) return DEFAULTS;
  checkOptions('recovery', value, RECOVERY_OPTIONS);
  const o = value as RecoveryOptions;
  const settings: RecoverySettings = {
    initialDelay: seconds('initialDelay', o.initialDelay, DEFAULTS.initialDelay),
    maxDelay: seconds('maxDelay', o.maxDelay, DEFAULTS.maxDelay),
    maxAttempts: rounds(o.maxAttempts),
    topology: flag('topology', o.topology),
    consumers: flag('consumers', o.consumers),
    republish: flag('republish', o.republish),
    filter: o.filter ?? DEFAULTS.filter,
    onEntityError: o.onEntityError ?? DEFAULTS.onEntityError,
  };
  checkCallback('recovery', o.filter, 'filter');
  checkCallback('recovery', o.onEntityError, 'onEntityError');
  if (settings.maxDelay < settings.initialDelay) {
    throw new InvalidArgumentError(`recovery: maxDelay (${settings.maxDelay} s) must not be below initialDelay (${settings.initialDelay} s)`);
  }
  return settings;
}

function seconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`recovery: ${name} must be a finite number of seconds, 0 or more, got ${describeValue(value)}`);
  }
  return value;
}

function rounds(value: unknown): number {
  if (value === undefined) return DEFAULTS.maxAttempts;
  if (typeof value !== 'number' || !(value === Infinity || (Number.isInteger(value) && value >= 1))) {
    throw new InvalidArgumentError(`recovery: maxAttempts must be a whole number, 1 or more (or Infinity), got ${describeValue(value)}`);
  }
  return value;
}

function flag(name: string, value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`recovery: ${name} must be a boolean, got ${describeValue(value)}`);
  return value;
}
