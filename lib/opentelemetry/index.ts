/**
 * `coney/opentelemetry`: OpenTelemetry spans for coney, following the
 * messaging semantic conventions for RabbitMQ, with W3C trace context
 * carried in the message headers. Needs `@opentelemetry/api` (an optional
 * peer dependency: `npm install @opentelemetry/api`); the `coney` package
 * itself never loads it.
 *
 * ```ts
 * import { instrumentConey } from 'coney/opentelemetry';
 * const instrumentation = instrumentConey(); // after the OpenTelemetry SDK is set up
 * // ... publish and consume as usual ...
 * instrumentation.disable();
 * ```
 * @packageDocumentation
 * @module coney/opentelemetry
 */
import './peer-check'; // first: a clear error when @opentelemetry/api is missing
import { ConeyInstrumentation } from './instrumentation';
import { type ConeyInstrumentationConfig, checkConfig } from './config';

export { ConeyInstrumentation, INSTRUMENTATION_NAME } from './instrumentation';
export type { ConeyInstrumentationConfig } from './config';
export { ATTR } from './attributes';
export type { PublishContext, DeliverContext } from '../engine/diagnostics';

/**
 * Makes a {@link ConeyInstrumentation} and enables it (whatever `enabled`
 * says): spans for every publish and delivery of every coney connection of
 * this process, until `disable()`.
 * @category OpenTelemetry
 */
export function instrumentConey(config: ConeyInstrumentationConfig = {}): ConeyInstrumentation {
  const instrumentation = new ConeyInstrumentation({ ...checkConfig(config), enabled: false });
  instrumentation.enable();
  return instrumentation;
}
