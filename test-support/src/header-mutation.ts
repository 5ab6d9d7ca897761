// Applies an ext_proc HeaderMutation the way Envoy's ext_proc filter does (default
// mutation rules): removals first, then sets; values only from raw_value; protected
// headers silently ignored; append unset means overwrite.
import type { HeaderMutation } from '../../common/src/envoy/ext-proc-messages.js';

export type HeaderList = Array<[string, string]>;

export type MutationResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Headers the default mutation rules never let an ext_proc server set. */
export function isProtectedFromSet(key: string): boolean {
  return (
    key === 'host' ||
    key === ':authority' ||
    key === ':scheme' ||
    key === ':method' ||
    key.startsWith('x-envoy-')
  );
}

/** Headers the default rules never let an ext_proc server remove. */
export function isProtectedFromRemove(key: string): boolean {
  return key.startsWith(':') || key === 'host';
}

const INVALID_VALUE = /[\r\n\0]/;

export function getHeader(headers: HeaderList, key: string): string | undefined {
  for (const [k, v] of headers) if (k === key) return v;
  return undefined;
}

export function setHeader(headers: HeaderList, key: string, value: string): void {
  removeHeader(headers, key);
  headers.push([key, value]);
}

export function removeHeader(headers: HeaderList, key: string): void {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i]?.[0] === key) headers.splice(i, 1);
}

/** Mutates `headers` in place; a failure means Envoy would fail the request (500). */
export function applyHeaderMutation(
  headers: HeaderList,
  mutation: HeaderMutation | undefined,
): MutationResult {
  if (!mutation) return { ok: true };
  for (const raw of mutation.remove_headers ?? []) {
    const key = raw.toLowerCase();
    if (!isProtectedFromRemove(key)) removeHeader(headers, key);
  }
  for (const option of mutation.set_headers ?? []) {
    const key = (option.header?.key ?? '').toLowerCase();
    if (key === '') return { ok: false, reason: 'set_headers entry with an empty key' };
    const raw = option.header.raw_value;
    const hasRaw = raw !== undefined && raw.length > 0;
    const hasValue = option.header.value !== undefined && option.header.value !== '';
    if (hasRaw && hasValue) return { ok: false, reason: `header ${key}: both value and raw_value are set` };
    // Envoy reads raw_value only: a header sent in `value` arrives empty.
    const value = hasRaw ? raw.toString('latin1') : '';
    if (INVALID_VALUE.test(value)) return { ok: false, reason: `header ${key}: invalid character in value` };
    if (isProtectedFromSet(key)) continue;
    if (option.append?.value === true) headers.push([key, value]);
    else setHeader(headers, key, value);
  }
  return { ok: true };
}
