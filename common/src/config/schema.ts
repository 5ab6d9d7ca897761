// One configuration file serves the whole system; each service reads its own section.
// Every key has a default except the pools, so a minimal file is the one in docs/configuration.md.
import { z } from 'zod';
import { isIpPort, parseHostPort } from '../host-port.js';
import { identitySchema } from './identity-schema.js';
import { profileName, profilesSchema } from './profiles.js';

/** A listener address; port 0 picks a free port (tests, embedded runs). */
const listenAddress = z
  .string()
  .refine((s) => parseHostPort(s, true) !== null, { message: 'expected host:port' });
const headerName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'expected a lower-case HTTP header name' });
const positiveInt = z.number().int().positive();

const endpointSchema = z.strictObject({
  address: z.string().refine(isIpPort, { message: 'expected ip:port (a literal IPv4, or [IPv6], address)' }),
});

const poolSchema = z.strictObject({
  /** Also the Envoy cluster name that `cluster_header` routing selects. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    message: 'expected 1-63 characters of letters, digits, ".", "_" or "-"',
  }),
  models: z.array(z.string().min(1).max(256)).min(1),
  endpoints: z.array(endpointSchema).default([]),
  /** KV cache capacity per endpoint, in tokens, when the server does not report vllm:cache_config_info. */
  kv_capacity_tokens: positiveInt.default(450_000),
  /** Relative decode speed of this pool's hardware (1.0: one H100 running an 8B model). */
  speed: z.number().positive().default(1),
  /** Write the request priority into the body's `priority` field (vLLM --scheduling-policy priority). */
  priority_field: z.boolean().default(false),
  /**
   * Write session KV-retention hints into the body as NVIDIA Dynamo's
   * `nvext.session_control` (`session_id`, `timeout` in seconds; servers that keep a
   * session's KV between turns: Dynamo over SGLang streaming sessions).
   */
  session_control_field: z.boolean().default(false),
  /** Output tokens one response can count at most (a usage block claiming more is clamped). */
  max_output_tokens: positiveInt.default(131_072),
  /** Prometheus metrics path of the model servers. */
  metrics_path: z.string().startsWith('/').default('/metrics'),
});

const natsSchema = z.strictObject({
  url: z.string().regex(/^(nats|tls|wss?):\/\/[^\s]+$/, { message: 'expected nats://host:port' }),
  /** Name reported to the NATS server, for its monitoring pages. */
  name: z.string().min(1).optional(),
  /** How long the traces stream keeps records the profiler has not consumed. */
  trace_max_age_s: positiveInt.default(24 * 3600),
  trace_max_bytes: positiveInt.default(1024 * 1024 * 1024),
  /** Leadership lease of the profiler and the autoscaler (each runs with a standby); 5 s when unset. */
  lease_ttl_s: z.number().positive().optional(),
  /** Credentials, one kind at most: user and password, a token, a .creds file, or an nkey seed file. */
  user: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  creds_file: z.string().min(1).optional(),
  nkey_seed_file: z.string().min(1).optional(),
  /** TLS to the NATS server (ca_file to verify it; cert_file and key_file for client certificates). */
  tls: z
    .strictObject({
      ca_file: z.string().min(1).optional(),
      cert_file: z.string().min(1).optional(),
      key_file: z.string().min(1).optional(),
    })
    .optional(),
});

/** TLS on the gRPC listener; with ca_file, clients (Envoy) must present a certificate: mutual TLS. */
const tlsSchema = z.strictObject({
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
  ca_file: z.string().min(1).optional(),
});

const headersSchema = z.strictObject({
  workflow: headerName.default('x-pythia-workflow'),
  session: headerName.default('x-pythia-session'),
  agent: headerName.default('x-pythia-agent'),
  /** `true` on a session's last request ends it without waiting for the idle timeout. */
  session_end: headerName.default('x-pythia-session-end'),
});

const identifiersSchema = z.strictObject({
  /** Longest accepted workflow, session or agent identifier. */
  max_length: positiveInt.max(1024).default(128),
});

const bodyMode = z.enum(['BUFFERED', 'FULL_DUPLEX_STREAMED']);

