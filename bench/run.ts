/**
 * Benchmark entry point: `npm run bench` (add `-- --quick` for short runs).
 */
import { runCodecBench } from './codec';

const quick = process.argv.includes('--quick');
runCodecBench({ quick });
