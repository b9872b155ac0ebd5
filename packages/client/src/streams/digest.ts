/**
 * The stream's integrity check: SHA-256 (Web Crypto, in browsers and Node alike) of every chunk, and
 * SHA-256 over those digests in order (a hash list). Web Crypto has no incremental hashing, so hashing the
 * whole payload would need it in one buffer; a hash list needs only one chunk at a time and still catches
 * any changed, missing, extra or reordered chunk.
 */
import { StreamError, StreamErrorCode } from '../errors.js';

function subtle(): SubtleCrypto {
  const api = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!api) {
    throw new StreamError(
      StreamErrorCode.NotSupported,
      'streams need crypto.subtle for their SHA-256 check; in a browser it exists only in secure contexts (https:// or localhost)',
    );
  }
  return api;
}

/** Throws StreamError `StreamNotSupported` when Web Crypto is missing, so callers fail before sending anything. */
export function assertDigestSupported(): void {
  subtle();
}

/** The StreamError `StreamNotSupported` if Web Crypto is missing, else undefined. */
export function digestUnsupported(): StreamError | undefined {
  try {
    subtle();
    return undefined;
  } catch (error) {
    return error as StreamError;
  }
}

/** Collects chunk digests as chunks pass; digests run concurrently and are combined in order at the end. */
export class HashList {
  readonly #digests: Promise<ArrayBuffer>[] = [];

  add(chunk: Uint8Array): void {
    const digest = subtle().digest('SHA-256', chunk as Uint8Array<ArrayBuffer>);
    digest.catch(() => undefined); // reported by root(); a stream that fails first never asks
    this.#digests.push(digest);
  }

  get count(): number {
    return this.#digests.length;
  }

  /** SHA-256 over the concatenated chunk digests. */
  async root(): Promise<Uint8Array> {
    const digests = await Promise.all(this.#digests);
    const all = new Uint8Array(digests.length * 32);
    digests.forEach((digest, i) => all.set(new Uint8Array(digest), i * 32));
    return new Uint8Array(await subtle().digest('SHA-256', all));
  }
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
