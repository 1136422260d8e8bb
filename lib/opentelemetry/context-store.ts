/**
 * Makes an OpenTelemetry context current around a traced call through
 * `TracingChannel.start.bindStore`, with public APIs only.
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, context } from '@opentelemetry/api';

/**
 * An AsyncLocalStorage whose `run` is OpenTelemetry's `context.with`: bound
 * to a tracing channel's `start` (`start.bindStore(store, transform)`),
 * Node runs the traced function inside `store.run(transform(data), ...)`,
 * so the context `transform` returns is OpenTelemetry's active context there
 * (and in whatever the function starts asynchronously, with a context
 * manager such as `AsyncLocalStorageContextManager` registered). The store's
 * own storage is never used: `getStore()` is always `undefined`; read the
 * context with `context.active()`.
 *
 * This relies on what diagnostics_channel does with a bound store (it calls
 * `store.run(value, fn)`), not on any private member of OpenTelemetry's.
 */
export class OpenTelemetryContextStore extends AsyncLocalStorage<Context> {
  override run<R>(store: Context, callback: () => R): R;
  override run<R, TArgs extends unknown[]>(store: Context, callback: (...args: TArgs) => R, ...args: TArgs): R;
  override run<R, TArgs extends unknown[]>(store: Context, callback: (...args: TArgs) => R, ...args: TArgs): R {
    return context.with(store, callback, undefined, ...args);
  }
}
