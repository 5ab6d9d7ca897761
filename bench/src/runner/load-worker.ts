// A worker thread of `npm run bench:load --jobs N`: runs the load tasks it is sent.
import { parentPort } from 'node:worker_threads';
import { type LoadTask, runLoadTask } from './load-run.js';

parentPort?.on('message', (task: LoadTask) => parentPort?.postMessage(runLoadTask(task)));