const extProcSchema = z.strictObject({
  /** Used when the first ext_proc message carries no protocol_config (Envoy before 1.33). */
  request_body_mode: bodyMode.default('BUFFERED'),
  max_body_bytes: positiveInt.max(256 * 1024 * 1024).default(8 * 1024 * 1024),
  /** POST paths (without query) treated as LLM requests; everything else passes through. */
  llm_paths: z.array(z.string().startsWith('/')).min(1).default(['/v1/chat/completions', '/v1/completions']),
  /** Pool that serves models no pool lists; without it an unknown model answers 404. */
  default_pool: z.string().optional(),
  /** Size of the body chunks streamed back in FULL_DUPLEX_STREAMED mode. */
  streamed_chunk_bytes: positiveInt.max(4 * 1024 * 1024).default(64 * 1024),
  /** Largest response body (non-streaming JSON) kept to read its usage block. */
  max_response_scan_bytes: positiveInt.default(1024 * 1024),
  /** Live sessions whose stage history is kept for predictions (LRU beyond). */
  max_tracked_sessions: positiveInt.default(100_000),
  /** A tracked session with no request for this long is forgotten. */
  session_idle_s: positiveInt.default(900),
  /** Byte bound (overhead included) of each per-session table: stage tracker, affinity. */
  session_budget_bytes: positiveInt.default(64 * 1024 * 1024),
  /** Completed-request records waiting for NATS; beyond, new ones are dropped and counted. */
  trace_buffer: positiveInt.default(10_000),
  /** Request-body bytes buffered across all streams; past it a request is answered 503. */
  max_buffered_bytes_total: positiveInt.default(256 * 1024 * 1024),
  /** A stream with no message from Envoy for this long is ended (OK: Envoy continues). */
  stream_idle_timeout_s: positiveInt.default(600),
  /** A stream open this long is ended, whatever it is doing. */
  stream_max_duration_s: positiveInt.default(3600),
  /**
   * Streams per gRPC connection before it is sent a graceful GOAWAY (the client reconnects):
   * below Node's 1000-reset burst limit, no burst of stream resets can drop a connection. 0: never.
   */
  max_streams_per_connection: z.number().int().min(0).max(1000).default(500),
  /** Seconds a graceful stop waits for buffered traces to reach NATS. */
  stop_flush_timeout_s: z.number().min(0).default(5),
  /** Live-session state shared between ext-proc replicas over NATS (docs/scaling.md). */
  replicas: z
    .strictObject({
      /** Each replica says it is alive this often (in-flight counts ride on it). */
      heartbeat_ms: positiveInt.default(500),
      /** A replica not heard from for this long stops counting: its in-flight requests are dropped. */
      dead_after_ms: positiveInt.default(2000),
      /** How long the PYTHIA_REPLICA memory stream keeps events for a starting replica to catch up. */
      stream_max_age_s: positiveInt.default(120),
      /** Bytes the stream keeps at most (oldest dropped first). */
      stream_max_bytes: positiveInt.default(256 * 1024 * 1024),
      /** A starting replica reports ready after this long even if its catch-up did not finish. */
      catch_up_timeout_s: positiveInt.default(15),
      /** Live events held (bytes) while catching up; past it they are dropped and counted (lost, what=buffer). */
      catch_up_buffer_bytes: positiveInt.default(64 * 1024 * 1024),
      /** Other replicas followed at most. */
      max_replicas: positiveInt.default(256),
      /** In-flight requests followed per other replica (the oldest dropped beyond). */
      max_in_flight_per_replica: positiveInt.default(100_000),
      /**
       * In-flight requests followed over all other replicas, and their estimated bytes
       * (overhead included); past either, the oldest of the replica holding the most bytes goes.
       */
      max_remote_in_flight: positiveInt.default(200_000),
      max_remote_bytes: positiveInt.default(128 * 1024 * 1024),
    })
    .prefault({}),
});

const fraction = z.number().min(0).max(1);

