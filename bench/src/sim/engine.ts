// One simulated vLLM replica (V1 semantics, ../shared/simulator-model.md), driven step by
// step in virtual time: continuous batching, chunked prefill within the step budget, FCFS or
// priority admission, a prefix cache of chained 16-token block hashes with an LRU free list,
// and preemption with recompute when the KV budget runs out. Deterministic.
//
// Two optional extras, off unless asked for (figures without them are unchanged):
// - a host-memory KV tier (EngineOptions.hostKvCapacityTokens): blocks evicted from the GPU
//   free list go to host memory (host-tier.ts) and a prompt that continues its GPU prefix hit
//   there loads them over PCIe (profile.hostLoadMsPerToken) instead of recomputing them;
// - session KV retention (SimRequest.retention): a finished request's full blocks stay pinned
//   in GPU KV for a TTL or until the next request with the same key takes them (kv-pins.ts).
import { HostKvTier } from './host-tier.js';
import { KvPins, type Pin } from './kv-pins.js';
import { type ReplicaProfile, stepTimeMs } from './profiles.js';

/**
 * Keep this request's KV after it finishes: `key` names the session (or agent thread) whose
 * next request takes the blocks; `ttlMs` after the finish they are released anyway. A request
 * with `ttlMs` 0 only takes (releases) what its key holds, as a session's last turn does.
 */
export interface RetentionHint {
  readonly key: string;
  readonly ttlMs: number;
}

export interface EngineOptions {
  /** Host-memory KV tier capacity in tokens (0 or absent: no tier). */
  readonly hostKvCapacityTokens?: number;
}

export interface SimRequest {
  readonly id: string;
  /** Chained hashes of the prompt's full blocks. */
  readonly promptBlocks: readonly number[];
  /** Chained hashes of the full blocks of prompt + output (cached after completion). */
  readonly fullBlocks: readonly number[];
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Lower runs first under the priority policy (vLLM). */
  readonly priority: number;
  readonly arrivalMs: number;
  readonly retention?: RetentionHint;
}

export interface RequestResult {
  readonly id: string;
  readonly firstTokenMs: number;
  readonly endMs: number;
  readonly cachedTokens: number;
  readonly preemptions: number;
}

interface Running {
  readonly req: SimRequest;
  /** Prompt (plus, after a preemption, already generated) tokens to prefill. */
  prefillTarget: number;
  prefilled: number;
  generated: number;
  /** Leading prompt blocks shared from the cache (refs taken). */
  sharedBlocks: number[];
  /** Blocks this request holds privately. */
  privateBlocks: number;
  cachedTokens: number;
  firstTokenMs: number;
  preemptions: number;
  admittedSeq: number;
  /** When its host-tier blocks are in GPU memory (0: nothing to load); it waits until then. */
  loadReadyMs: number;
}

export interface StepOutcome {
  readonly durationMs: number;
  readonly firstTokens: ReadonlyArray<{ id: string }>;
  readonly finished: readonly RequestResult[];
}

export class ReplicaEngine {
  private readonly waiting: Running[] = [];
  private readonly running: Running[] = [];
  /** Blocks holding content and in use: hash -> references. */
  private readonly active = new Map<number, number>();
  /** Free blocks still holding content, least recently freed first. */
  private readonly cachedFree = new Map<number, true>();
  private inUse = 0;
  private seq = 0;
  private readonly host: HostKvTier | null;
  private readonly pins: KvPins;
  /** When the PCIe link is free again: host loads queue on it one after another. */
  private hostLinkFreeMs = 0;
  readonly totalBlocks: number;
  preemptionsTotal = 0;
  /** KV tokens preempted requests had computed, and what their readmissions computed again. */
  preemptedTokensTotal = 0;
  recomputedTokensTotal = 0;
  promptTokensTotal = 0;
  /** Prompt tokens not recomputed: GPU prefix-cache hits plus host-tier loads. */
  cachedTokensTotal = 0;
  /** The part of cachedTokensTotal loaded from the host tier. */
  hostTokensTotal = 0;
  /** The part of cachedTokensTotal a session found in blocks its retention pins had kept. */
  retainedTokensTotal = 0;
  generatedTokensTotal = 0;
  /** Time spent stepping, and the part of it the prefill chunks added (over decode alone). */
  busyMsTotal = 0;
  prefillMsTotal = 0;

