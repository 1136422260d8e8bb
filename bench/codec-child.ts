/**
 * Runs bench/codec.ts in its own process (compiled with the rest of the
 * bench, so that coney's codec runs as the JavaScript users get, not through
 * tsx's transform): `node .tmp/bench-build/bench/codec-child.js [--quick]`.
 * Prints runCodecBench's table, then one line `CODEC_ROWS <json>`.
 */
import { runCodecBench } from './codec';

const rows = runCodecBench({ quick: process.argv.includes('--quick') });
process.stdout.write(`CODEC_ROWS ${JSON.stringify(rows)}\n`);
