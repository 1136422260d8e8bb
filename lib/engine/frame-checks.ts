/**
 * Checks that what a call asks to send can be encoded and fits in one frame,
 * run in the call itself: a bad value or an oversized frame then throws
 * there, instead of later to whoever's reply freed the queue, or as a broker
 * close of the whole connection (501 FRAME_ERROR for a frame above frame-max).
 * A method is checked by encoding it, and that encoding is what is sent.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { Writer } from '../wire/codec';
import { FRAME_OVERHEAD } from '../wire/frame';
import { contentHeaderTooLarge, encodeMethodFrame, encodeSecretMethodFrame, frameMaxInForce } from '../wire/frame-writer';
import * as spec from '../wire/spec';
import { unknownNameHint } from './did-you-mean';

/** Bytes of a content header frame besides the properties: class, weight, body size. */
const CONTENT_HEADER_FIELDS = 12;

/**
 * Encodes `method` as a frame of `channel`, once, in the call that sends it:
 * throws what encoding throws (a bad field or table value), and an
 * InvalidArgumentError when the frame would exceed `frameMax` (0: not
 * negotiated, 131072). The bytes returned are what is sent, when the call's
 * turn comes (`OutboundBuffer.writeFrame`), so nothing is encoded twice.
 *
 * A method that carries a secret is encoded into a buffer of its own whose
 * outgrown copies are zeroed, and the frame is zeroed before an oversize
 * throws; the method itself is left as is.
 */
export function checkedMethodFrame(channel: number, method: spec.AMQPMethod, frameMax: number, hint = 'arguments or strings too large'): Buffer {
  const secret = carriesSecret(method);
  const frame = secret ? encodeSecretMethodFrame(channel, method) : encodeMethodFrame(channel, method);
  const max = frameMaxInForce(frameMax);
  if (frame.length > max) {
    if (secret) frame.fill(0);
    throw new InvalidArgumentError(
      `${method.name}: the method frame would be ${frame.length} bytes, more than frame-max ${max} (${hint}); the broker would close the connection`,
    );
  }
  return frame;
}

/** Methods whose fields hold a secret: the SASL response, the new secret (an OAuth token). */
function carriesSecret(method: spec.AMQPMethod): boolean {
  return method instanceof spec.Connection.StartOk || method instanceof spec.Connection.SecureOk || method instanceof spec.Connection.UpdateSecret;
}

/** Throws what encoding `properties` into a content header frame would throw, or when that frame exceeds `frameMax`. */
export function checkProperties(properties: spec.BasicPropertiesInit | undefined, frameMax: number): void {
  const w = new Writer(256);
  spec.BasicProperties.encode(w, properties);
  const frameSize = FRAME_OVERHEAD + CONTENT_HEADER_FIELDS + w.pos;
  const max = frameMaxInForce(frameMax);
  if (frameSize > max) throw contentHeaderTooLarge(frameSize, max);
}

const PROPERTY_NAMES: readonly string[] = spec.BasicProperties.fields.map((f) => f.name);

/**
 * Throws for a property name that is not one of the 14 (`contentTyp`): the
 * encoder reads only known names, so a typo would otherwise vanish silently.
 * A `BasicProperties` instance has only known names and is not walked.
 */
export function checkPropertyNames(properties: spec.BasicPropertiesInit | undefined): void {
  if (properties == null || properties instanceof spec.BasicProperties) return;
  if (typeof properties !== 'object') {
    throw new InvalidArgumentError(`basicPublish: properties must be an object, got ${typeof properties}`);
  }
  const name = spec.BasicProperties.unknownName(properties);
  if (name !== undefined) {
    throw new InvalidArgumentError(`basicPublish: unknown property '${name}'${unknownNameHint(name, PROPERTY_NAMES, 'the properties are')}`);
  }
}
