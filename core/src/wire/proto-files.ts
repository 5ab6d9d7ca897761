// Where our .proto contracts live, and a protobufjs Root over them. The pythia.v1 codecs
// use it for NATS payloads; common/src/proto.ts builds grpc-js definitions from the same files.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');

/** A Root of `files` (google/protobuf/* come bundled with protobufjs; the rest from proto/). */
export function loadProtoRoot(files: string[], keepCase: boolean): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : join(PROTO_ROOT, target);
  root.loadSync(files, { keepCase });
  return root;
}

let pythiaRoot: protobuf.Root | undefined;

/** protobufjs Root holding pythia.v1 for NATS payloads; fields in camelCase, as our TypeScript types. */
export function pythiaProtoRoot(): protobuf.Root {
  pythiaRoot ??= loadProtoRoot(
    [
      'pythia/v1/trace.proto',
      'pythia/v1/workflow_model.proto',
      'pythia/v1/load.proto',
      'pythia/v1/replica.proto',
    ],
    false,
  );
  return pythiaRoot;
}
