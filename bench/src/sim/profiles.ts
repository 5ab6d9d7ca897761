// Replica profiles for the simulator. Every constant is a named field with its source
// (../shared/simulator-model.md): Vidur's H100 operator profiles, BLIS/inference-sim's vLLM
// model, datasheet and memory-bandwidth arithmetic. Unit tests assert the calibration points.

export interface ReplicaProfile {
  readonly name: string;
  /** KV capacity in tokens (blocks x block size). */
  readonly kvCapacityTokens: number;
  readonly blockSize: number;
  /** vLLM max_num_batched_tokens: the per-step token budget. */
  readonly maxNumBatchedTokens: number;
  /** vLLM max_num_seqs: running requests at most. */
  readonly maxNumSeqs: number;
  /**
   * Linear layers at small batches: every step reads all weights once (memory-bound), so the
   * step is flat until the batch's FLOPs catch up.
   */
  readonly linearFloorMs: number;
  /** Linear layers per token beyond the floor (compute-bound: 2 x parameters FLOPs per token). */
  readonly linearPerTokenMs: number;
  /** Scheduler and sampler overhead per step and per running request (host CPU). */
  readonly overheadMs: number;
  readonly overheadPerRequestMs: number;
  /** KV reads of decoding requests, per context token (memory-bound). */
  readonly kvReadPerContextTokenMs: number;
  /** Prefill attention, per new x (cached + new/2) token pair of a chunk (compute-bound). */
  readonly prefillAttentionCoef: number;
  /**
   * Loading one token's KV from host memory over PCIe (KV bytes per token / effective
   * host-to-device bandwidth); only used when the engine has a host KV tier.
   */
  readonly hostLoadMsPerToken: number;
  /** Replica start (model load) in seconds. */
  readonly modelLoadS: number;
}

/**
 * Llama-3.1-8B, BF16, one H100 80GB (SXM). KV per token: 2 (K, V) x 32 layers x 8 KV heads
 * x 128 dims x 2 bytes = 128 KiB.
 */
export const H100_LLAMA_8B: ReplicaProfile = {
  name: 'h100-llama-8b',
  kvCapacityTokens: 450_000,
  blockSize: 16,
  maxNumBatchedTokens: 8192,
  maxNumSeqs: 256,
  // Vidur's H100 profiles: flat ~5.6 ms to ~128 tokens, ~20 us/token beyond 1k, x1.2 for Llama-3-8B.
  linearFloorMs: 6.8,
  linearPerTokenMs: 0.026,
  overheadMs: 1.0,
  overheadPerRequestMs: 0.004,
  // 128 KiB per token at ~2.35 TB/s effective.
  kvReadPerContextTokenMs: 5.6e-5,
  prefillAttentionCoef: 1.1e-6,
  // 131,072 B per token over PCIe Gen5 x16 at 55.6 GB/s (nvbandwidth host_to_device_memcpy_ce
  // on an H100, pinned memory; 64 GB/s theoretical): 2.36 us per token.
  hostLoadMsPerToken: 131_072 / 55.6e9 / 1e-3,
  modelLoadS: 60,
};

/**
 * The 14B-on-A100 profile, derived from the 8B/H100 one term by term: memory-bound terms scale
 * with bytes read over HBM bandwidth, compute-bound terms with FLOPs over tensor throughput
 * (assuming both GPUs reach the same share of their datasheet figures). Host-side overheads
 * do not change. One factor for everything (the earlier 1.8x) made prefill ~3x too cheap.
 */
