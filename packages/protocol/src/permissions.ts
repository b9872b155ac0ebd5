/**
 * Channel permissions (a Backchannel extension, docs/api.md "Channel permissions"): which channel ids an
 * identity may send on and receive from, asked for as token scopes and carried, signed, in the token.
 *
 * Asked for with scopes beside `voip`, in `:issueAccessToken`'s `scopes` and `createTokenWithScopes`:
 *
 *   channels.send:1-99,200        may send on channels 1–99 and 200 only
 *   channels.receive:1000-1999    receives only what is sent on 1000–1999
 *   channels.send:none            may send on no channel
 *
 * A side without its scope is unrestricted, so a token without either keeps the reference's behaviour.
 * The token carries them in the claim {@link CHANNELS_CLAIM} as `{ send?: [[from, to], …], receive?: … }`;
 * the server reads it from the verified token, the SDK from its own (unverified: it only refuses early
 * what the server would refuse anyway).
 *
 * Ranges are checked per message on the server: a short array of pairs, searched without allocating.
 */
import { MAX_CHANNEL_ID, MIN_CHANNEL_ID } from './limits.js';

/** An inclusive range of channel ids. */
export type ChannelRange = readonly [from: number, to: number];

/** What an identity may do on channels; a side left undefined is unrestricted. */
export interface ChannelPermissions {
  readonly send?: readonly ChannelRange[];
  readonly receive?: readonly ChannelRange[];
}

export type ChannelDirection = 'send' | 'receive';

/** No restriction: what a token without the claim grants. */
export const ALL_CHANNELS: ChannelPermissions = Object.freeze({});

/** The JWT claim carrying the permissions. */
export const CHANNELS_CLAIM = 'channels';

/** Most ranges one side may list (keeps tokens short and the per-message check cheap). */
export const MAX_CHANNEL_RANGES = 32;

const SCOPE_PREFIX: Record<ChannelDirection, string> = { send: 'channels.send:', receive: 'channels.receive:' };

/** Whether `scope` is a channel-permission scope (well-formed or not). */
export function isChannelScope(scope: string): boolean {
  return scope.startsWith(SCOPE_PREFIX.send) || scope.startsWith(SCOPE_PREFIX.receive);
}

/**
 * The permissions a list of scopes asks for (other scopes are ignored). Throws a `RangeError` naming the
 * scope for a malformed one, or a side given twice.
 */
export function channelPermissionsOfScopes(scopes: readonly string[]): ChannelPermissions {
  const result: { send?: ChannelRange[]; receive?: ChannelRange[] } = {};
  for (const scope of scopes) {
    for (const direction of ['send', 'receive'] as const) {
      if (!scope.startsWith(SCOPE_PREFIX[direction])) continue;
      if (result[direction]) throw new RangeError(`'${scope}': ${SCOPE_PREFIX[direction]} given twice`);
      result[direction] = parseRanges(scope.slice(SCOPE_PREFIX[direction].length), scope);
    }
  }
  return result;
}

/** Whether the permissions are unrestricted on both sides. */
export function isUnrestricted(permissions: ChannelPermissions): boolean {
  return permissions.send === undefined && permissions.receive === undefined;
}

/** Whether `permissions` allow `direction` on `channelId`. */
export function permits(permissions: ChannelPermissions, direction: ChannelDirection, channelId: number): boolean {
  const ranges = permissions[direction];
  if (ranges === undefined) return true;
  for (const [from, to] of ranges) if (channelId >= from && channelId <= to) return true;
  return false;
}

/** The permissions written as the scopes that ask for them (for messages and logs). */
export function describePermissions(permissions: ChannelPermissions, direction: ChannelDirection): string {
  const ranges = permissions[direction];
  if (ranges === undefined) return 'every channel';
  if (ranges.length === 0) return 'no channel';
  return `channels ${ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(',')}`;
}

/** The claim value for `permissions`, or undefined when unrestricted (no claim at all then). */
export function channelsClaim(permissions: ChannelPermissions): ChannelPermissions | undefined {
  if (isUnrestricted(permissions)) return undefined;
  const claim: { send?: ChannelRange[]; receive?: ChannelRange[] } = {};
  if (permissions.send) claim.send = permissions.send.map(([a, b]) => [a, b]);
  if (permissions.receive) claim.receive = permissions.receive.map(([a, b]) => [a, b]);
  return claim;
}

/**
 * The permissions a claim value grants: {@link ALL_CHANNELS} when absent, undefined when malformed (the
 * server then refuses the token; a signed token with a bad claim was not made by this server's code).
 */
export function permissionsOfClaim(value: unknown): ChannelPermissions | undefined {
  if (value === undefined) return ALL_CHANNELS;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const claim = value as Record<string, unknown>;
  const result: { send?: ChannelRange[]; receive?: ChannelRange[] } = {};
  for (const key of Object.keys(claim)) if (key !== 'send' && key !== 'receive') return undefined;
  for (const direction of ['send', 'receive'] as const) {
    const ranges = claim[direction];
    if (ranges === undefined) continue;
    if (!Array.isArray(ranges) || ranges.length > MAX_CHANNEL_RANGES) return undefined;
    const parsed: ChannelRange[] = [];
    for (const range of ranges) {
      if (!Array.isArray(range) || range.length !== 2 || !isChannelId(range[0]) || !isChannelId(range[1]) || range[0] > range[1]) return undefined;
      parsed.push([range[0], range[1]]);
    }
    result[direction] = parsed;
  }
  return result;
}

/**
 * The permissions a token's payload claims, read without verifying it (the SDK, of its own token; the
 * server verifies). {@link ALL_CHANNELS} for a token that cannot be read or carries no claim.
 */
export function readTokenPermissions(token: string): ChannelPermissions {
  const payload = token.split('.')[1];
  if (payload === undefined) return ALL_CHANNELS;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json) as Record<string, unknown>;
    return permissionsOfClaim(claims[CHANNELS_CLAIM]) ?? ALL_CHANNELS;
  } catch {
    return ALL_CHANNELS;
  }
}

function isChannelId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_CHANNEL_ID && value <= MAX_CHANNEL_ID;
}

function parseRanges(text: string, scope: string): ChannelRange[] {
  if (text === 'none') return [];
  const parts = text.split(',');
  if (parts.length > MAX_CHANNEL_RANGES) throw new RangeError(`'${scope}': at most ${MAX_CHANNEL_RANGES} ranges`);
  return parts.map((part) => {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const from = match ? Number(match[1]) : NaN;
    const to = match?.[2] !== undefined ? Number(match[2]) : from;
    if (!isChannelId(from) || !isChannelId(to) || from > to) {
      throw new RangeError(`'${scope}': '${part}' is not a channel id or range from ${MIN_CHANNEL_ID} to ${MAX_CHANNEL_ID} (e.g. 1-99,200, or none)`);
    }
    return [from, to];
  });
}
