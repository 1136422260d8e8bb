/**
 * The shapes of completion callbacks.
 * @packageDocumentation
 */

/**
 * An error-first completion callback. Typed so that strict TypeScript
 * narrows the result once the error is ruled out:
 *
 * ```ts
 * channel.queueDeclare('', {}, (err, ok) => {
 *   if (err) return console.error(err);
 *   console.log(ok.queue); // ok: spec.Queue.DeclareOk here, no `!` needed
 * });
 * ```
 *
 * A callback that looks only at the error (`(err) => ...`) is accepted
 * wherever a Callback is (see {@link ErrorCallback}).
 * @category Channel
 */
export type Callback<T = void> = (...args: [err: Error, result: undefined] | [err: null, result: T]) => void;

/**
 * A completion callback that looks only at the error.
 * @category Channel
 */
export type ErrorCallback = (err: Error | null) => void;

/** @internal How the library calls completion callbacks (both public shapes accept it). */
export type Completion<T> = (err: Error | null, result?: T) => void;

/** @internal Either public shape, as the implementation signatures take it. */
export type AnyCallback<T> = Callback<T> | ErrorCallback | Completion<T>;

/** @internal Views a callback of either public shape as the library calls it. */
export function completion<T>(cb: AnyCallback<T> | undefined): Completion<T> | undefined {
  return cb as Completion<T> | undefined;
}