const A100_OVER_H100 = {
  /** HBM: H100 SXM 3.35 TB/s, A100 80GB SXM 2.039 TB/s (NVIDIA datasheets). */
  bandwidth: 3.35 / 2.039,
  /** Dense BF16 tensor: H100 SXM 989 TFLOPS, A100 312 TFLOPS (NVIDIA datasheets). */
  compute: 989 / 312,
};
const QWEN3_14B_OVER_LLAMA_8B = {
  /** Weights read per decode step, BF16: 14.8B vs 8.03B parameters (model cards). */
  weights: 14.8 / 8.03,
  /** Linear FLOPs per token: 13.2B vs 6.98B non-embedding parameters. */
  linearFlops: 13.2 / 6.98,
  /** KV bytes per token: 40 layers x 8 KV heads x 128 dims (160 KiB) vs 32 x 8 x 128 (128 KiB). */
  kvBytes: (40 * 8 * 128) / (32 * 8 * 128),
  /** Attention FLOPs per token pair: 40 layers x 40 query heads x 128 vs 32 x 32 x 128. */
  attentionFlops: (40 * 40 * 128) / (32 * 32 * 128),
};

/**
 * Qwen3-14B (40 layers, 40 query / 8 KV heads of 128, 14.8B parameters), BF16, one A100 80GB.
 * KV capacity: 80 GB x 0.9 (gpu_memory_utilization) - 29.6 GB of weights - ~4 GB of
 * activations and CUDA graphs = ~38 GB, at 160 KiB per token = ~230,000 tokens.
 */
export const A100_QWEN_14B: ReplicaProfile = {
  ...H100_LLAMA_8B,
  name: 'a100-qwen-14b',
  kvCapacityTokens: 230_000,
  // 6.8 ms x 1.84 x 1.64 = 20.6 ms: 29.6 GB of weights over 2.039 TB/s at the 8B profile's
  // achieved share (4.8 ms ideal for 16 GB over 3.35 TB/s, 6.8 ms modelled).
  linearFloorMs: H100_LLAMA_8B.linearFloorMs * QWEN3_14B_OVER_LLAMA_8B.weights * A100_OVER_H100.bandwidth,
  // 0.026 ms x 1.89 x 3.17 = 0.156 ms per token.
  linearPerTokenMs:
    H100_LLAMA_8B.linearPerTokenMs * QWEN3_14B_OVER_LLAMA_8B.linearFlops * A100_OVER_H100.compute,
  // 5.6e-5 ms x 1.25 x 1.64 = 1.15e-4 ms per context token.
  kvReadPerContextTokenMs:
    H100_LLAMA_8B.kvReadPerContextTokenMs * QWEN3_14B_OVER_LLAMA_8B.kvBytes * A100_OVER_H100.bandwidth,
  // 1.1e-6 x 1.56 x 3.17 = 5.45e-6.
  prefillAttentionCoef:
    H100_LLAMA_8B.prefillAttentionCoef * QWEN3_14B_OVER_LLAMA_8B.attentionFlops * A100_OVER_H100.compute,
  // 163,840 B per token over PCIe Gen4 x16 (31.5 GB/s theoretical) at the share the H100
  // measurement reaches of Gen5 (55.6 / 64 = 0.87): 27.4 GB/s, 5.98 us per token.
  hostLoadMsPerToken: 163_840 / ((31.5e9 * 55.6) / 64) / 1e-3,
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
  return (
    Math.max(p.linearFloorMs, p.linearPerTokenMs * s.tokens) +
    p.overheadMs +
    p.overheadPerRequestMs * s.running +
    p.kvReadPerContextTokenMs * s.decodeContextTokens +
    p.prefillAttentionCoef * attention
  );
}

/** Decode batch the gateway's relative `speed` is measured at: 64 requests of 1k context. */
const SPEED_REFERENCE: StepShape = {
  tokens: 64,
  running: 64,
  decodeContextTokens: 64_000,
  prefillChunks: [],
};

/** Decode speed relative to one H100 running the 8B model (the gateway pools' `speed`). */
export function relativeDecodeSpeed(p: ReplicaProfile): number {
  return stepTimeMs(H100_LLAMA_8B, SPEED_REFERENCE) / stepTimeMs(p, SPEED_REFERENCE);
}
