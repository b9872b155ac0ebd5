/**
 * The reference identity API's request signing, verified. The reference's `CommunicationIdentityClient`,
 * built from a connection string `endpoint=https://HOST:PORT/;accesskey=K`, signs every request with
 * HMAC-SHA256 instead of sending the key:
 *
 *   x-ms-date:           when the request was made (an HTTP date)
 *   x-ms-content-sha256: base64 SHA-256 of the body's bytes (of no bytes when there is no body)
 *   Authorization:       HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>
 *
 * The signature is HMAC-SHA256 over `VERB\n/path?query\nDATE;HOST;HASH` (the signed headers' values in the
 * order SignedHeaders lists them), keyed with the base64-decoded `accesskey`. The server's connection
 * string carries the access key's UTF-8 bytes in base64 (see {@link connectionString}), so the HMAC key is
 * those bytes.
 *
 * Pure: a request's parts and the time in, a verdict out. The HTTP layer (identityRoutes.ts) answers every
 * refusal with 401, and a wrong signature with exactly the 401 of a wrong Bearer key.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The Authorization scheme of the reference's signed requests. */
export const HMAC_SCHEME = 'HMAC-SHA256';

/** How far `x-ms-date` may be from the server's time, either way: the reference's window (15 minutes). */
export const MAX_DATE_SKEW_MS = 15 * 60 * 1000;

/** The headers a request must sign, in the reference client's order (any order is accepted). */
export const SIGNED_HEADERS = ['x-ms-date', 'host', 'x-ms-content-sha256'] as const;
type SignedHeader = (typeof SIGNED_HEADERS)[number];

/** Why a signed request was refused. Not on the wire: the identity API answers `Unauthorized` for each. */
export const HmacRefusal = {
  /** Authorization is not `HMAC-SHA256 SignedHeaders=…&Signature=<base64 of 32 bytes>` with the three headers. */
  MalformedAuthorization: 'MalformedAuthorization',
  /** A signed header (`x-ms-date`, `host`, `x-ms-content-sha256`) is absent or empty. */
  MissingHeader: 'MissingHeader',
  /** `x-ms-date` is not a date. */
  BadDate: 'BadDate',
  /** `x-ms-date` is more than {@link MAX_DATE_SKEW_MS} from the server's time. */
  StaleDate: 'StaleDate',
  /** `x-ms-content-sha256` is not the SHA-256 of the body received. */
  ContentHashMismatch: 'ContentHashMismatch',
  /** The signature is not the one the access key makes: a wrong key, or a request altered on the way. */
  BadSignature: 'BadSignature',
} as const;
export type HmacRefusal = (typeof HmacRefusal)[keyof typeof HmacRefusal];

/** What the verifier needs of a request, as received. */
export interface SignedRequest {
  /** The HTTP method, e.g. `POST`. */
  method: string;
  /** The request target as received: path and query, e.g. `/identities?api-version=2023-10-01`. */
  target: string;
  /** `Authorization`, `Host`, `x-ms-date`, `x-ms-content-sha256`; undefined when absent. */
  headers: { authorization?: string | undefined } & { [name in SignedHeader]?: string | undefined };
  /** The body's bytes exactly as received; empty when there is none. */
  body: Uint8Array;
}

export type HmacVerdict = { ok: true } | { ok: false; refusal: HmacRefusal; message: string };

/** True when `authorization` names the HMAC-SHA256 scheme (scheme names are case-insensitive, RFC 9110 §11.1). */
export function isHmacAuthorization(authorization: string | undefined): boolean {
  return authorization !== undefined && authorization.slice(0, HMAC_SCHEME.length + 1).toUpperCase() === `${HMAC_SCHEME} `;
}

/**
 * Checks a signed request: the Authorization header's form, the signed headers' presence, the date against
 * `nowMs` (wall time, ms since the epoch), the body against its hash, then the signature made with `key`.
 * Both comparisons of digests are constant-time. The first failure is the verdict.
 */
