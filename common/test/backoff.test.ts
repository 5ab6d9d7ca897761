// The reconnect loops' backoff, run without sleeping: the timer and randomness are injected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, type Sleep, realSleep, retryWithBackoff } from '../src/nats/backoff.js';

/** A sleep that returns at once and records what it was asked to wait. */
function recordingSleep(): { sleep: Sleep; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

test('waits double from the initial delay up to the cap; a reset starts over', () => {
  const b = new Backoff({ settings: { initialMs: 100, maxMs: 1000, jitter: 0.2 }, random: () => 0 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
  b.reset();
  assert.equal(b.next(), 100);
});

test('jitter shortens each wait by up to its share, never lengthens it', () => {
  const draws = [0.999, 0.5];
  const b = new Backoff({
    settings: { initialMs: 1000, maxMs: 5000, jitter: 0.2 },
    random: () => draws.shift() ?? 0,
  });
  assert.equal(b.next(), 800);
  assert.equal(b.next(), 1800, 'the second wait (2000) drawn halfway into its jitter');
});

test('failed attempts are retried with growing waits until one succeeds', async () => {
  const { sleep, waits } = recordingSleep();
  const errors: Array<[string, number]> = [];
  let attempts = 0;
  await retryWithBackoff(
    async () => {
      attempts++;
      if (attempts <= 3) throw new Error(`down ${attempts}`);
      return 'done';
    },
    {
      signal: new AbortController().signal,
      sleep,
      random: () => 0,
      onError: (err, retryMs) => errors.push([(err as Error).message, retryMs]),
    },
  );
  assert.equal(attempts, 4);
  assert.deepEqual(waits, [250, 500, 1000]);
  assert.deepEqual(errors, [
    ['down 1', 250],
    ['down 2', 500],
    ['down 3', 1000],
  ]);
});

test('an attempt that got going resets the backoff; one that ends quietly is retried too', async () => {
  const { sleep, waits } = recordingSleep();
  const script: Array<'fail' | 'healthy-then-fail' | 'ends' | 'done'> = [
    'fail',
    'fail',
    'healthy-then-fail',
    'fail',
    'ends',
    'done',
  ];
  const errors: number[] = [];
  await retryWithBackoff(
    async (healthy) => {
      const step = script.shift();
      if (step === 'done') return 'done';
      if (step === 'ends') return 'again';
      if (step === 'healthy-then-fail') healthy();
      throw new Error(step);
    },
    { signal: new AbortController().signal, sleep, random: () => 0, onError: (_e, ms) => errors.push(ms) },
  );
  assert.deepEqual(waits, [250, 500, 250, 500, 1000]);
  assert.deepEqual(errors, [250, 500, 250, 500], 'a quiet end is not an error');
});

test('the stop signal ends the loop: no attempt after it, and a wait under way is cut short', async () => {
  const stop = new AbortController();
  let attempts = 0;
  const loop = retryWithBackoff(
    async () => {
      attempts++;
      throw new Error('down');
    },
    {
      signal: stop.signal,
      // The real timer, with a wait far longer than any test: only the signal can end it,
      // and it is stopped once the wait has begun.
      settings: { initialMs: 3_600_000, maxMs: 3_600_000 },
      sleep: (ms, signal) => {
        const waiting = realSleep(ms, signal);
        stop.abort();
        return waiting;
      },
      onError: () => undefined,
    },
  );
  await loop;
  assert.equal(attempts, 1);
  const aborted = new AbortController();
  aborted.abort();
  let ran = 0;
  await retryWithBackoff(
    async () => {
      ran++;
      return 'again';
    },
    { signal: aborted.signal, onError: () => undefined },
  );
  assert.equal(ran, 0, 'stopped before the first attempt');
});

test('the real sleep ends when its signal aborts', async () => {
  const stop = new AbortController();
  const sleeping = realSleep(3_600_000, stop.signal);
  stop.abort();
  await sleeping;
  const already = new AbortController();
  already.abort();
  await realSleep(3_600_000, already.signal);
});
