/**
 * The arguments of a port channel's calls. They cross by structured clone,
 * except an option object's `arguments` field table (queue and exchange
 * arguments, consumer arguments, binding headers), which crosses as its
 * AMQP bytes so that a Buffer, a Decimal or a typed value arrives as what
 * it was (see port-properties.ts for the same rule on `headers`).
 * @packageDocumentation
 */
import { Reader, Writer } from '../wire/codec';
import type { FieldTable } from '../wire/field-table';

/** A field table as it crosses. */
interface TableBytes {
  readonly coneyTable: Uint8Array;
}

/** The worker's side: option objects' `arguments` as field-table bytes (throws InvalidArgumentError for a value no table holds). */
export function packArgs(args: readonly unknown[]): unknown[] {
  return args.map((arg) => {
    const table = optionTable(arg);
    if (table === undefined) return arg;
    const w = new Writer(256);
    w.table(table);
    const packed: TableBytes = { coneyTable: new Uint8Array(w.buf.subarray(0, w.pos)) };
    return { ...(arg as object), arguments: packed };
  });
}

/** The host's side: the field tables back. */
export function unpackArgs(args: readonly unknown[]): unknown[] {
  return args.map((arg) => {
    if (typeof arg !== 'object' || arg === null) return arg;
    const packed = (arg as { arguments?: unknown }).arguments;
    if (typeof packed !== 'object' || packed === null || !((packed as TableBytes).coneyTable instanceof Uint8Array)) return arg;
    const u8 = (packed as TableBytes).coneyTable;
    const bytes = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    return { ...arg, arguments: new Reader(bytes, 0, bytes.length).table() };
  });
}

/** The `arguments` table of an option object, if it has one. */
function optionTable(arg: unknown): FieldTable | undefined {
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) return undefined;
  const table = (arg as { arguments?: unknown }).arguments;
  return typeof table === 'object' && table !== null ? (table as FieldTable) : undefined;
}
