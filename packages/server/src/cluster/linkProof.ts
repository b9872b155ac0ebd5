/**
 * How two nodes of a cluster know each other on a link: the link is TLS, with each node's own throwaway
 * certificate (nothing to distribute), and each side proves it knows the deployment's token secret with an
 * HMAC over the TLS session's exported keying material (RFC 5705 / RFC 8446 §7.5 exporters).
 *
 * Binding the proofs to the session is what makes unverified certificates safe: a man in the middle holds
 * two TLS sessions with two different exporter values, so it can relay neither side's proof, and a proof
 * sniffed or logged elsewhere is worthless on any other connection. The caller sends its proof first and
 * the listener answers with its own before the caller sends anything else, so neither side gives data to a
 * party that has not proven itself.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/** Exporter label (RFC 5705: "EXPORTER" prefix for labels outside the IANA registry). */
const EXPORTER_LABEL = 'EXPORTER-backchannel-node-link';
const EXPORTER_BYTES = 32;

/** Which end of the link a proof is for: the node that opened it, or the one that accepted it. */
export type LinkRole = 'caller' | 'listener';

/** The TLS session's exported keying material: the same on both ends of one session, and only there. */
export function channelBinding(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(EXPORTER_BYTES, EXPORTER_LABEL, Buffer.alloc(0));
}

/** Node `nodeId`'s proof, as `role` on the session with `binding`, that it knows `tokenSecret`. */
export function linkProof(tokenSecret: string, role: LinkRole, nodeId: string, binding: Uint8Array): string {
  return createHmac('sha256', tokenSecret).update(`backchannel-node-link:${role}:${nodeId}:`).update(binding).digest('base64url');
}

/** Constant-time comparison of an expected proof with what the other node sent (any JSON value). */
export function proofMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
