// One simulated vLLM replica (V1 semantics, ../shared/simulator-model.md), driven step by
// step in virtual time: continuous batching, chunked prefill within the step budget, FCFS or
// priority admission, a prefix cache of chained 16-token block hashes with an LRU free list,
// and preemption with recompute when the KV budget runs out. Deterministic.
import { type ReplicaProfile, stepTimeMs } from './profiles.js';

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
  readonly totalBlocks: number;
  preemptionsTotal = 0;
  promptTokensTotal = 0;
  cachedTokensTotal = 0;
  generatedTokensTotal = 0;

  constructor(
    readonly profile: ReplicaProfile,
    readonly policy: 'fcfs' | 'priority',
  ) {
    this.totalBlocks = Math.floor(profile.kvCapacityTokens / profile.blockSize);
  }

  get numRunning(): number {
    return this.running.length;
  }

  get numWaiting(): number {
    return this.waiting.length;
  }

  /** Share of KV blocks in use (what vllm:kv_cache_usage_perc reports). */
  get kvUsage(): number {
    return this.inUse / this.totalBlocks;
  }

  /** Tokens generated so far for a running request (for streaming), or null. */
  generatedFor(id: string): number | null {
    return this.running.find((r) => r.req.id === id)?.generated ?? null;
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

  private admit(r: Running): boolean {
    const bs = this.profile.blockSize;
    const reuse = this.cachedPrefix(r.req.promptBlocks);
    const needed = Math.ceil((r.prefillTarget + 1) / bs) - reuse;
    // Shared blocks: take references (free cached ones come back into use).
    let fromFree = 0;
    for (let i = 0; i < reuse; i++) if (this.cachedFree.has(r.req.promptBlocks[i] as number)) fromFree++;
    if (needed + fromFree > this.free()) return false;
    for (let i = 0; i < reuse; i++) {
      const h = r.req.promptBlocks[i] as number;
      if (this.cachedFree.delete(h)) {
        this.inUse++;
        this.active.set(h, 1);
      } else this.active.set(h, (this.active.get(h) ?? 0) + 1);
    }
    if (!this.allocate(needed)) throw new Error('allocation raced');
    r.sharedBlocks = r.req.promptBlocks.slice(0, reuse) as number[];
    r.privateBlocks = needed;
    r.cachedTokens = Math.min(reuse * bs, r.prefillTarget);
    r.prefilled = r.cachedTokens;
    r.admittedSeq = ++this.seq;
    if (r.preemptions === 0) {
      this.promptTokensTotal += r.req.promptTokens;
      this.cachedTokensTotal += Math.min(r.cachedTokens, r.req.promptTokens);
    }
    return true;
  }

  private release(r: Running, keepContent: boolean): void {
    for (const h of r.sharedBlocks) {
      const refs = (this.active.get(h) ?? 1) - 1;
      if (refs > 0) this.active.set(h, refs);
      else {
        this.active.delete(h);
        this.inUse--;
        this.cachedFree.set(h, true);
      }
    }
    this.inUse -= r.privateBlocks;
    if (keepContent) {
      // The prompt's and output's full blocks stay cached for the session's next turn.
      const own = r.req.fullBlocks.slice(r.sharedBlocks.length, r.sharedBlocks.length + r.privateBlocks);
      for (const h of own) {
        if (this.active.has(h) || this.cachedFree.has(h)) continue;
        if (this.totalBlocks - this.inUse - this.cachedFree.size <= 0) break;
        this.cachedFree.set(h, true);
      }
    }
    r.sharedBlocks = [];
    r.privateBlocks = 0;
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
    this.release(victim, false);
    victim.preemptions++;
    this.preemptionsTotal++;
    victim.prefillTarget = victim.req.promptTokens + victim.generated;
    victim.prefilled = 0;
    this.enqueue(victim, this.policy !== 'priority');
    return true;
  }

  /** Runs one step starting at `nowMs`; null when there is nothing to do. */
  step(nowMs: number): StepOutcome | null {
    // Admit waiting requests while the head fits.
    while (this.waiting.length > 0 && this.running.length < this.profile.maxNumSeqs) {
      const head = this.waiting[0] as Running;
      if (!this.admit(head)) break;
      this.waiting.shift();
      this.running.push(head);
    }
    if (this.running.length === 0) return null;
    const decoding = this.running.filter((r) => r.prefilled >= r.prefillTarget);
    let budget = this.profile.maxNumBatchedTokens - decoding.length;
    const chunks: Array<{ r: Running; newTokens: number; cachedTokens: number }> = [];
    for (const r of this.running) {
      if (budget <= 0) break;
      if (r.prefilled >= r.prefillTarget) continue;
      const n = Math.min(budget, r.prefillTarget - r.prefilled);
      chunks.push({ r, newTokens: n, cachedTokens: r.prefilled });
      budget -= n;
    }
    let decodeContext = 0;
    for (const r of decoding) decodeContext += r.prefillTarget + r.generated;
    const duration = stepTimeMs(this.profile, {
      tokens: decoding.length + chunks.reduce((a, c) => a + c.newTokens, 0),
      running: this.running.length,
      decodeContextTokens: decodeContext,
      prefillChunks: chunks.map((c) => ({ newTokens: c.newTokens, cachedTokens: c.cachedTokens })),
    });
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
        while (!this.allocate(1)) {
          if (!this.preemptOne(r)) break;
        }
        r.privateBlocks++;
      }
    }
    for (let i = this.running.length - 1; i >= 0; i--) {
      const r = this.running[i] as Running;
      if (r.prefilled >= r.prefillTarget && r.generated >= r.req.outputTokens) {
        this.running.splice(i, 1);
        this.release(r, true);
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
