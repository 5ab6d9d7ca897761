// Reads the learned models from the NATS models bucket without creating anything: the CLI
// may be pointed at the wrong server, which must then stay untouched.
import type { NatsConnection } from 'nats';
import { MODEL_BUCKET } from '../../../core/src/wire/subjects.js';
import { WORKFLOW_MODELS } from '../../../core/src/wire/channels.js';
import type { WorkflowModel } from '../../../core/src/workflow/workflow-model.js';

/** Where the CLI looks for NATS, and why there. */
export interface NatsTarget {
  readonly url: string;
  readonly source: '--nats' | 'NATS_URL' | 'nats.url in the configuration' | 'default';
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** --nats URL, else NATS_URL, else the configuration's nats.url, else NATS's default port. */
export function natsTarget(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  configured: string | undefined,
): NatsTarget {
  if (flag) return { url: flag, source: '--nats' };
  const fromEnv = env['NATS_URL'];
  if (fromEnv) return { url: fromEnv, source: 'NATS_URL' };
  if (configured) return { url: configured, source: 'nats.url in the configuration' };
  return { url: DEFAULT_NATS_URL, source: 'default' };
}

/** Every model in the bucket, by workflow; null when the server has no models bucket. */
export async function listModels(nc: NatsConnection): Promise<WorkflowModel[] | null> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(`KV_${MODEL_BUCKET}`);
  } catch (err) {
    if (/stream not found/i.test(String((err as Error).message))) return null;
    throw err;
  }
  const kv = await nc.jetstream().views.kv(MODEL_BUCKET, { bindOnly: true });
  // Collect every key first: awaiting a get inside this iteration ends it after the first
  // key (nats.js), which showed one workflow of three.
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  const models: WorkflowModel[] = [];
  for (const key of keys.sort()) {
    const entry = await kv.get(key);
    if (entry?.operation === 'PUT') models.push(WORKFLOW_MODELS.decode(entry.value));
  }
  return models;
}
