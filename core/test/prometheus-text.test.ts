import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText, serverLoad, VLLM_METRICS } from '../src/cluster/prometheus-text.js';

test('reads vLLM load figures and the KV capacity from cache_config_info', () => {
  const text = [
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{engine="0",model_name="llama"} 7.0',
    'vllm:num_requests_waiting{engine="0",model_name="llama"} 3.0',
    'vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.42',
    'vllm:cache_config_info{block_size="16",cache_dtype="auto",num_gpu_blocks="28125",prefix="a\\"b"} 1.0',
    'vllm:prefix_cache_hits_total{engine="0"} 1234',
    'garbage line here',
  ].join('\n');
  assert.deepEqual(serverLoad(parsePrometheusText(text, VLLM_METRICS)), {
    running: 7,
    waiting: 3,
    kvUsage: 0.42,
    kvCapacityTokens: 450_000,
  });
  assert.deepEqual(serverLoad([]), { running: null, waiting: null, kvUsage: null, kvCapacityTokens: null });
});
