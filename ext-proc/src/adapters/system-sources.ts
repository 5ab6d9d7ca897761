// The real time and id sources the pure cores are given in production (tests and the bench
// pass their own).
import type { Clock } from '../../../core/src/clock.js';
import type { RequestIdSource } from '../core/envoy/stream-processor.js';

export const systemClock: Clock = { now: () => performance.now(), wallNow: () => Date.now() };

let generated = 0;

/**
 * Ids for requests that came without a usable x-request-id: the time in base 36 and a
 * counter shared by every stream of the process, so they are unique within it.
 */
export const systemRequestIds: RequestIdSource = () => {
  generated = (generated + 1) % Number.MAX_SAFE_INTEGER;
  return `px-${Date.now().toString(36)}-${generated.toString(36)}`;
};
