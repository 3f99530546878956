/**
 * Imported first by main.ts, so that it runs before any other module of the bundle is evaluated: V8's memory
 * reducer is armed by the first growth of the heap after start-up (see core/meter/meterProcess.ts), and the other
 * modules' start-up allocations are enough to arm it. Called later, the flag no longer stops it.
 */
import { tuneForMetering } from '../core/meter/meterProcess';

if (process.argv[2] === 'run') tuneForMetering();
