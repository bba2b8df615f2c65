// How much garbage V8 lets pile up: bt's commands keep little alive (pages and batches), so the default
// growth (old space up to 4x what survived the last full collection) is mostly dead batches held in RSS.
import { setFlagsFromString } from 'node:v8';

/**
 * The old space may grow by half of what survived before the next full collection. Set once, first thing
 * (before any batch is allocated); V8 reads it each time it sets the next limit. Young-generation sizes
 * are fixed when the process starts and cannot be changed from here (see ADR 0014).
 */
export function keepHeapSlackSmall(): void {
  setFlagsFromString('--heap-growing-percent=50');
}