export function verifyHmacRequest(request: SignedRequest, key: Uint8Array, nowMs: number): HmacVerdict {
  const authorization = parseAuthorization(request.headers.authorization ?? '');
  if (!authorization) {
    return refuse(
      HmacRefusal.MalformedAuthorization,
      `malformed Authorization: expected ${HMAC_SCHEME} SignedHeaders=${SIGNED_HEADERS.join(';')}&Signature=<base64 HMAC-SHA256>`,
    );
  }
  const values: string[] = [];
  for (const name of authorization.signedHeaders) {
    const value = request.headers[name];
    if (!value) return refuse(HmacRefusal.MissingHeader, `the signed header ${name} is missing`);
    values.push(value);
  }
  const date = Date.parse(request.headers['x-ms-date']!);
  if (Number.isNaN(date)) return refuse(HmacRefusal.BadDate, 'x-ms-date is not a date');
  if (Math.abs(nowMs - date) > MAX_DATE_SKEW_MS) {
    return refuse(HmacRefusal.StaleDate, `x-ms-date is more than ${MAX_DATE_SKEW_MS / 60_000} minutes from the server's time`);
  }
  const presentedHash = decodeDigest(request.headers['x-ms-content-sha256']!);
  const bodyHash = createHash('sha256').update(request.body).digest();
  if (!presentedHash || !timingSafeEqual(presentedHash, bodyHash)) {
    return refuse(HmacRefusal.ContentHashMismatch, 'x-ms-content-sha256 is not the SHA-256 of the body');
  }
  const stringToSign = `${request.method.toUpperCase()}\n${canonicalTarget(request.target)}\n${values.join(';')}`;
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(authorization.signature, expected)) return refuse(HmacRefusal.BadSignature, 'the signature does not match');
  return { ok: true };
}

/** The connection string of the reference's identity client for a server at `url` guarded by `accessKey`. */
export function connectionString(url: string, accessKey: string): string {
  return `endpoint=${url.replace(/\/?$/, '/')};accesskey=${Buffer.from(accessKey, 'utf8').toString('base64')}`;
}

/**
 * The path and query as the reference client signs them: the path as sent, the query re-serialized by
 * URLSearchParams (the client signs `url.searchParams.toString()`, which can differ from the `url.search`
 * it sends, e.g. `%20` becomes `+`). Parsing the same text the same way yields the same string.
 */
function canonicalTarget(target: string): string {
  const mark = target.indexOf('?');
  if (mark < 0) return target;
  const query = new URLSearchParams(target.slice(mark + 1)).toString();
  return query ? `${target.slice(0, mark)}?${query}` : target.slice(0, mark);
}

/**
 * `HMAC-SHA256 SignedHeaders=a;b;c&Signature=<base64>`: the signed header names (exactly the three, each
 * once, in the order given) and the signature's 32 bytes; undefined for anything else.
 */
function parseAuthorization(header: string): { signedHeaders: SignedHeader[]; signature: Buffer } | undefined {
  if (!isHmacAuthorization(header)) return undefined;
  const parameters = new Map<string, string>();
  for (const part of header.slice(HMAC_SCHEME.length + 1).split('&')) {
    const equals = part.indexOf('=');
    if (equals < 0) return undefined;
    const name = part.slice(0, equals).trim().toLowerCase();
    if (parameters.has(name)) return undefined;
    parameters.set(name, part.slice(equals + 1).trim());
  }
  const signedHeaders = parameters.get('signedheaders')?.toLowerCase().split(';');
  const signature = decodeDigest(parameters.get('signature') ?? '');
  if (parameters.size !== 2 || !signedHeaders || !signature) return undefined;
  const distinct = new Set(signedHeaders);
  if (distinct.size !== SIGNED_HEADERS.length || signedHeaders.length !== SIGNED_HEADERS.length) return undefined;
  if (!SIGNED_HEADERS.every((name) => distinct.has(name))) return undefined;
  return { signedHeaders: signedHeaders as SignedHeader[], signature };
}

/** A SHA-256 digest in canonical base64 (44 characters), decoded; undefined otherwise. */
function decodeDigest(text: string): Buffer | undefined {
  return /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : undefined;
}

function refuse(refusal: HmacRefusal, message: string): HmacVerdict {
  return { ok: false, refusal, message };
}
