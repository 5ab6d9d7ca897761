// Time as every pure module receives it: the adapters pass the system clocks, the bench a
// virtual clock, tests a hand-driven one. Nothing in a core reads the time by itself.

export interface Clock {
  /** Monotonic milliseconds: durations and ordering. */
  now(): number;
  /** Unix epoch milliseconds: timestamps other processes read. */
  wallNow(): number;
}