  constructor(
    readonly profile: ReplicaProfile,
    readonly policy: 'fcfs' | 'priority',
    options: EngineOptions = {},
  ) {
    this.totalBlocks = Math.floor(profile.kvCapacityTokens / profile.blockSize);
    const hostBlocks = Math.floor((options.hostKvCapacityTokens ?? 0) / profile.blockSize);
    this.host = hostBlocks > 0 ? new HostKvTier(hostBlocks) : null;
    // A pin holds at least one block, and the pins' references stay within a small multiple of
    // the blocks (shared system prompts are referenced by many pins); beyond, the earliest
    // expiring pins are released.
    this.pins = new KvPins(this.totalBlocks, 4 * this.totalBlocks);
  }

  get numRunning(): number {
    return this.running.length;
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  /** Share of KV blocks in use, pinned ones included (what vllm:kv_cache_usage_perc reports). */
  get kvUsage(): number {
    return this.inUse / this.totalBlocks;
  }

  /** Blocks held by retention pins (blocks shared by several pins count once per pin). */
  get pinnedRefs(): number {
    return this.pins.heldRefs;
  }

  /** Blocks in the host tier. */
  get hostBlocks(): number {
    return this.host?.size ?? 0;
  }

  /** Releases the retention pins whose TTL has passed at `nowMs`. */
  expire(nowMs: number): void {
    for (const pin of this.pins.expire(nowMs)) this.unpin(pin.hashes);
  }

  /** Tokens generated so far for a running request (for streaming), or null. */
  generatedFor(id: string): number | null {
    return this.running.find((r) => r.req.id === id)?.generated ?? null;
  }

  /** Leading blocks of `blocks` this replica holds (in use or cached free); for the oracle. */
  cachedPrefixBlocks(blocks: readonly number[]): number {
    return this.cachedPrefix(blocks);
  }

  /** Output tokens the running and waiting requests have still to decode; for the oracle. */
  get remainingDecodeTokens(): number {
    let n = 0;
    for (const r of this.running) n += r.req.outputTokens - r.generated;
    for (const r of this.waiting) n += r.req.outputTokens - r.generated;
    return n;
  }

  get idle(): boolean {
    return this.running.length === 0 && this.waiting.length === 0;
  }

  submit(req: SimRequest): void {
    this.enqueue({
      req,
      prefillTarget: req.promptTokens,
      prefilled: 0,
      generated: 0,
      sharedBlocks: [],
      privateBlocks: 0,
      cachedTokens: 0,
      firstTokenMs: -1,
      preemptions: 0,
      admittedSeq: 0,
      loadReadyMs: 0,
    });
  }

  private enqueue(r: Running, front = false): void {
    if (front) this.waiting.unshift(r);
    else this.waiting.push(r);
    if (this.policy === 'priority') {
      this.waiting.sort((a, b) => a.req.priority - b.req.priority || a.req.arrivalMs - b.req.arrivalMs);
    }
  }

  private free(): number {
    return this.totalBlocks - this.inUse;
  }

  /** Takes `n` empty blocks, evicting cached free ones (LRU) if needed. */
  private allocate(n: number): boolean {
    if (n > this.free()) return false;
    const empty = this.totalBlocks - this.inUse - this.cachedFree.size;
    let evict = n - Math.max(0, empty);
    for (const h of this.cachedFree.keys()) {
      if (evict <= 0) break;
      this.cachedFree.delete(h);
      this.host?.store(h);
      evict--;
    }
    this.inUse += n;
    return true;
  }

  private cachedPrefix(blocks: readonly number[]): number {
    let k = 0;
    while (
      k < blocks.length &&
      (this.active.has(blocks[k] as number) || this.cachedFree.has(blocks[k] as number))
    )
      k++;
    return k;
  }

  private admit(r: Running, nowMs: number): boolean {
    const bs = this.profile.blockSize;
    const key = r.req.retention?.key;
    // After a preemption the prompt and the tokens generated so far are recomputed: their
    // full blocks may still be cached.
    const blocks =
      r.preemptions === 0 ? r.req.promptBlocks : r.req.fullBlocks.slice(0, Math.floor(r.prefillTarget / bs));
    const reuse = this.cachedPrefix(blocks);
    const needed = Math.ceil((r.prefillTarget + 1) / bs) - reuse;
    // Shared blocks: take references (free cached ones come back into use). Pinned blocks are
    // used KV: a request that does not fit beside them waits, as it would beside running ones
    // (Continuum weighs exactly this memory cost when it sets a TTL), except on an otherwise
    // idle replica, which releases pins (earliest expiry first) rather than sit idle. The
    // session's own pins count as space: admitting it releases what its prompt does not reuse.
    const fromFreeCount = () => {
      let n = 0;
      for (let i = 0; i < reuse; i++) if (this.cachedFree.has(blocks[i] as number)) n++;
      return n;
    };
    const releasable = () => (key === undefined ? 0 : this.releasableBy(this.pins.peek(key), blocks, reuse));
    while (needed + fromFreeCount() > this.free() + releasable()) {
      if (this.running.length > 0 || !this.unpinEarliest()) return false;
    }
    // It fits: the session's retained blocks become ordinary cached blocks, and the prefix
    // match above keeps the ones this prompt reuses.
    if (key !== undefined) {
      const pins = this.pins.claim(key);
      if (pins.length > 0) this.retainedTokensTotal += bs * retainedReused(pins, blocks, reuse);
      for (const pin of pins) this.unpin(pin.hashes);
    }
    for (let i = 0; i < reuse; i++) {
      const h = blocks[i] as number;
      if (this.cachedFree.delete(h)) {
        this.inUse++;
        this.active.set(h, 1);
      } else this.active.set(h, (this.active.get(h) ?? 0) + 1);
    }
    if (!this.allocate(needed)) throw new Error('allocation raced');
    r.sharedBlocks = blocks.slice(0, reuse) as number[];
    r.privateBlocks = needed;
    // When every prompt token hits, vLLM still computes the last one (it yields the first
    // output token): a hit covers at most all but one token.
    const gpuCached = Math.min(reuse * bs, r.prefillTarget - 1);
    // Blocks that continue the prefix in the host tier are loaded into the new blocks. The
    // copy runs on the GPU's copy engines, beside the compute of other requests (vLLM's
    // offloading connector loads asynchronously and schedules the request once its KV has
    // arrived); loads share the one PCIe link, so they queue behind each other.
    const hostRun = this.host ? this.host.takeRun(blocks, reuse) : 0;
    r.cachedTokens = Math.min((reuse + hostRun) * bs, r.prefillTarget - 1);
    const loaded = r.cachedTokens - gpuCached;
    r.loadReadyMs = 0;
    if (loaded > 0) {
      r.loadReadyMs = Math.max(nowMs, this.hostLinkFreeMs) + loaded * this.profile.hostLoadMsPerToken;
      this.hostLinkFreeMs = r.loadReadyMs;
    }
    r.prefilled = r.cachedTokens;
    if (r.preemptions > 0) this.recomputedTokensTotal += r.prefillTarget - r.cachedTokens;
    r.admittedSeq = ++this.seq;
    if (r.preemptions === 0) {
      this.promptTokensTotal += r.req.promptTokens;
      this.cachedTokensTotal += Math.min(r.cachedTokens, r.req.promptTokens);
      this.hostTokensTotal +=
        Math.min(r.cachedTokens, r.req.promptTokens) - Math.min(gpuCached, r.req.promptTokens);
    }
    return true;
  }

  /** Drops one reference; an unreferenced block stays cached on the LRU free list. */
  private unref(h: number): void {
    const refs = (this.active.get(h) ?? 1) - 1;
    if (refs > 0) this.active.set(h, refs);
    else {
      this.active.delete(h);
      this.inUse--;
      this.cachedFree.set(h, true);
    }
  }

  /** Tail blocks first, as vLLM frees a request's blocks, so a prefix is evicted last. */
  private unpin(hashes: readonly number[]): void {
    for (let i = hashes.length - 1; i >= 0; i--) this.unref(hashes[i] as number);
  }

  /** Blocks that only `pins` hold and the first `reuse` prompt blocks do not: freed by a claim. */
  private releasableBy(pins: readonly Pin[], promptBlocks: readonly number[], reuse: number): number {
    if (pins.length === 0) return 0;
    const refs = new Map<number, number>();
    for (const pin of pins) for (const h of pin.hashes) refs.set(h, (refs.get(h) ?? 0) + 1);
    const reused = new Set(promptBlocks.slice(0, reuse));
    let n = 0;
    for (const [h, count] of refs) if (this.active.get(h) === count && !reused.has(h)) n++;
    return n;
  }

  private unpinEarliest(): boolean {
    const pin = this.pins.popEarliest();
    if (!pin) return false;
    this.unpin(pin.hashes);
    return true;
  }

  /**
   * A finished request with a retention hint: the pin keeps its references on the shared
   * prefix and takes one on each full block of its own (prompt and output), so they stay in
   * use; the partly filled last block is freed as usual.
   */
  private retain(r: Running, hint: RetentionHint, nowMs: number): void {
    const hashes: number[] = [...r.sharedBlocks];
    this.inUse -= r.privateBlocks;
    const own = r.req.fullBlocks.slice(r.sharedBlocks.length, r.sharedBlocks.length + r.privateBlocks);
    for (const h of own) {
      const refs = this.active.get(h);
      if (refs !== undefined) this.active.set(h, refs + 1);
      else {
        this.cachedFree.delete(h);
        this.active.set(h, 1);
        this.inUse++;
      }
      hashes.push(h);
    }
    r.sharedBlocks = [];
    r.privateBlocks = 0;
    if (hashes.length === 0) return;
    for (const dropped of this.pins.add(hint.key, hashes, nowMs + hint.ttlMs)) this.unpin(dropped.hashes);
  }

  /**
   * Frees a request's blocks as vLLM does: in reverse order (its tail first), so that on the
   * LRU free list a prefix is evicted after what follows it. The full blocks it computed keep
   * their content (they stay cached for the session's next turn, or for its own recompute
   * after a preemption); `computedTokens` bounds them.
   */
  private release(r: Running, computedTokens: number): void {
    const bs = this.profile.blockSize;
    const shared = r.sharedBlocks.length;
    const ownFull = Math.max(0, Math.min(r.privateBlocks, Math.floor(computedTokens / bs) - shared));
    const own = r.req.fullBlocks.slice(shared, shared + ownFull);
    this.inUse -= r.privateBlocks;
    for (let i = own.length - 1; i >= 0; i--) {
      const h = own[i] as number;
      if (this.active.has(h) || this.cachedFree.has(h)) continue;
      if (this.totalBlocks - this.inUse - this.cachedFree.size <= 0) break;
      this.cachedFree.set(h, true);
    }
    for (let i = shared - 1; i >= 0; i--) this.unref(r.sharedBlocks[i] as number);
    r.sharedBlocks = [];
    r.privateBlocks = 0;
  }

  /** Tokens whose KV a request has computed: its prefill so far, then every token but the last. */
  private static computedTokens(r: Running): number {
    return r.prefilled < r.prefillTarget ? r.prefilled : r.prefillTarget + Math.max(0, r.generated - 1);
  }

  private preemptOne(except: Running): boolean {
    // Victim: lowest priority (largest value) under the priority policy, else the most
    // recently admitted.
    let victim: Running | undefined;
    for (const r of this.running) {
      if (r === except) continue;
      if (
        !victim ||
        (this.policy === 'priority'
          ? r.req.priority > victim.req.priority ||
            (r.req.priority === victim.req.priority && r.admittedSeq > victim.admittedSeq)
          : r.admittedSeq > victim.admittedSeq)
      ) {
        victim = r;
      }
    }
    if (!victim) return false;
    this.running.splice(this.running.indexOf(victim), 1);
    // vLLM V1 frees a preempted request's blocks into the prefix cache: what it computed can
    // be hit again when it is readmitted (recompute only what was evicted meanwhile).
    this.release(victim, ReplicaEngine.computedTokens(victim));
    victim.preemptions++;
    this.preemptionsTotal++;
    this.preemptedTokensTotal += ReplicaEngine.computedTokens(victim);
    victim.prefillTarget = victim.req.promptTokens + victim.generated;
    victim.prefilled = 0;
    this.enqueue(victim, this.policy !== 'priority');
    return true;
  }

  /** Runs one step starting at `nowMs`; null when there is nothing to do. */
  step(nowMs: number): StepOutcome | null {
    this.expire(nowMs);
    // Admit waiting requests while the head fits.
    while (this.waiting.length > 0 && this.running.length < this.profile.maxNumSeqs) {
      const head = this.waiting[0] as Running;
      if (!this.admit(head, nowMs)) break;
      this.waiting.shift();
      this.running.push(head);
    }
    if (this.running.length === 0) return null;
    const loaded = (r: Running) => r.loadReadyMs <= nowMs;
    const decoding = this.running.filter((r) => loaded(r) && r.prefilled >= r.prefillTarget);
    let budget = this.profile.maxNumBatchedTokens - decoding.length;
    const chunks: Array<{ r: Running; newTokens: number; cachedTokens: number }> = [];
    for (const r of this.running) {
      if (budget <= 0) break;
      if (r.prefilled >= r.prefillTarget || !loaded(r)) continue;
      const n = Math.min(budget, r.prefillTarget - r.prefilled);
      chunks.push({ r, newTokens: n, cachedTokens: r.prefilled });
      budget -= n;
    }
    if (decoding.length === 0 && chunks.length === 0) {
      // Every running request waits for host-tier KV: nothing runs until the first load is
      // done. Wait at most one minimal step, as the real scheduler loop polls, so a request
      // arriving meanwhile is not held up longer than a step.
      let next = Number.POSITIVE_INFINITY;
      for (const r of this.running) next = Math.min(next, r.loadReadyMs);
      return {
        durationMs: Math.min(next - nowMs, this.profile.linearFloorMs),
        firstTokens: [],
        finished: [],
      };
    }
    let decodeContext = 0;
    for (const r of decoding) decodeContext += r.prefillTarget + r.generated;
    const duration = stepTimeMs(this.profile, {
      tokens: decoding.length + chunks.reduce((a, c) => a + c.newTokens, 0),
      running: this.running.length,
      decodeContextTokens: decodeContext,
      prefillChunks: chunks.map((c) => ({ newTokens: c.newTokens, cachedTokens: c.cachedTokens })),
    });
    this.busyMsTotal += duration;
    if (chunks.length > 0) {
      // What the chunks cost on top of the decode batch alone (all of it without one).
      const decodeOnly =
        decoding.length === 0
          ? 0
          : stepTimeMs(this.profile, {
              tokens: decoding.length,
              running: this.running.length,
              decodeContextTokens: decodeContext,
              prefillChunks: [],
            });
      this.prefillMsTotal += duration - decodeOnly;
    }
    const end = nowMs + duration;
    const firstTokens: Array<{ id: string }> = [];
    const finished: RequestResult[] = [];
    for (const c of chunks) {
      c.r.prefilled += c.newTokens;
      if (c.r.prefilled >= c.r.prefillTarget) {
        // The last prefill chunk yields a token (the first one, unless recomputing).
        c.r.generated++;
        this.generatedTokensTotal++;
        if (c.r.firstTokenMs < 0) {
          c.r.firstTokenMs = end;
          firstTokens.push({ id: c.r.req.id });
        }
      }
    }
    const bs = this.profile.blockSize;
    for (const r of decoding) {
      r.generated++;
      this.generatedTokensTotal++;
      // A new block every block-size tokens of context; preempt others when none is left.
      if ((r.prefillTarget + r.generated) % bs === 1 && r.generated > 1) {
        // Running work comes before retained KV: pins are released (earliest expiry first, as
        // Continuum unpins under memory pressure) before anything is preempted.
        while (!this.allocate(1)) {
          if (!this.unpinEarliest() && !this.preemptOne(r)) break;
        }
        r.privateBlocks++;
      }
    }
    for (let i = this.running.length - 1; i >= 0; i--) {
      const r = this.running[i] as Running;
      if (r.prefilled >= r.prefillTarget && r.generated >= r.req.outputTokens) {
        this.running.splice(i, 1);
        const hint = r.req.retention;
        if (hint && hint.ttlMs > 0) this.retain(r, hint, end);
        else this.release(r, r.prefillTarget + r.generated);
        finished.push({
          id: r.req.id,
          firstTokenMs: r.firstTokenMs,
          endMs: end,
          cachedTokens: r.cachedTokens,
          preemptions: r.preemptions,
        });
      }
    }
    return { durationMs: duration, firstTokens, finished };
  }
}

/** How many of the first `reuse` prompt blocks the session's claimed pins held. */
function retainedReused(
  pins: readonly { readonly hashes: readonly number[] }[],
  blocks: readonly number[],
  reuse: number,
): number {
  const pinned = new Set<number>();
  for (const pin of pins) for (const h of pin.hashes) pinned.add(h);
  let n = 0;
  for (let i = 0; i < reuse; i++) if (pinned.has(blocks[i] as number)) n++;
  return n;
}
