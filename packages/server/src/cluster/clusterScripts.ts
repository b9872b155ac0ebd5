/**
 * What a cluster node keeps in Redis, named in one place (pure): the node registry, each call's roster of
 * endpoint places, the endpoint id counter, and the Lua scripts that change them atomically.
 *
 * - `nodes` (hash: node id → JSON {address, url, startedAt}) and `node:<id>:alive` (a string with a TTL,
 *   refreshed every second): the registry; a node whose key expired is not beating.
 * - `call:<groupId>` (hash: endpoint id → node id): every endpoint of the call on every node, admitted or
 *   still connecting; its length is what the participant limit applies to.
 * - `node:<id>:calls` (set of group ids): where a lost node's places are, for whoever removes them.
 * - `endpointIds` (counter): endpoint ids, unique in the cluster (never reused while Redis keeps it).
 * - `node:<id>:lost` (a string with a TTL): the other nodes declared that node lost and purged it; should
 *   it come back (it was frozen, or cut off), its next heartbeat finds this and it rejoins as a new node.
 */
import { KEY_PREFIX } from '../identity/redisKeys.js';

export const clusterKeys = {
  nodes: `${KEY_PREFIX}nodes`,
  alive: (node: string): string => `${KEY_PREFIX}node:${node}:alive`,
  /** What `alive` puts before the node id (for REGISTRY_SCRIPT). */
  nodePrefix: `${KEY_PREFIX}node:`,
  nodeCalls: (node: string): string => `${KEY_PREFIX}node:${node}:calls`,
  /** Set when the other nodes declared a node lost (purged it); read by its heartbeat (BEAT_SCRIPT). */
  lostMark: (node: string): string => `${KEY_PREFIX}node:${node}:lost`,
  call: (groupId: string): string => `${KEY_PREFIX}call:${groupId}`,
  callPrefix: `${KEY_PREFIX}call:`,
  endpointIds: `${KEY_PREFIX}endpointIds`,
} as const;

/** How often a node beats, and how long its beat lasts in Redis. */
export const HEARTBEAT_MS = 1000;
export const HEARTBEAT_TTL_MS = 3000;
/** How long the mark of a lost node lasts: a node frozen for longer than this comes back unaware. */
export const LOST_MARK_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * KEYS: alive, nodes, lostMark · ARGV: node, its registry JSON, heartbeat TTL (ms). The heartbeat, unless
 * the other nodes declared this node lost: then it returns 0 and writes nothing (the node must rejoin as a
 * new one: ClusterNode), else 1.
 */
export const BEAT_SCRIPT = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`;

/**
 * KEYS: call, endpointIds, nodeCalls · ARGV: maxParticipants, node, groupId.
 * Returns {0} when full, else {endpointId, other node ids with places in the call...}.
 */
export const JOIN_SCRIPT = `
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then return {0} end
local id = redis.call('INCR', KEYS[2])
if id > 4294967295 then redis.call('SET', KEYS[2], 1); id = 1 end
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
local out = {id}
local seen = {}
seen[ARGV[2]] = true
for _, n in ipairs(redis.call('HVALS', KEYS[1])) do
  if not seen[n] then seen[n] = true; out[#out + 1] = n end
end
return out`;

/** KEYS: call · ARGV: endpointId, node. Frees the place if it is still this node's. */
export const RELEASE_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/**
 * Lua shared by PURGE_SCRIPT and SYNC_SCRIPT (KEYS[1]: the node's set of calls; ARGV[1]: the node; ARGV[2]:
 * the call key prefix): every place of the node, in each of its calls, is removed.
 */
const DROP_NODE_PLACES = `for _, g in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. g
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    if flat[i + 1] == ARGV[1] then redis.call('HDEL', key, flat[i]) end
  end
end
`;

/**
 * KEYS: nodeCalls(lost), nodes, alive(lost), lostMark(lost) · ARGV: lost node, call key prefix, mark TTL
 * (ms; 0 for a node leaving on its own). Removes every place of a lost node, and the node from the
 * registry; marks it lost. Idempotent: any node may run it.
 */
export const PURGE_SCRIPT = `
${DROP_NODE_PLACES}redis.call('DEL', KEYS[1], KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[3]) end
return 0`;

/**
 * KEYS: nodeCalls · ARGV: node, call key prefix, JSON {groupId: [endpoint ids]} of the node's calls now.
 * After an outage: this node's places become exactly what it holds (departures missed meanwhile go).
 */
export const SYNC_SCRIPT = `
local held = cjson.decode(ARGV[3])
${DROP_NODE_PLACES}redis.call('DEL', KEYS[1])
for g, ids in pairs(held) do
  for _, id in ipairs(ids) do redis.call('HSET', ARGV[2] .. g, id, ARGV[1]) end
  redis.call('SADD', KEYS[1], g)
end
return 0`;

/** ARGV: alive key prefix. Returns {id, json, alive (0/1), ...} for every registered node. */
export const REGISTRY_SCRIPT = `
local flat = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #flat, 2 do
  out[#out + 1] = flat[i]
  out[#out + 1] = flat[i + 1]
  out[#out + 1] = redis.call('EXISTS', ARGV[1] .. flat[i] .. ':alive')
end
return out`;
