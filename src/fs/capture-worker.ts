// A capture worker: stages batches of files sent by the main thread (see capture-pool.ts).
import { serveJobs } from '../core/worker-pool.js';
import { captureFile } from './capture.js';

serveJobs(captureFile);
