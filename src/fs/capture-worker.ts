// A capture worker: stages batches of files sent by the main thread (see capture-pool.ts).
import { parentPort } from 'node:worker_threads';
import { type CaptureJob, captureFile } from './capture.js';

interface Request {
  readonly id: number;
  readonly jobs: readonly CaptureJob[];
}

parentPort?.on('message', (req: Request) => {
  parentPort?.postMessage({ id: req.id, results: req.jobs.map(captureFile) });
});
