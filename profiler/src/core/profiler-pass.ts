// The profiler's periodic pass, the same for the service (real time) and the bench (virtual
// time): sessions that went idle or ended are completed on every pass, and workflows with
// new sessions are rebuilt at most once per rebuild interval (or at once when forced, at a
// restore or a flush). The caller does the I/O: the service stores the completed sessions,
// acknowledges their traces and publishes the models; the simulator installs the models.
import type { PythiaConfig } from '../../../common/src/config/schema.js';
import { coreConfigFrom } from './core-config.js';
import {
  type CompletedSessionResult,
  ProfilerCore,
  type ProfilerCoreOptions,
  type RebuiltModel,
} from './profiler-core.js';

export interface ProfilerPassResult<T> {
  readonly completed: CompletedSessionResult<T>[];
  /** Models rebuilt by this pass; null when no rebuild was due. */
  readonly rebuilt: RebuiltModel[] | null;
  /** Time the rebuild took, by the injected stopwatch (0 without one or without a rebuild). */
  readonly rebuildMs: number;
}

export interface ProfilerPassOptions {
  readonly rebuildIntervalMs: number;
  /** Reads a monotonic time in ms to time rebuilds (the service's metric); none by default. */
  readonly stopwatch?: () => number;
}

export class ProfilerPass<T> {
  private lastRebuildMs: number | null = null;

  constructor(
    readonly core: ProfilerCore<T>,
    private readonly options: ProfilerPassOptions,
  ) {}

  /** How often a rebuild is due. */
  get rebuildIntervalMs(): number {
    return this.options.rebuildIntervalMs;
  }

  /**
   * How often the service runs a pass: every second at most, so that a completed session's
   * traces are acknowledged soon after it ends, whatever the rebuild interval.
   */
  get serviceIntervalMs(): number {
    return Math.min(1000, this.options.rebuildIntervalMs);
  }

  /** A core and its pass as the configuration's `profiler:` section sets them. */
  static fromConfig<T>(
    config: PythiaConfig,
    stopwatch?: () => number,
    options: ProfilerCoreOptions<T> = {},
  ): ProfilerPass<T> {
    const core = new ProfilerCore<T>(coreConfigFrom(config.profiler, config.identifiers.max_length), options);
    return new ProfilerPass(core, {
      rebuildIntervalMs: config.profiler.rebuild_interval_s * 1000,
      ...(stopwatch ? { stopwatch } : {}),
    });
  }

  /**
   * One pass at `nowMs` (the clock the traces were ingested with). `unixMs` stamps rebuilt
   * models (defaults to `nowMs`: the service's clock is the wall clock).
   */
  run(nowMs: number, options: { force?: boolean; unixMs?: number } = {}): ProfilerPassResult<T> {
    const completed = this.core.completeDue(nowMs);
    return { completed, ...this.rebuild(nowMs, options) };
  }

  /**
   * The rebuild half of a pass (the service stores the completed sessions in between: with
   * learnOnStore, a session is learned only once stored).
   */
  rebuild(
    nowMs: number,
    options: { force?: boolean; unixMs?: number } = {},
  ): Omit<ProfilerPassResult<T>, 'completed'> {
    const due =
      options.force === true ||
      this.lastRebuildMs === null ||
      nowMs - this.lastRebuildMs >= this.options.rebuildIntervalMs;
    if (!due) return { rebuilt: null, rebuildMs: 0 };
    this.lastRebuildMs = nowMs;
    const watch = this.options.stopwatch;
    const started = watch?.() ?? 0;
    const rebuilt = this.core.rebuildDirty(options.unixMs ?? nowMs);
    return { rebuilt, rebuildMs: watch ? watch() - started : 0 };
  }
}
