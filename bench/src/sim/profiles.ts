// Replica profiles for the simulator. Every constant is a named field with its source
// (../shared/simulator-model.md): Vidur's H100 operator profiles, BLIS/inference-sim's vLLM
// model, and memory-bandwidth arithmetic. Unit tests assert the calibration points.

export interface ReplicaProfile {
  readonly name: string;
  /** KV capacity in tokens (blocks x block size). */
  readonly kvCapacityTokens: number;
  readonly blockSize: number;
  /** vLLM max_num_batched_tokens: the per-step token budget. */
  readonly maxNumBatchedTokens: number;
  /** vLLM max_num_seqs: running requests at most. */
  readonly maxNumSeqs: number;
  /** Linear layers: flat below ~260 tokens, then per token (Vidur H100, x1.2 for Llama-3-8B). */
  readonly linearFloorMs: number;
  readonly linearPerTokenMs: number;
  /** Scheduler and sampler overhead per step and per running request. */
  readonly overheadMs: number;
  readonly overheadPerRequestMs: number;
  /** KV reads: 128 KiB per token at ~2.35 TB/s effective. */
  readonly kvReadPerContextTokenMs: number;
  /** Prefill attention: new x (cached + new/2) per chunk. */
  readonly prefillAttentionCoef: number;
  /** Multiplier on the step time (a larger model or slower GPU). */
  readonly slowdown: number;
  /** Replica start (model load) in seconds. */
  readonly modelLoadS: number;
}

/** Llama-3.1-8B, BF16, one H100 80GB. */
export const H100_LLAMA_8B: ReplicaProfile = {
  name: 'h100-llama-8b',
  kvCapacityTokens: 450_000,
  blockSize: 16,
  maxNumBatchedTokens: 8192,
  maxNumSeqs: 256,
  linearFloorMs: 6.8,
  linearPerTokenMs: 0.026,
  overheadMs: 1.0,
  overheadPerRequestMs: 0.004,
  kvReadPerContextTokenMs: 5.6e-5,
  prefillAttentionCoef: 1.1e-6,
  slowdown: 1,
  modelLoadS: 60,
};

/** A 14B model on an A100 80GB: about half the KV budget, steps about 1.8x slower. */
export const A100_QWEN_14B: ReplicaProfile = {
  ...H100_LLAMA_8B,
  name: 'a100-qwen-14b',
  kvCapacityTokens: 230_000,
  slowdown: 1.8,
};

export interface StepShape {
  /** Tokens processed this step (decode tokens plus prefill chunk tokens). */
  readonly tokens: number;
  readonly running: number;
  /** Sum of the context lengths of the decoding requests. */
  readonly decodeContextTokens: number;
  /** Per prefill chunk: new tokens and tokens already in the KV cache before it. */
  readonly prefillChunks: ReadonlyArray<{ readonly newTokens: number; readonly cachedTokens: number }>;
}

/** T_step of the simulator model, in milliseconds. */
export function stepTimeMs(p: ReplicaProfile, s: StepShape): number {
  let attention = 0;
  for (const c of s.prefillChunks) attention += c.newTokens * (c.cachedTokens + c.newTokens / 2);
  const t =
    Math.max(p.linearFloorMs, p.linearPerTokenMs * s.tokens) +
    p.overheadMs +
    p.overheadPerRequestMs * s.running +
    p.kvReadPerContextTokenMs * s.decodeContextTokens +
    p.prefillAttentionCoef * attention;
  return t * p.slowdown;
}
