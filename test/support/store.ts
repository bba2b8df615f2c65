// A real SQLite store in a temporary directory, with a deterministic clock, for journal and projection tests.
import { join } from 'node:path';
import type { Clock } from '../../src/core/ids.js';
import { ulidSource } from '../../src/core/ids.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from './tmp.js';

export const HOST = '01HZZZZZZZZZZZZZZZZZZZZZZZ';

export function steppingClock(start = Date.UTC(2026, 0, 1), stepMs = 1000): Clock {
  let t = start;
  return { now: () => (t += stepMs) };
}

export function tempStore(file = join(tempDir('bt-store'), 'bt.db')): { store: Store; file: string } {
  return { store: Store.open(file, HOST, steppingClock(), ulidSource()), file };
}

export function reopen(file: string): Store {
  return Store.open(file, HOST, steppingClock(Date.UTC(2027, 0, 1)), ulidSource());
}
