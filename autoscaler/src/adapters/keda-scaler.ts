// KEDA's external scaler API served with grpc-js: the desired replicas of a pool (named in
// the trigger metadata as `pool`) become a metric with a per-replica target of 1, so the HPA
// KEDA manages converges on exactly the autoscaler's target. IsActive is "target > 0"
// (scale to and from zero); StreamIsActive pushes changes.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_ROOT } from '../../../common/src/proto.js';

export const KEDA_PROTO = 'keda/externalscaler.proto';
const SERVICE = 'externalscaler.ExternalScaler';

export interface DesiredReplicas {
  /** The latest target of a pool, or undefined when the pool is unknown. */
  target(pool: string): number | undefined;
  /** Calls back on every change of any pool's target; returns the unsubscribe. */
  onChange(listener: (pool: string) => void): () => void;
}

interface ScaledObjectRef {
  name?: string;
  namespace?: string;
  scalerMetadata?: Record<string, string>;
}

export function kedaPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(KEDA_PROTO, {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: Number,
    defaults: true,
  });
}

export function metricName(pool: string): string {
  return `pythia-desired-replicas-${pool.replace(/[^a-z0-9-]/gi, '-').toLowerCase()}`;
}

function poolOf(ref: ScaledObjectRef | undefined): string | null {
  const pool = ref?.scalerMetadata?.['pool'];
  return typeof pool === 'string' && pool !== '' ? pool : null;
}

export function addKedaScaler(server: grpc.Server, desired: DesiredReplicas): void {
  const service = kedaPackageDefinition()[SERVICE] as grpc.ServiceDefinition;
  const unknown = (pool: string | null) => ({
    code: grpc.status.NOT_FOUND,
    details: pool === null ? 'trigger metadata must name a pool' : `unknown pool ${pool}`,
  });
  server.addService(service, {
    IsActive: (call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const pool = poolOf(call.request);
      const target = pool === null ? undefined : desired.target(pool);
      if (target === undefined) return cb(unknown(pool));
      cb(null, { result: target > 0 });
    },
    StreamIsActive: (call: grpc.ServerWritableStream<ScaledObjectRef, unknown>) => {
      const pool = poolOf(call.request);
      if (pool === null) {
        call.destroy(
          Object.assign(new Error('trigger metadata must name a pool'), {
            code: grpc.status.INVALID_ARGUMENT,
          }),
        );
        return;
      }
      let last: boolean | undefined;
      const push = () => {
        const target = desired.target(pool);
        if (target === undefined) return;
        const active = target > 0;
        if (active !== last && !call.cancelled) {
          last = active;
          call.write({ result: active });
        }
      };
      push();
      const off = desired.onChange((changed) => {
        if (changed === pool) push();
      });
      call.on('cancelled', off);
      call.on('close', off);
    },
    GetMetricSpec: (
      call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) => {
      const pool = poolOf(call.request);
      if (pool === null || desired.target(pool) === undefined) return cb(unknown(pool));
      cb(null, { metricSpecs: [{ metricName: metricName(pool), targetSize: 1, targetSizeFloat: 1 }] });
    },
    GetMetrics: (
      call: grpc.ServerUnaryCall<{ scaledObjectRef?: ScaledObjectRef; metricName?: string }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) => {
      const pool = poolOf(call.request.scaledObjectRef);
      const target = pool === null ? undefined : desired.target(pool);
      if (pool === null || target === undefined) return cb(unknown(pool));
      cb(null, {
        metricValues: [{ metricName: metricName(pool), metricValue: target, metricValueFloat: target }],
      });
    },
  });
}
