// A worker for the worker-pool test, speaking serveJobs' protocol ({ id, jobs } in, { id, results } out; a
// plain .mjs because worker threads here do not load TypeScript): echoes its jobs, exits with 3 on "die".
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, jobs }) => {
  if (jobs.includes('die')) process.exit(3);
  parentPort.postMessage({ id, results: jobs.map((j) => `done ${j}`) });
});
