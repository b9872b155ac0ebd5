/**
 * Signs a request the way the reference's `CommunicationIdentityClient` does (HMAC-SHA256, see
 * packages/server/src/http/hmacAuth.ts): the tests' own implementation, so that they can build requests the
 * reference client never sends (an old date, a body changed after signing, another key).
 */
import { createHash, createHmac } from 'node:crypto';

export interface HmacHeaders {
  authorization: string;
  'x-ms-date': string;
  'x-ms-content-sha256': string;
}

/**
 * The three headers of a signed request to `url`. `key` is the access key as the server knows it (its UTF-8
 * bytes are the HMAC key, as the connection string's base64 carries them); `date` defaults to now.
 */
export function hmacHeaders(options: { method: string; url: string; body?: string | Uint8Array; key: string; date?: Date }): HmacHeaders {
  const url = new URL(options.url);
  const query = url.searchParams.toString();
  const target = query ? `${url.pathname}?${query}` : url.pathname;
  const date = (options.date ?? new Date()).toUTCString();
  const hash = createHash('sha256').update(options.body ?? '').digest('base64');
  const signature = createHmac('sha256', Buffer.from(options.key, 'utf8')).update(`${options.method}\n${target}\n${date};${url.host};${hash}`).digest('base64');
  return {
    authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
    'x-ms-date': date,
    'x-ms-content-sha256': hash,
  };
}
