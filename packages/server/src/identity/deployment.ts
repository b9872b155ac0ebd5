/**
 * The deployment record: what lets a node tell, at start, whether it belongs to the deployment whose
 * identities a Redis holds. Nodes of one deployment must share the token secret (a token issued by one is
 * verified by another), the access key (any node serves the identity API) and the token issuer (`iss`/`aud`).
 *
 * The first node writes the record; every later node compares. The secrets themselves are never written:
 * only a fingerprint of each, scrypt over the secret with a random salt kept in the record (a keyed, slow
 * hash: someone who can read Redis learns neither secret, and guessing one costs an scrypt per guess).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** The settings nodes of one deployment share. */
export interface DeploymentSettings {
  tokenSecret: string;
  accessKey: string;
  tokenIssuer: string;
}

/** As stored (JSON) under `redisKeys.deployment`. */
export interface DeploymentRecord {
  v: 1;
  /** base64; the scrypt salt of both fingerprints. */
  salt: string;
  /** hex; scrypt of the token secret. */
  tokenSecret: string;
  /** hex; scrypt of the access key. */
  accessKey: string;
  /** Not a secret: stored as is. */
  tokenIssuer: string;
  /** ISO 8601: when the first node wrote the record. */
  createdAt: string;
}

/** 2^14 × 8 × 1: 16 MiB and a few tens of milliseconds, once per start (Node's own defaults). */
const SCRYPT: ScryptOptions = { N: 2 ** 14, r: 8, p: 1 };
const FINGERPRINT_BYTES = 32;

/** The fingerprint of one setting. `label` keeps the two secrets' fingerprints apart even if they were equal. */
export function fingerprint(secret: string, salt: Buffer, label: 'tokenSecret' | 'accessKey'): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(`backchannel deployment ${label}\0${secret}`, salt, FINGERPRINT_BYTES, SCRYPT, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** A record for a new deployment with `settings`, under a fresh salt. */
export async function newDeploymentRecord(settings: DeploymentSettings, now: Date = new Date()): Promise<DeploymentRecord> {
  const salt = randomBytes(16);
  const [tokenSecret, accessKey] = await Promise.all([fingerprint(settings.tokenSecret, salt, 'tokenSecret'), fingerprint(settings.accessKey, salt, 'accessKey')]);
  return { v: 1, salt: salt.toString('base64'), tokenSecret: tokenSecret.toString('hex'), accessKey: accessKey.toString('hex'), tokenIssuer: settings.tokenIssuer, createdAt: now.toISOString() };
}

/** Reads a stored record; undefined if it is not one this version understands. */
export function parseDeploymentRecord(text: string): DeploymentRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const hex = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);
  if (r.v !== 1 || typeof r.salt !== 'string' || !hex(r.tokenSecret) || !hex(r.accessKey) || typeof r.tokenIssuer !== 'string' || typeof r.createdAt !== 'string') {
    return undefined;
  }
  return r as unknown as DeploymentRecord;
}

/**
 * The first setting in which `settings` differ from `record`, or undefined when they belong to it. The
 * fingerprints are compared in constant time.
 */
export async function mismatchedSetting(record: DeploymentRecord, settings: DeploymentSettings): Promise<keyof DeploymentSettings | undefined> {
  const salt = Buffer.from(record.salt, 'base64');
  const same = async (label: 'tokenSecret' | 'accessKey'): Promise<boolean> =>
    timingSafeEqual(await fingerprint(settings[label], salt, label), Buffer.from(record[label], 'hex'));
  if (!(await same('tokenSecret'))) return 'tokenSecret';
  if (!(await same('accessKey'))) return 'accessKey';
  if (record.tokenIssuer !== settings.tokenIssuer) return 'tokenIssuer';
  return undefined;
}

/** The operator's message for a mismatch (names the setting and the flag, never a value). */
export function mismatchMessage(setting: keyof DeploymentSettings, record: DeploymentRecord, redisUrl: string): string {
  const flag = { tokenSecret: '--token-secret', accessKey: '--access-key', tokenIssuer: 'tokenIssuer' }[setting];
  return (
    `this node's ${setting} (${flag}) differs from the one of the deployment already in Redis at ${redisUrl} ` +
    `(started ${record.createdAt}): every node sharing a Redis must be started with the same --token-secret, ` +
    `--access-key and tokenIssuer (see docs/cluster.md)`
  );
}
