import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * NDJSON logger for one service. Secrets that may sit in configuration are redacted
 * wherever they appear; prompt text is never passed to a logger in the first place.
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    redact: {
      paths: ['*.password', '*.token', '*.pass', '*.nkey', '*.seed', 'nats.url', 'config.nats.url'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
