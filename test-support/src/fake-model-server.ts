// A small stand-in for a vLLM server on loopback, for integration tests: OpenAI chat
// completions (non-streaming) with a real prefix cache (chained hashes over 64-character
// blocks, ~16 tokens, LRU), usage with prompt_tokens_details.cached_tokens, vLLM-named
// /metrics with settable load, and /reset_prefix_cache as vLLM has. Records what it got.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { chainedBlockHashes, promptText } from '../../core/src/prompt/prefix-hash.js';

export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly cachedTokens: number;
  readonly promptTokens: number;
}

const BLOCK_CHARS = 64;
const CHARS_PER_TOKEN = 4;

export class FakeModelServer {
  readonly received: ReceivedRequest[] = [];
  private readonly cache = new Set<number>();
  kvUsage = 0;
  waiting = 0;
  running = 0;
  private server: Server | null = null;
  private answering = true;
  port = 0;

  constructor(private readonly kvBlocks = 28_125) {}

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(
            [
              `vllm:num_requests_running{model_name="m"} ${this.running}`,
              `vllm:num_requests_waiting{model_name="m"} ${this.waiting}`,
              `vllm:kv_cache_usage_perc{model_name="m"} ${this.kvUsage}`,
              `vllm:cache_config_info{block_size="16",num_gpu_blocks="${this.kvBlocks}"} 1`,
              '',
            ].join('\n'),
          );
          return;
        }
        if (req.url === '/reset_prefix_cache') {
          this.cache.clear();
          res.writeHead(200);
          res.end();
          return;
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
          return;
        }
        const text = promptText(body);
        const hashes = chainedBlockHashes(text, BLOCK_CHARS);
        let cachedBlocks = 0;
        while (cachedBlocks < hashes.length && this.cache.has(hashes[cachedBlocks] as number)) cachedBlocks++;
        for (const h of hashes) this.cache.add(h);
        const promptTokens = Math.ceil(text.length / CHARS_PER_TOKEN);
        const cachedTokens = (cachedBlocks * BLOCK_CHARS) / CHARS_PER_TOKEN;
        this.received.push({ headers: req.headers, body, cachedTokens, promptTokens });
        const completion = typeof body['max_tokens'] === 'number' ? Math.min(body['max_tokens'], 20) : 20;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'cmpl-1',
            object: 'chat.completion',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: 'ok '.repeat(completion) },
                finish_reason: 'stop',
              },
            ],
            usage: {
              prompt_tokens: promptTokens,
              completion_tokens: completion,
              total_tokens: promptTokens + completion,
              prompt_tokens_details: { cached_tokens: cachedTokens },
            },
          }),
        );
      });
    });
    // While not answering, every connection is dropped at once (a crashed model server),
    // and the port stays ours, so nothing else can take it before the server comes back.
    server.on('connection', (socket) => {
      if (!this.answering) socket.destroy();
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
  }

  /** Drops open connections and every new one until resumeAnswering(). */
  stopAnswering(): void {
    this.answering = false;
    this.server?.closeAllConnections();
  }

  resumeAnswering(): void {
    this.answering = true;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
