// A child process of `npm run bench:load --jobs N`: runs the load tasks it is sent over IPC.
import { type LoadTask, runLoadTask } from './load-run.js';

process.on('message', (task: LoadTask) => process.send?.(runLoadTask(task)));
