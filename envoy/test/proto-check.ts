// Checks a YAML/JSON rendering of a protobuf message against our .proto definitions, the way
// Envoy's config loader would reject it: unknown fields, wrong scalar kinds, unknown enum
// names, malformed durations.
import type protobuf from 'protobufjs';
import { envoyProtoRoot } from '../../common/src/proto.js';

export function checkMessage(typeName: string, value: unknown, path = typeName): string[] {
  const type = envoyProtoRoot().lookupType(typeName);
  return check(type, value, path);
}

function check(type: protobuf.Type, value: unknown, path: string): string[] {
  if (type.fullName === '.google.protobuf.Duration') {
    return typeof value === 'string' && /^-?\d+(\.\d+)?s$/.test(value)
      ? []
      : [`${path}: expected a duration like "0.2s"`];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`${path}: expected an object`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field) {
      problems.push(`${path}.${key}: no such field in ${type.fullName.slice(1)}`);
      continue;
    }
    field.resolve();
    const values = field.repeated ? (Array.isArray(v) ? v : [null]) : [v];
    if (field.repeated && !Array.isArray(v)) {
      problems.push(`${path}.${key}: expected a list`);
      continue;
    }
    values.forEach((item, i) => {
      const at = field.repeated ? `${path}.${key}[${i}]` : `${path}.${key}`;
      const rt = field.resolvedType;
      if (rt && 'fields' in rt) problems.push(...check(rt as protobuf.Type, item, at));
      else if (rt && 'values' in rt) {
        if (typeof item !== 'string' || !(item in (rt as protobuf.Enum).values))
          problems.push(`${at}: not a ${rt.name} value`);
      } else if (field.type === 'bool' && typeof item !== 'boolean')
        problems.push(`${at}: expected true or false`);
      else if (field.type === 'string' && typeof item !== 'string') problems.push(`${at}: expected a string`);
      else if (/int|double|float/.test(field.type) && typeof item !== 'number')
        problems.push(`${at}: expected a number`);
    });
  }
  return problems;
}