const schedulerSchema = z.strictObject({
  /** Profile for proactive workflows (built-in or one of `profiles`). */
  profile: profileName.default('pythia'),
  /** Profile for shadow, unknown and non-workflow traffic (and when placement is off). */
  reactive_profile: profileName.default('least-request'),
  /**
   * Profile for requests of a workflow not proactive yet (shadow, no model yet, or off its
   * automaton): the cost model places them without predictions (prefix and session affinity as
   * the prefill they save, under the load bound) instead of scattering a new workflow's
   * sessions while it is learned. Plain traffic keeps `reactive_profile`.
   */
  shadow_profile: profileName.default('pythia'),
  /** Named profiles (filters, weighted scorers, a picker) added to, or replacing, the built-in ones. */
  profiles: profilesSchema,
  levers: z
    .strictObject({
      placement: z.boolean().default(true),
      priority: z.boolean().default(true),
      // Off: it did not shorten JCT in the bench (docs/bench.md, levers).
      warming: z.boolean().default(false),
      /** Session KV retention hints from the learned tool time (see `retention`). */
      retention: z.boolean().default(false),
    })
    .prefault({}),
  /** Model-server /metrics scrape period; 0 turns scraping off. */
  scrape_interval_ms: z.number().int().min(0).default(1000),
  scrape_timeout_ms: positiveInt.default(500),
  /** Consecutive failed scrapes (or connect errors) before an endpoint is taken out. */
  unhealthy_after_failures: positiveInt.default(3),
  /** Largest summed overflow probability (expected requests outgrowing their bound) per endpoint. */
  overflow_threshold: z.number().positive().default(2),
  /** Output tokens assumed for requests without a prediction or max_tokens. */
  default_output_tokens: positiveInt.default(512),
  prefix: z
    .strictObject({
      block_bytes: positiveInt.default(1024),
      max_blocks: positiveInt.default(200_000),
      /** Byte bound of the index, overhead included. */
      budget_bytes: positiveInt.default(64 * 1024 * 1024),
      /** Blocks not refreshed for this long are assumed evicted by the engine. */
      ttl_s: positiveInt.default(600),
    })
    .prefault({}),
  priority: z
    .strictObject({
      /** Weight of 1 / (1 + expected remaining stages). */
      remaining_weight: z.number().min(0).default(1),
      /** Weight of the bonus for a request that alone gates its session's next stage. */
      unblock_weight: z.number().min(0).default(0.5),
      /** No request's vLLM priority lags FCFS by more than this (aging); 0 turns aging off. */
      aging_bound_s: z.number().min(0).default(30),
      /** A session's requests are aged from its start, at most this long before their arrival; 0: from their arrival. */
      session_age_cap_s: z.number().min(0).default(600),
    })
    .prefault({}),
  warming: z
    .strictObject({
      min_probability: fraction.default(0.5),
      max_per_endpoint: positiveInt.default(2),
      max_per_second: z.number().positive().default(20),
      /** Skip warming an endpoint whose waiting queue is at least this long. */
      busy_waiting: positiveInt.default(4),
      /** Bytes of learned agent prompts kept for warming (never logged). */
      prompt_budget_bytes: positiveInt.default(8 * 1024 * 1024),
      max_prompt_bytes: positiveInt.default(256 * 1024),
      /** Agent roles (workflow, agent) whose prompt is kept at most. */
      max_prompts: positiveInt.default(10_000),
      /** A prompt its agent has not used for this long is forgotten. */
      prompt_idle_s: positiveInt.default(3600),
      /** Bytes of session histories (last request and its output) kept for warming. */
      history_budget_bytes: positiveInt.default(64 * 1024 * 1024),
      /** Largest history kept for one session. */
      max_history_bytes: positiveInt.default(512 * 1024),
      /** A warmed endpoint stays reserved for the session's next request this long. */
      reservation_s: positiveInt.default(120),
      timeout_ms: positiveInt.default(30_000),
    })
    .prefault({}),
  retention: z
    .strictObject({
      /** Ask for retention only when the most likely next agent has at least this probability. */
      min_probability: fraction.default(0.5),
      /** Added to the learned tool time (p90) after the agent's stage. */
      margin_s: z.number().min(0).default(1),
      /** Longest retention asked for. */
      max_ttl_s: z.number().positive().default(60),
    })
    .prefault({}),
  /**
   * Flow control (docs/flow-control.md): while every endpoint for a request is saturated, the
   * request is held in ext-proc and released in `policy` order when a good endpoint frees up.
   */
  flow_control: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Release order: fcfs, oldest-session-first, workflow-aware, or wspt (Dynamo's, by prompt length). */
      policy: z.enum(['fcfs', 'oldest-session-first', 'workflow-aware', 'wspt']).default('workflow-aware'),
      /** Saturation detector: an endpoint is saturated at this many waiting requests or this KV use. */
      saturation: z
        .strictObject({
          // 8, not 1: at 1 a single waiting request (our reservations counted) made admission
          // route around the scheduler's choice under sustained load, p95 up to 6% worse with
          // nothing held; at 8 the sweep is flow off's wherever KV stays under the threshold and
          // the burst keeps its gain (docs/bench.md, "Saturation thresholds").
          waiting_requests: positiveInt.default(8),
          kv_usage: z.number().positive().max(1).default(0.9),
          /** Adjust the scraped figures by what this replica dispatched and saw end since the scrape. */
          count_reservations: z.boolean().default(true),
        })
        .prefault({}),
      /** Held requests per pool at most; past it, 429. */
      max_queued_requests: positiveInt.default(2000),
      /** Request-body bytes held per pool at most; past it, 429. */
      max_queued_bytes: positiveInt.default(256 * 1024 * 1024),
      /** A request held this long is answered 429 (below Envoy's max_message_timeout). */
      queue_ttl_s: z.number().positive().max(3600).default(60),
      /** The retry-after header of a 429. */
      retry_after_s: positiveInt.default(2),
      /**
       * good-endpoint: a held request goes to its preferred endpoint or one scoring as well, once
       * free; any-endpoint: the first held request goes to the scheduler's choice among all
       * endpoints as soon as one is free (the llm-d and Dynamo queues, for the bench's peers).
       */
      release: z.enum(['good-endpoint', 'any-endpoint']).default('good-endpoint'),
      /** Endpoints scoring within this share of the profile's total weight of the best are equally good. */
      score_tolerance: fraction.default(0.05),
      /** After this long held, the best-scored unsaturated endpoint is good enough. */
      prefer_hold_s: z.number().min(0).default(5),
      /** Held requests examined per release attempt at most. */
      max_scan: positiveInt.default(64),
      fairness: z
        .strictObject({
          /** Weighted least-attained service over tokens between flows. */
          enabled: z.boolean().default(false),
          /** A flow is a tenant, a workflow, or a tenant's workflow. */
          key: z.enum(['tenant', 'workflow', 'tenant-workflow']).default('tenant'),
          /** The request header naming the tenant. */
          tenant_header: headerName.default('x-pythia-tenant'),
          /** Weight per flow name (tenant, workflow, or tenant/workflow); others weigh 1. */
          weights: z.record(z.string(), z.number().positive()).default({}),
          /**
           * Flows held at once per pool, each with its own share; the held requests of flows
           * beyond it (not named in `weights`) share one flow, so a client inventing tenants
           * cannot multiply its share or crowd out the configured ones.
           */
          max_flows: positiveInt.default(256),
        })
        .prefault({}),
    })
    .prefault({}),
});

