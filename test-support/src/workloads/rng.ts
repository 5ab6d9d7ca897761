// Seeded randomness for workloads and the simulator: runs are reproducible for a seed.

/** mulberry32: small, fast, good enough for simulation. Returns uniform [0,1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function intBetween(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** Log-normal with the given median and sigma (of the underlying normal), clamped. */
export function logNormal(
  random: () => number,
  median: number,
  sigma: number,
  min: number,
  max: number,
): number {
  const u1 = Math.max(random(), 1e-12);
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.round(Math.min(max, Math.max(min, median * Math.exp(sigma * z))));
}

export function exponential(random: () => number, mean: number): number {
  return -mean * Math.log(1 - random());
}
