// The simulated replica in real time behind an OpenAI-compatible HTTP server:
// /v1/chat/completions and /v1/completions (SSE streaming, with a final usage chunk including
// prompt_tokens_details.cached_tokens when stream_options.include_usage asks for it, or one
// JSON answer; objects shaped as in openai-shapes.ts), /v1/models and /v1/models/{id},
// /health (503 until ready), /metrics with vLLM names, /reset_prefix_cache. A request with
// max_tokens generates exactly that many tokens (as with ignore_eos; finish_reason "length"),
// so a replayed workload keeps its output lengths; without it the simulated model stops on
// its own after DEFAULT_OUTPUT_TOKENS (finish_reason "stop"). A time-scale factor runs the
// engine faster than real time; SSE tokens are coalesced into one event per flush interval
// so two cores are not flooded.
//
// Session KV retention rides on the request body in the shape of NVIDIA Dynamo's
// `nvext.session_control` (which Dynamo maps onto SGLang streaming sessions):
//   "nvext": {"session_control": {"session_id": "s-1", "timeout": 30, "action": "close"}}
// Once the request finishes, its KV stays pinned in GPU memory for `timeout` seconds (300 when
// left out, Dynamo's default) or until the next request with the same `session_id` arrives and
// takes it; `action: "close"` pins nothing and releases what the session holds (`"open"` is
// accepted and changes nothing). Without the field the replica behaves as plain vLLM.
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { chainedBlockHashes, promptText } from '../../../core/src/prompt/prefix-hash.js';
import { ReplicaEngine, type RetentionHint } from './engine.js';
import {
  type Completion,
  closingChunks,
  completionBody,
  completionId,
  errorBody,
  modelIdFromPath,
  modelObject,
  roleChunk,
  textChunk,
} from './openai-shapes.js';
import type { ReplicaProfile } from './profiles.js';

export interface SimServerOptions {
  readonly profile: ReplicaProfile;
  readonly model: string;
  readonly policy: 'fcfs' | 'priority';
  /** Simulated seconds per real second. */
  readonly timeScale: number;
  /** Real milliseconds between SSE flushes. */
  readonly flushMs: number;
  /** Real milliseconds before /health turns ready (model load, scaled). */
  readonly startupMs: number;
  /** Sees every request as it arrives (tests read the headers the gateway set). */
  readonly observe?: (req: IncomingMessage) => void;
}

interface Live {
  readonly res: ServerResponse;
  readonly stream: boolean;
  readonly completion: Completion;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly started: number;
  sent: number;
  cached: number;
}

const CHARS_PER_TOKEN = 4;
/** Output of a request without max_tokens, ended by the model itself ("stop"). */
const DEFAULT_OUTPUT_TOKENS = 16;
const OWNER = 'pythia-sim';
const json = { 'content-type': 'application/json' };
/** Dynamo's default session inactivity timeout, seconds. */
const DEFAULT_SESSION_TIMEOUT_S = 300;
/** Longest retention a request may ask for, seconds, and the longest session id. */
const MAX_SESSION_TIMEOUT_S = 3600;
const MAX_SESSION_ID_CHARS = 256;

/** The retention hint in a request body; a string describes what is wrong with it. */
export function retentionFromBody(body: Record<string, unknown>): RetentionHint | null | string {
  const nvext = body['nvext'];
  if (nvext === undefined) return null;
  if (typeof nvext !== 'object' || nvext === null || Array.isArray(nvext)) return 'nvext must be an object';
  const control = (nvext as Record<string, unknown>)['session_control'];
  if (control === undefined) return null;
  if (typeof control !== 'object' || control === null || Array.isArray(control))
    return 'nvext.session_control must be an object';
  const c = control as Record<string, unknown>;
  const id = c['session_id'];
  if (typeof id !== 'string' || id === '' || id.length > MAX_SESSION_ID_CHARS)
    return `nvext.session_control.session_id must be a string of 1-${MAX_SESSION_ID_CHARS} characters`;
  const action = c['action'];
  if (action !== undefined && action !== 'open' && action !== 'close')
    return 'nvext.session_control.action must be "open" or "close"';
  const timeout = c['timeout'] ?? DEFAULT_SESSION_TIMEOUT_S;
  if (
    typeof timeout !== 'number' ||
    !Number.isFinite(timeout) ||
    timeout < 0 ||
    timeout > MAX_SESSION_TIMEOUT_S
  )
    return `nvext.session_control.timeout must be a number of seconds from 0 to ${MAX_SESSION_TIMEOUT_S}`;
  return { key: id, ttlMs: action === 'close' ? 0 : timeout * 1000 };
}