const profilerSchema = z.strictObject({
  admin: listenAddress.default('127.0.0.1:9091'),
  /** A session completes after this long without a request (or at its end marker). */
  session_idle_s: positiveInt.default(60),
  /** After an end marker, wait this long for parallel requests still reporting. */
  end_grace_s: z.number().min(0).default(2),
  /** Transitions rarer than this share of their state are pruned. */
  rare_transition_threshold: fraction.default(0.05),
  /** Output-length quantile used as the prediction. */
  output_quantile: fraction.default(0.99),
  rebuild_interval_s: z.number().positive().default(5),
  promotion: z
    .strictObject({
      min_sessions: positiveInt.default(20),
      min_scored: positiveInt.default(30),
      promote_accuracy: fraction.default(0.7),
      promote_coverage: fraction.default(0.9),
      demote_accuracy: fraction.default(0.5),
      demote_coverage: fraction.default(0.8),
      window: positiveInt.default(300),
      max_off_model_share: fraction.default(0.2),
    })
    .prefault({}),
  limits: z
    .strictObject({
      max_workflows: positiveInt.default(1000),
      max_agents_per_workflow: positiveInt.default(64),
      /** Beyond the name limits, names compete: a name's evidence (sightings) halves after this long unseen. */
      name_half_life_s: positiveInt.default(3600),
      /** A workflow or agent name not seen for this long is forgotten with what was learned for it. */
      name_idle_s: positiveInt.default(7 * 24 * 3600),
      /** Byte bound of everything learned across all workflows (kept sessions, agents' samples, models). */
      learners_budget_bytes: positiveInt.default(1024 * 1024 * 1024),
      max_open_sessions: positiveInt.default(100_000),
      /** Byte bound of the traces held by sessions open or waiting for their store, overhead included. */
      open_sessions_budget_bytes: positiveInt.default(256 * 1024 * 1024),
      max_requests_per_session: positiveInt.default(2000),
      max_sessions_kept: positiveInt.default(2000),
      /** Byte bound of those kept sessions per workflow, overhead included. */
      sessions_kept_budget_bytes: positiveInt.default(2 * 1024 * 1024),
      sample_capacity: positiveInt.default(2000),
      dedupe_capacity: positiveInt.default(500_000),
      /** Byte bound of each deduplication table (request ids seen, sessions stored), overhead included. */
      dedupe_budget_bytes: positiveInt.default(96 * 1024 * 1024),
      /** A trace id or stored session not seen again for this long leaves its table. */
      dedupe_idle_s: positiveInt.default(24 * 3600),
    })
    .prefault({}),
});

