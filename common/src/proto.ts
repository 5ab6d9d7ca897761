// Loads the Envoy ext_proc contract once for grpc-js (proto-loader definitions) and as a
// protobufjs Root for reflection. The pythia.v1 payload codecs live in core/src/wire.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type protobuf from 'protobufjs';
import { loadProtoRoot, PROTO_ROOT } from '../../core/src/wire/proto-files.js';

export { PROTO_ROOT };

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

let envoyRoot: protobuf.Root | undefined;

/** protobufjs Root of our Envoy definitions, for reflection (config checks). */
export function envoyProtoRoot(): protobuf.Root {
  envoyRoot ??= loadProtoRoot(
    [EXT_PROC_PROTO, 'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto'],
    true,
  );
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
