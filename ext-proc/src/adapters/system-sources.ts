// The real time and id sources the pure cores are given in production (tests and the bench
// pass their own).
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../core/src/clock.js';
import type { RequestIdSource } from '../core/envoy/stream-processor.js';
import type { FlowTimers } from '../core/flow-control/flow-controller.js';

export const systemClock: Clock = { now: () => performance.now(), wallNow: () => Date.now() };

let generated = 0;
/** Tells this process's ids from another replica's (their counters and clocks run alike). */
const processTag = randomBytes(4).toString('hex');

/**
 * Ids for requests that came without a usable x-request-id: a random tag of the process, the
 * time in base 36 and a counter shared by every stream of the process, so they are unique
 * across replicas too (a trace's id is its JetStream Nats-Msg-Id: two replicas' equal ids
 * would drop one trace as a duplicate).
 */
export const systemRequestIds: RequestIdSource = () => {
  generated = (generated + 1) % Number.MAX_SAFE_INTEGER;
  return `px-${processTag}-${Date.now().toString(36)}-${generated.toString(36)}`;
};

/** Flow control's timers on Node's: `at` on `clock`'s time, `defer` as given (setImmediate by default). */
export function systemTimers(
  clock: Clock,
  defer: FlowTimers['defer'] = (fn) => setImmediate(fn),
): FlowTimers {
  return {
    at: (atMs, fn) => {
      const timer = setTimeout(fn, Math.max(0, atMs - clock.now()));
      return () => clearTimeout(timer);
    },
    defer,
  };
}
