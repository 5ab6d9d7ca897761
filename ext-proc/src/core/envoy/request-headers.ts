import type { HeaderValue } from '../../../../common/src/envoy/ext-proc-messages.js';
import { isHeaderWeSet } from './header-contract.js';

/** The request headers we look at, read once from Envoy's header list. */
export interface RequestHeaderView {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly contentLength: number | null;
  readonly requestId: string | null;
  /** Lower-case names of client-supplied headers that only we may set. */
  readonly spoofed: readonly string[];
  /** Values of the headers named in `wanted` (first occurrence). */
  readonly wanted: ReadonlyMap<string, string>;
}

/** Envoy puts values in raw_value; older or hand-written peers may use value. */
export function headerValueText(h: HeaderValue): string {
  if (h.raw_value && h.raw_value.length > 0) return h.raw_value.toString('latin1');
  return h.value ?? '';
}

export function readRequestHeaders(
  headers: readonly HeaderValue[],
  wanted: ReadonlySet<string>,
): RequestHeaderView {
  let method = '';
  let path = '';
  let contentLength: number | null = null;
  let requestId: string | null = null;
  const spoofed: string[] = [];
  const values = new Map<string, string>();
  for (const h of headers) {
    const key = h.key ?? '';
    switch (key) {
      case ':method':
        method = headerValueText(h);
        break;
      case ':path': {
        const full = headerValueText(h);
        const q = full.indexOf('?');
        path = q === -1 ? full : full.slice(0, q);
        break;
      }
      case 'content-length': {
        const n = Number(headerValueText(h));
        contentLength = Number.isSafeInteger(n) && n >= 0 ? n : null;
        break;
      }
      case 'x-request-id':
        requestId = headerValueText(h);
        break;
      default:
        if (isHeaderWeSet(key)) {
          if (!spoofed.includes(key)) spoofed.push(key);
        } else if (wanted.has(key) && !values.has(key)) {
          values.set(key, headerValueText(h));
        }
    }
  }
  return { method, path, contentLength, requestId, spoofed, wanted: values };
}