export class SimulatedReplica {
  readonly engine: ReplicaEngine;
  private readonly live = new Map<string, Live>();
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private stepping = false;
  private readyAt = 0;
  private seq = 0;
  /** Makes completion ids unique across replicas and restarts. */
  private readonly idSalt = randomBytes(4).toString('hex');
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly registry = new Registry();
  private readonly metrics;
  port = 0;

  constructor(private readonly options: SimServerOptions) {
    this.engine = new ReplicaEngine(options.profile, options.policy);
    const r = [this.registry];
    const labelNames = ['model_name'];
    this.metrics = {
      running: new Gauge({ name: 'vllm:num_requests_running', help: 'running', labelNames, registers: r }),
      waiting: new Gauge({ name: 'vllm:num_requests_waiting', help: 'waiting', labelNames, registers: r }),
      kv: new Gauge({ name: 'vllm:kv_cache_usage_perc', help: 'KV usage', labelNames, registers: r }),
      config: new Gauge({
        name: 'vllm:cache_config_info',
        help: 'cache config',
        labelNames: ['block_size', 'num_gpu_blocks'],
        registers: r,
      }),
      hits: new Counter({
        name: 'vllm:prefix_cache_hits_total',
        help: 'cached prompt tokens',
        labelNames,
        registers: r,
      }),
      queries: new Counter({
        name: 'vllm:prefix_cache_queries_total',
        help: 'prompt tokens',
        labelNames,
        registers: r,
      }),
      preemptions: new Gauge({
        name: 'vllm:num_preemptions_total',
        help: 'preemptions',
        labelNames,
        registers: r,
      }),
      generated: new Counter({
        name: 'vllm:generation_tokens_total',
        help: 'generated tokens',
        labelNames,
        registers: r,
      }),
      ttft: new Histogram({
        name: 'vllm:time_to_first_token_seconds',
        help: 'TTFT',
        labelNames,
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: r,
      }),
      e2e: new Histogram({
        name: 'vllm:e2e_request_latency_seconds',
        help: 'latency',
        labelNames,
        buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120],
        registers: r,
      }),
    };
    this.metrics.config.set(
      { block_size: String(options.profile.blockSize), num_gpu_blocks: String(this.engine.totalBlocks) },
      1,
    );
  }

  /** The longest sequence (prompt and output) the replica's KV cache can hold. */
  get maxModelLen(): number {
    return this.engine.totalBlocks * this.options.profile.blockSize - 1;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.readyAt = Date.now() + this.options.startupMs;
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.flushTimer = setInterval(() => this.flush(), this.options.flushMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.options.observe?.(req);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    const model = this.options.model;
    if (url === '/health') {
      res.writeHead(Date.now() >= this.readyAt ? 200 : 503).end();
      return;
    }
    if (url === '/metrics') {
      const labels = { model_name: model };
      this.metrics.running.set(labels, this.engine.numRunning);
      this.metrics.waiting.set(labels, this.engine.numWaiting);
      this.engine.expire(this.simNow());
      this.metrics.kv.set(labels, this.engine.kvUsage);
      this.metrics.preemptions.set(labels, this.engine.preemptionsTotal);
      res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
      return;
    }
    if (url === '/v1/models') {
      const data = [modelObject(model, this.created, OWNER)];
      res.writeHead(200, json).end(JSON.stringify({ object: 'list', data }));
      return;
    }
    const modelId = modelIdFromPath(url);
    if (modelId !== null) {
      if (modelId === model)
        res.writeHead(200, json).end(JSON.stringify(modelObject(model, this.created, OWNER)));
      else
        res
          .writeHead(404, json)
          .end(
            errorBody(
              `The model '${modelId}' does not exist`,
              'invalid_request_error',
              'model_not_found',
              'model',
            ),
          );
      return;
    }
    if (url === '/reset_prefix_cache') {
      res.writeHead(200).end();
      return;
    }
    const chat = url === '/v1/chat/completions';
    if (!chat && url !== '/v1/completions') {
      res.writeHead(404, json).end(errorBody(`no route ${url}`, 'invalid_request_error', 'not_found'));
      return;
    }
    if (Date.now() < this.readyAt) {
      res.writeHead(503, json).end(errorBody('model loading', 'service_unavailable'));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      res.writeHead(400, json).end(errorBody('invalid JSON', 'invalid_request_error'));
      return;
    }
    const retention = retentionFromBody(body);
    if (typeof retention === 'string') {
      res.writeHead(400, json).end(errorBody(retention, 'invalid_request_error'));
      return;
    }
    const text = promptText(body);
    const promptTokens = Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
    const maxTokens = [body['max_tokens'], body['max_completion_tokens']].find((v) => typeof v === 'number');
    const outputTokens = Math.max(1, Math.floor(maxTokens ?? DEFAULT_OUTPUT_TOKENS));
    // As vLLM (max_model_len): a sequence the replica's KV cache can never hold is refused
    // at once. Queued, it would wait at the head of the queue for good, and every request
    // behind it too.
    const maxLen = this.maxModelLen;
    if (promptTokens + outputTokens > maxLen) {
      res
        .writeHead(400, json)
        .end(
          errorBody(
            `This model's maximum context length is ${maxLen} tokens. However, you requested ` +
              `${promptTokens + outputTokens} tokens (${promptTokens} in the messages, ${outputTokens} ` +
              'in the completion). Please reduce the length of the messages or completion.',
            'invalid_request_error',
          ),
        );
      return;
    }
    const blockChars = this.options.profile.blockSize * CHARS_PER_TOKEN;
    const seq = this.seq++;
    const id = `sim-${seq}`;
    const promptBlocks = chainedBlockHashes(text, blockChars, 1 << 16);
    const fullBlocks = chainedBlockHashes(`${text}${'tok '.repeat(outputTokens)}`, blockChars, 1 << 16);
    const priority = typeof body['priority'] === 'number' ? body['priority'] : 0;
    const stream = body['stream'] === true;
    const streamOptions = body['stream_options'];
    const completion: Completion = {
      id: completionId(chat, seq, this.idSalt),
      chat,
      created: Math.floor(Date.now() / 1000),
      model: typeof body['model'] === 'string' ? body['model'] : model,
      includeUsage:
        stream &&
        typeof streamOptions === 'object' &&
        streamOptions !== null &&
        (streamOptions as { include_usage?: unknown }).include_usage === true,
      finishReason: maxTokens === undefined ? 'stop' : 'length',
    };
    this.live.set(id, {
      res,
      stream,
      completion,
      promptTokens,
      outputTokens,
      started: Date.now(),
      sent: 0,
      cached: 0,
    });
    if (stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.on('close', () => this.live.delete(id));
    this.engine.submit({
      id,
      promptBlocks,
      fullBlocks,
      promptTokens,
      outputTokens,
      priority,
      arrivalMs: this.simNow(),
      ...(retention ? { retention } : {}),
    });
    this.kick();
  }

  private simNow(): number {
    return Date.now() * this.options.timeScale;
  }

  private kick(): void {
    if (this.stepping) return;
    this.stepping = true;
    this.runStep();
  }

  private runStep(): void {
    const outcome = this.engine.step(this.simNow());
    if (!outcome) {
      this.stepping = false;
      return;
    }
    this.timer = setTimeout(() => {
      const labels = { model_name: this.options.model };
      for (const f of outcome.firstTokens) {
        const l = this.live.get(f.id);
        if (l) this.metrics.ttft.observe(labels, (Date.now() - l.started) / 1000);
      }
      for (const done of outcome.finished) {
        const l = this.live.get(done.id);
        this.live.delete(done.id);
        if (!l) continue;
        l.cached = done.cachedTokens;
        this.metrics.hits.inc(labels, done.cachedTokens);
        this.metrics.queries.inc(labels, l.promptTokens);
        this.metrics.generated.inc(labels, l.outputTokens);
        this.metrics.e2e.observe(labels, (Date.now() - l.started) / 1000);
        this.finish(l);
      }
      this.runStep();
    }, outcome.durationMs / this.options.timeScale);
  }

  private usage(l: Live) {
    return {
      prompt_tokens: l.promptTokens,
      completion_tokens: l.outputTokens,
      total_tokens: l.promptTokens + l.outputTokens,
      prompt_tokens_details: { cached_tokens: l.cached },
    };
  }

  /** The next tokens of a stream; the first carries the assistant role before them. */
  private event(l: Live, tokens: number): string {
    const first = l.sent === 0 ? roleChunk(l.completion) : '';
    l.sent += tokens;
    return first + textChunk(l.completion, tokens);
  }

  /** Coalesced SSE: what each streaming request generated since the last flush. */
  private flush(): void {
    for (const [id, l] of this.live) {
      if (!l.stream) continue;
      const generated = this.engine.generatedFor(id);
      if (generated === null || generated <= l.sent) continue;
      l.res.write(this.event(l, generated - l.sent));
    }
  }

  private finish(l: Live): void {
    if (l.stream) {
      const rest = l.outputTokens > l.sent ? this.event(l, l.outputTokens - l.sent) : '';
      l.res.end(rest + closingChunks(l.completion, this.usage(l)));
      return;
    }
    l.res.writeHead(200, json).end(completionBody(l.completion, l.outputTokens, this.usage(l)));
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