const autoscalerPoolSchema = z.strictObject({
  min_replicas: z.number().int().min(0).default(1),
  max_replicas: positiveInt.default(16),
  /** Seconds from starting a replica to it serving (model load). */
  model_load_s: z.number().positive().default(60),
  /** A lower target is applied only after the pool drained and stayed low this long. */
  scale_down_delay_s: z.number().min(0).default(180),
  /**
   * The same delay when every active session of the pool is projected by a promoted model
   * (the forecast then knows no session will need the capacity; no lull to ride out).
   */
  forecast_scale_down_delay_s: z.number().min(0).default(15),
  /** One replica's prefill and decode throughput (defaults: the H100 simulator profile). */
  prefill_tokens_per_s: z.number().positive().default(30_000),
  decode_tokens_per_s: z.number().positive().default(4_000),
  /** Requests one replica runs comfortably (the reactive signal's divisor). */
  requests_per_replica: positiveInt.default(48),
  target_utilisation: z.number().positive().max(1).default(0.8),
});

const autoscalerSchema = z.strictObject({
  admin: listenAddress.default('127.0.0.1:9092'),
  /** KEDA external scaler gRPC listener. */
  keda_listen: listenAddress.default('127.0.0.1:50052'),
  interval_s: z.number().positive().default(5),
  horizon_s: z.number().positive().default(120),
  bucket_s: z.number().positive().default(5),
  /** Decode speed one request sees, to time projected stages. */
  per_request_tokens_per_s: z.number().positive().default(60),
  /** Per-pool settings by pool name; pools not listed use the defaults. */
  pools: z.record(z.string(), autoscalerPoolSchema).default({}),
  /** Byte bound (overhead included) of the sessions followed (their count: ext_proc.max_tracked_sessions). */
  session_budget_bytes: positiveInt.default(128 * 1024 * 1024),
  /** (workflow, agent) pools remembered for the forecast, and their byte bound. */
  max_agent_pools: positiveInt.default(10_000),
  agent_pool_budget_bytes: positiveInt.default(8 * 1024 * 1024),
});

export const configSchema = z.strictObject({
  /** ext_proc's gRPC listener: loopback unless a deployment binds it (with tls, or a NetworkPolicy). */
  listen: listenAddress.default('127.0.0.1:50051'),
  tls: tlsSchema.optional(),
  admin: listenAddress.default('127.0.0.1:9090'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  nats: natsSchema.optional(),
  headers: headersSchema.prefault({}),
  identifiers: identifiersSchema.prefault({}),
  identity: identitySchema.prefault({}),
  ext_proc: extProcSchema.prefault({}),
  profiler: profilerSchema.prefault({}),
  scheduler: schedulerSchema.prefault({}),
  autoscaler: autoscalerSchema.prefault({}),
  pools: z.array(poolSchema).min(1),
});

export type PythiaConfig = z.output<typeof configSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type BodyModeName = z.output<typeof bodyMode>;
export type ProfilerConfig = z.output<typeof profilerSchema>;
export type NatsConfig = z.output<typeof natsSchema>;
export type SchedulerConfig = z.output<typeof schedulerSchema>;
export type AutoscalerConfig = z.output<typeof autoscalerSchema>;
export type AutoscalerPoolConfig = z.output<typeof autoscalerPoolSchema>;
export const autoscalerPoolDefaults: AutoscalerPoolConfig = autoscalerPoolSchema.parse({});

/** A pool's autoscaling settings: its `autoscaler.pools` entry over the defaults. */
export function autoscalerPoolSettings(a: AutoscalerConfig, pool: string): AutoscalerPoolConfig {
  return { ...autoscalerPoolDefaults, ...(a.pools[pool] ?? {}) };
}
