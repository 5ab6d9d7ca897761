// Counts output tokens from a response body as it streams past, without holding it back.
// SSE streams (`data: {...}` lines) end with a usage chunk when the client asked for
// stream_options.include_usage (vLLM and most servers honour it); without one we estimate
// from the generated text (about 4 characters per token). A non-streaming JSON response
// carries `usage` in its body, which is scanned up to a byte bound.
import type { UsageReport } from '../routing/completed-request.js';

interface UsageFields {
  completion_tokens?: unknown;
  prompt_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
}

const CHARS_PER_TOKEN = 4;
const MAX_CARRY = 64 * 1024;

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
}

export class ResponseUsageCounter {
  private carry = '';
  private generatedChars = 0;
  private usage: UsageFields | null = null;
  private readonly scanned: Buffer[] = [];
  private scannedBytes = 0;
  private sawSse = false;
  private captured = '';

  constructor(
    private readonly maxScanBytes: number,
    private readonly maxCaptureChars = 0,
  ) {}

  private capture(text: string): void {
    if (this.captured.length < this.maxCaptureChars)
      this.captured += text.slice(0, this.maxCaptureChars - this.captured.length);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.scannedBytes < this.maxScanBytes) {
      this.scanned.push(chunk);
      this.scannedBytes += chunk.length;
    }
    const text = this.carry + chunk.toString('utf8');
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    // A line split across chunks waits for its end; the carry is bounded so a body with
    // no newlines (plain JSON) cannot grow it without limit.
    this.carry = text.length - start > MAX_CARRY ? '' : text.slice(start);
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith('data:')) return;
    this.sawSse = true;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') return;
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof event !== 'object' || event === null) return;
    const e = event as { usage?: UsageFields | null; choices?: unknown };
    if (e.usage && typeof e.usage === 'object') this.usage = e.usage;
    if (Array.isArray(e.choices)) {
      for (const choice of e.choices) {
        if (typeof choice !== 'object' || choice === null) continue;
        const c = choice as { delta?: { content?: unknown; reasoning_content?: unknown }; text?: unknown };
        if (typeof c.delta?.content === 'string') {
          this.generatedChars += c.delta.content.length;
          this.capture(c.delta.content);
        }
        if (typeof c.delta?.reasoning_content === 'string') {
          this.generatedChars += c.delta.reasoning_content.length;
        }
        if (typeof c.text === 'string') {
          this.generatedChars += c.text.length;
          this.capture(c.text);
        }
      }
    }
  }

  /** Call once the body is complete. */
  finish(): UsageReport {
    if (this.carry) this.line(this.carry);
    this.carry = '';
    if (!this.sawSse && this.scannedBytes > 0 && this.scannedBytes <= this.maxScanBytes) {
      this.readJsonBody(Buffer.concat(this.scanned));
    }
    this.scanned.length = 0;
    const completion = num(this.usage?.completion_tokens);
    return {
      outputTokens: completion ?? Math.ceil(this.generatedChars / CHARS_PER_TOKEN),
      reported: completion !== null,
      promptTokens: num(this.usage?.prompt_tokens),
      cachedTokens: num(this.usage?.prompt_tokens_details?.cached_tokens),
      outputText: this.captured,
    };
  }

  private readJsonBody(body: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const p = parsed as { usage?: UsageFields | null; choices?: unknown };
    if (p.usage && typeof p.usage === 'object') this.usage = p.usage;
    if (Array.isArray(p.choices)) {
      for (const choice of p.choices) {
        if (typeof choice !== 'object' || choice === null) continue;
        const c = choice as { message?: { content?: unknown }; text?: unknown };
        if (typeof c.message?.content === 'string') {
          this.generatedChars += c.message.content.length;
          this.capture(c.message.content);
        }
        if (typeof c.text === 'string') {
          this.generatedChars += c.text.length;
          this.capture(c.text);
        }
      }
    }
  }
}

/** Largest count carried in a trace (its wire fields are 32-bit: nothing may wrap). */
const MAX_COUNT = 0x7fffffff;

/**
 * Usage as far as it can be believed: output tokens at most the request's max_tokens and
 * the pool's limit (a forged or broken usage block cannot teach the profiler impossible
 * lengths), every count below the trace's 32-bit bound, cached tokens at most the prompt.
 */
export function clampUsage(
  usage: UsageReport,
  maxTokens: number | null,
  poolLimit: number | null,
): UsageReport {
  const outputCap = Math.min(maxTokens ?? MAX_COUNT, poolLimit ?? MAX_COUNT, MAX_COUNT);
  const prompt = usage.promptTokens === null ? null : Math.min(usage.promptTokens, MAX_COUNT);
  const cachedCap = prompt ?? MAX_COUNT;
  return {
    ...usage,
    outputTokens: Math.min(usage.outputTokens, outputCap),
    promptTokens: prompt,
    cachedTokens: usage.cachedTokens === null ? null : Math.min(usage.cachedTokens, cachedCap),
  };
}
