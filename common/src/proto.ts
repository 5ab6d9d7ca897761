// Loads our .proto contracts once. grpc-js uses the proto-loader definitions; the NATS
// adapters use the protobufjs Root directly for pythia.v1 messages.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';
export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

// keepCase: field names as in the .proto (raw_value, clear_route_cache), which is what the
// Envoy docs and our facts file use. enums as names for readable code; oneofs gives the
// name of the set member in a virtual field (`request`, `response`).
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let extProcDefinition: protoLoader.PackageDefinition | undefined;

export function extProcPackageDefinition(): protoLoader.PackageDefinition {
  extProcDefinition ??= protoLoader.loadSync(EXT_PROC_PROTO, LOADER_OPTIONS);
  return extProcDefinition;
}

/** The ExternalProcessor service definition for grpc-js servers and clients. */
export function extProcServiceDefinition(): grpc.ServiceDefinition {
  const def = extProcPackageDefinition()[EXT_PROC_SERVICE];
  if (!def) throw new Error(`${EXT_PROC_SERVICE} missing from ${EXT_PROC_PROTO}`);
  return def as grpc.ServiceDefinition;
}

/** A grpc-js client constructor for ExternalProcessor. */
export function extProcClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(extProcServiceDefinition(), 'ExternalProcessor');
}

function loadRoot(files: string[], keepCase: boolean): protobuf.Root {
  const root = new protobuf.Root();
  // google/protobuf/* come bundled with protobufjs; everything else from proto/.
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : join(PROTO_ROOT, target);
  root.loadSync(files, { keepCase });
  return root;
}

let pythiaRoot: protobuf.Root | undefined;
let envoyRoot: protobuf.Root | undefined;

/** protobufjs Root holding pythia.v1 for NATS payloads; fields in camelCase, as our TypeScript types. */
export function pythiaProtoRoot(): protobuf.Root {
  pythiaRoot ??= loadRoot(
    ['pythia/v1/trace.proto', 'pythia/v1/workflow_model.proto', 'pythia/v1/load.proto'],
    false,
  );
  return pythiaRoot;
}

/** protobufjs Root of our Envoy definitions, for reflection (config checks). */
export function envoyProtoRoot(): protobuf.Root {
  envoyRoot ??= loadRoot([EXT_PROC_PROTO, 'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto'], true);
  return envoyRoot;
}

let statusCodes: Map<string, number> | undefined;

/** HTTP status number of a decoded envoy.type.v3.StatusCode (a name, or a number when not listed). */
export function httpStatusNumber(code: string | number | undefined): number {
  if (typeof code === 'number') return code;
  if (code === undefined) return 0;
  if (!statusCodes) {
    const def = extProcPackageDefinition()['envoy.type.v3.StatusCode'] as unknown as {
      type: { value: Array<{ name: string; number: number }> };
    };
    statusCodes = new Map(def.type.value.map((v) => [v.name, v.number]));
  }
  return statusCodes.get(code) ?? 0;
}
