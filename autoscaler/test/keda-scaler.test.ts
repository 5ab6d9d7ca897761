// KEDA's external scaler API as KEDA calls it: a grpc-js client built from the same proto.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  type DesiredReplicas,
  addKedaScaler,
  kedaPackageDefinition,
  metricName,
} from '../src/adapters/keda-scaler.js';

class Targets implements DesiredReplicas {
  private readonly values = new Map<string, number>();
  private readonly listeners = new Set<(pool: string) => void>();
  set(pool: string, n: number): void {
    this.values.set(pool, n);
    for (const l of this.listeners) l(pool);
  }
  target(pool: string): number | undefined {
    return this.values.get(pool);
  }
  onChange(listener: (pool: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

type Client = grpc.Client & Record<string, (...args: any[]) => any>;

test('IsActive, GetMetricSpec, GetMetrics and StreamIsActive answer as KEDA expects', async () => {
  const targets = new Targets();
  targets.set('llama-8b', 3);
  const server = new grpc.Server();
  addKedaScaler(server, targets);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const pkg = grpc.loadPackageDefinition(kedaPackageDefinition()) as any;
  const client = new pkg.externalscaler.ExternalScaler(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as Client;
  const unary = <T>(method: string, request: unknown) =>
    new Promise<T>((resolve, reject) =>
      client[method]!(request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
    );
  const ref = { name: 'llama', namespace: 'ai', scalerMetadata: { pool: 'llama-8b' } };
  try {
    assert.deepEqual(await unary('IsActive', ref), { result: true });
    assert.deepEqual(await unary('GetMetricSpec', ref), {
      metricSpecs: [{ metricName: metricName('llama-8b'), targetSize: 1, targetSizeFloat: 1 }],
    });
    assert.deepEqual(
      await unary('GetMetrics', { scaledObjectRef: ref, metricName: metricName('llama-8b') }),
      {
        metricValues: [
          { metricName: 'pythia-desired-replicas-llama-8b', metricValue: 3, metricValueFloat: 3 },
        ],
      },
    );
    await assert.rejects(
      unary('IsActive', { ...ref, scalerMetadata: { pool: 'nope' } }),
      /NOT_FOUND|unknown pool/,
    );
    await assert.rejects(unary('GetMetrics', { scaledObjectRef: { name: 'x' } }), /pool/);
    // The stream sends the current state at once, then each change (and only changes).
    const seen: boolean[] = [];
    const stream = client['StreamIsActive']!(ref);
    let first: () => void = () => undefined;
    const current = new Promise<void>((resolve) => (first = resolve));
    const got = new Promise<void>((resolve) =>
      stream.on('data', (m: { result: boolean }) => {
        seen.push(m.result);
        if (seen.length === 1) first();
        if (seen.length === 3) resolve();
      }),
    );
    stream.on('error', () => undefined);
    // The server sends the current state and subscribes to changes in the same step: once
    // the current state is here, every change below reaches the stream.
    await current;
    targets.set('llama-8b', 0);
    targets.set('llama-8b', 0);
    targets.set('llama-8b', 2);
    await got;
    assert.deepEqual(seen, [true, false, true]);
    stream.cancel();
  } finally {
    client.close();
    server.forceShutdown();
  }
});
