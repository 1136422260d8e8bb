/**
 * Wire bytes of a field table that nests arrays deeper than coney's encoder
 * allows, for the tests of the decoding limit (a poison message, a malicious
 * `connection.start`).
 */

/**
 * The length-prefixed table `{ k: [[[...[true]...]]] }` with `levels` nested
 * arrays, written front to back in one buffer (each level is a tag and a length).
 */
export function nestedArrayTable(levels: number): Buffer {
  const table = Buffer.alloc(4 + 2 + 5 * levels + 2);
  table.writeUInt32BE(table.length - 4, 0);
  table.write('\x01k', 4, 'latin1');
  for (let i = 0; i < levels; i++) {
    table[6 + 5 * i] = 0x41;
    table.writeUInt32BE(table.length - (6 + 5 * i + 5), 6 + 5 * i + 1);
  }
  table.write('t\x01', table.length - 2, 'latin1');
  return table;
}
