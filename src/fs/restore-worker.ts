// A restore worker: writes batches of small restored files sent by the main thread (see restore-pool.ts).
import { serveJobs } from '../core/worker-pool.js';
import { restoreSmallObject } from './restore-file.js';

serveJobs(restoreSmallObject);
