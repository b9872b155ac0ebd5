/**
 * The HTTP side of a running server that the client tools use: the identity API (POST /identities,
 * POST /identities/{id}/:issueAccessToken) and GET /stats, all behind the access key. Failures become
 * CliErrors: unreachable server or refused key → ExitCode.Connection, a request the server calls bad →
 * ExitCode.Usage.
 */
import type { ClusterSnapshot, ServerStats } from '@backchannel/server';

import { CliError, ExitCode } from './common.js';

export interface ServerAccess {
  url: string;
  accessKey: string;
}

export interface AccessToken {
  token: string;
  expiresOn: string;
}

/** The answer of POST /identities with `createTokenWithScopes`. */
export interface IdentityWithToken {
  identity: { id: string };
  accessToken: AccessToken;
}

/** The answer of GET /stats: live numbers plus the server's counters since it started. */
/** GET /stats; `cluster` on a node started with Redis. */
export type StatsSnapshot = ServerStats & { calls: number; endpoints: number; connections: number; cluster?: ClusterSnapshot };

const REQUEST_TIMEOUT_MS = 10_000;

/** Creates an identity with a `voip` token. */
export async function createIdentityWithToken(access: ServerAccess, expiresInMinutes?: number): Promise<IdentityWithToken> {
  const body = { createTokenWithScopes: ['voip'], ...(expiresInMinutes === undefined ? {} : { expiresInMinutes }) };
  const answer = await request<IdentityWithToken>(access, 'POST', '/identities', body);
  if (typeof answer?.accessToken?.token !== 'string') throw unexpected('/identities', answer);
  return answer;
}

/** Issues a new `voip` token for an existing identity. */
export async function issueAccessToken(access: ServerAccess, identity: string, expiresInMinutes?: number): Promise<AccessToken> {
  const body = { scopes: ['voip'], ...(expiresInMinutes === undefined ? {} : { expiresInMinutes }) };
  const path = `/identities/${encodeURIComponent(identity)}/:issueAccessToken`;
  const answer = await request<AccessToken>(access, 'POST', path, body);
  if (typeof answer?.token !== 'string') throw unexpected(path, answer);
  return answer;
}

export async function fetchStats(access: ServerAccess): Promise<StatsSnapshot> {
  const answer = await request<StatsSnapshot>(access, 'GET', '/stats');
  if (typeof answer?.calls !== 'number') throw unexpected('/stats', answer);
  return answer;
}

async function request<T>(access: ServerAccess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | undefined> {
  const headers: Record<string, string> = { authorization: `Bearer ${access.accessKey}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${access.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(ExitCode.Connection, `cannot reach the server at ${access.url}: ${networkReason(error)}`, { cause: error });
  }
  const text = await response.text();
  const json = parseJson(text);
  if (response.ok) return json as T | undefined;
  const message = errorMessage(json);
  const detail = message ?? (text.slice(0, 200) || response.statusText);
  if (response.status === 401 || response.status === 403) {
    throw new CliError(ExitCode.Connection, `the server refused the access key (${response.status}): ${detail}`);
  }
  // A 4xx in the identity API's error shape means our request was wrong (an unknown identity, a bad
  // lifetime); anything else (a 404 from a server without this route, a 5xx) is the server's side.
  const code = response.status < 500 && message !== undefined ? ExitCode.Usage : ExitCode.Connection;
  throw new CliError(code, `${method} ${path} failed with ${response.status}: ${detail}`);
}

/** fetch() says only "fetch failed"; the reason (ECONNREFUSED, a timeout, a TLS error) is in its cause. */
function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** The message of an error body in the identity API's shape, `{ error: { code, message } }`. */
function errorMessage(json: unknown): string | undefined {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.message !== 'string') return undefined;
  return typeof error.code === 'string' ? `${error.code}: ${error.message}` : error.message;
}

function unexpected(path: string, answer: unknown): CliError {
  return new CliError(ExitCode.Connection, `unexpected answer from ${path}: ${JSON.stringify(answer)?.slice(0, 200)}`);
}
