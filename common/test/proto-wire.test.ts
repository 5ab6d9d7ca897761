// Wire compatibility with Envoy: golden bytes written by hand from the protobuf encoding
// rules (tag = field_number << 3 | wire_type; LEN = 2, VARINT = 0) and the upstream field
// numbers, decoded and produced by the exact serializers grpc-js uses on the wire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXT_PROC_SERVICE, extProcPackageDefinition } from '../src/proto.js';

interface MethodDef {
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

const service = extProcPackageDefinition()[EXT_PROC_SERVICE] as unknown as Record<string, MethodDef>;
const process = service['Process'] as MethodDef;

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('Process method path matches Envoy', () => {
  const def = service['Process'] as unknown as {
    path: string;
    requestStream: boolean;
    responseStream: boolean;
  };
  assert.equal(def.path, '/envoy.service.ext_proc.v3.ExternalProcessor/Process');
  assert.equal(def.requestStream, true);
  assert.equal(def.responseStream, true);
});

test('decodes a hand-encoded ProcessingRequest with request_headers and protocol_config', () => {
  // ProcessingRequest.request_headers (2, LEN) = 12
  //   HttpHeaders.headers (1, LEN) = 0a
  //     HeaderMap.headers (1, LEN) = 0a, HeaderValue: key (1) = 0a 05 ":path", raw_value (3) = 1a 14 "/v1/chat/completions"
  //   HttpHeaders.end_of_stream (3, VARINT) = 18 00 omitted (false); we set it: 18 01
  // ProcessingRequest.observability_mode (10, VARINT) = 50 01
  // ProcessingRequest.protocol_config (11, LEN) = 5a, request_body_mode (1) = 08 04 (FULL_DUPLEX_STREAMED),
  //   response_body_mode (2) = 10 01 (STREAMED)
  const headerValue =
    '0a05' +
    Buffer.from(':path').toString('hex') +
    '1a14' +
    Buffer.from('/v1/chat/completions').toString('hex');
  assert.equal(headerValue.length / 2, 2 + 5 + 2 + 20); // 29 = 0x1d
  const headerMap = `0a1d${headerValue}`; // 31 bytes
  const httpHeaders = `0a1f${headerMap}1801`; // 2 + 31 + 2 = 35 bytes = 0x23
  const bytes = hex(`1223${httpHeaders} 5001 5a04 0804 1001`);
  const decoded = process.requestDeserialize(bytes) as Record<string, any>;
  assert.equal(decoded['request'], 'request_headers');
  const h = decoded['request_headers'].headers.headers[0];
  assert.equal(h.key, ':path');
  assert.equal(Buffer.from(h.raw_value).toString(), '/v1/chat/completions');
  assert.equal(decoded['request_headers'].end_of_stream, true);
  assert.equal(decoded['observability_mode'], true);
  assert.equal(decoded['protocol_config'].request_body_mode, 'FULL_DUPLEX_STREAMED');
  assert.equal(decoded['protocol_config'].response_body_mode, 'STREAMED');
});

test('decodes a hand-encoded request_body (field 4) and response_body (field 5)', () => {
  // HttpBody.body (1, LEN) = 0a 02 "{}", end_of_stream (2) = 10 01
  const body = hex(`2206 0a027b7d 1001`);
  const d = process.requestDeserialize(body) as Record<string, any>;
  assert.equal(d['request'], 'request_body');
  assert.equal(Buffer.from(d['request_body'].body).toString(), '{}');
  assert.equal(d['request_body'].end_of_stream, true);
  const resp = process.requestDeserialize(hex('2a06 0a027b7d 1001')) as Record<string, any>;
  assert.equal(resp['request'], 'response_body');
});

test('encodes a routing answer exactly as Envoy expects on the wire', () => {
  const response = {
    request_body: {
      response: {
        header_mutation: {
          set_headers: [{ header: { key: 'x-pythia-cluster', raw_value: Buffer.from('llama-8b') } }],
          remove_headers: ['x-gateway-destination-endpoint'],
        },
        clear_route_cache: true,
      },
    },
  };
  // HeaderValue: key (1) 0a 10 "x-pythia-cluster" (16), raw_value (3) 1a 08 "llama-8b" => 2+16+2+8 = 28 (0x1c)
  // HeaderValueOption.header (1): 0a 1c ... => 30 (0x1e)
  // HeaderMutation.set_headers (1): 0a 1e ... => 32; remove_headers (2): 12 1e "x-gateway-destination-endpoint" (30) => 32
  //   HeaderMutation total 64 (0x40)
  // CommonResponse.header_mutation (2): 12 40 ... => 66; clear_route_cache (5, VARINT): 28 01 => 68 (0x44)
  // BodyResponse.response (1): 0a 44 ... => 70 (0x46)
  // ProcessingResponse.request_body (3): 1a 46 ...
  const expected = hex(
    '1a46 0a44 1240' +
      '0a1e 0a1c 0a10' +
      Buffer.from('x-pythia-cluster').toString('hex') +
      '1a08' +
      Buffer.from('llama-8b').toString('hex') +
      '121e' +
      Buffer.from('x-gateway-destination-endpoint').toString('hex') +
      '2801',
  );
  assert.deepEqual(process.responseSerialize(response), expected);
});

test('encodes an immediate response (field 7) with HttpStatus code and body', () => {
  const response = { immediate_response: { status: { code: 413 }, body: Buffer.from('x'), details: 'd' } };
  // ImmediateResponse.status (1): 0a 03 (HttpStatus.code (1) VARINT 413 = 0x9d 0x03 -> 08 9d 03)
  // body (3): 1a 01 78; details (5): 2a 01 64 => 5 + 3 + 3 = 11 (0x0b)
  // ProcessingResponse.immediate_response (7): 3a 0b
  assert.deepEqual(process.responseSerialize(response), hex('3a0b 0a03 089d03 1a0178 2a0164'));
});

test('encodes dynamic_metadata (8) as a google.protobuf.Struct and mode_override (9)', () => {
  const response = {
    request_headers: {},
    dynamic_metadata: { fields: { ns: { stringValue: 'v' } } },
    mode_override: { request_body_mode: 'NONE', response_header_mode: 'SKIP' },
  };
  // request_headers (1): 0a 00
  // Struct.fields (1) map entry: key (1) 0a 02 "ns", value (2) Value.string_value (3) 12 03 (1a 01 "v") => entry 9 bytes
  // dynamic_metadata (8): 42 0b (0a 09 0a026e73 1203 1a0176)
  // mode_override (9): 4a 04: response_header_mode (2) SKIP = 10 02, request_body_mode (3) NONE = 18 00. The
  // explicitly set zero is written (fields in field-number order); proto3 parsers, Envoy's included, accept it.
  assert.deepEqual(
    process.responseSerialize(response),
    hex('0a00 420b 0a09 0a026e73 1203 1a0176 4a04 1002 1800'),
  );
});

test('streamed_response body mutation uses BodyMutation field 3', () => {
  const response = {
    request_body: {
      response: { body_mutation: { streamed_response: { body: Buffer.from('ab'), end_of_stream: true } } },
    },
  };
  // StreamedBodyResponse: 0a 02 6162 10 01 (6); BodyMutation.streamed_response (3): 1a 06 (8)
  // CommonResponse.body_mutation (3): 1a 08 (10); BodyResponse.response (1): 0a 0a (12); request_body (3): 1a 0c
  assert.deepEqual(process.responseSerialize(response), hex('1a0c 0a0a 1a08 1a06 0a026162 1001'));
});
