import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../common/src/logger.js';

/** A logger whose NDJSON lines are kept in memory, for tests that assert on logs. */
export function captureLogger(
  service: string,
  level = 'debug',
): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = createLogger(service, level, sink);
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
