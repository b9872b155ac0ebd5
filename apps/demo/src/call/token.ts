/**
 * Tokens for the demo: in demo mode the server gives one to anyone at `POST /demo/token`, each for a new
 * identity. A real application gets its tokens from its own backend, which calls the identity API.
 */
export interface DemoToken {
  identity: string;
  token: string;
}

export async function fetchDemoToken(): Promise<DemoToken> {
  let response: Response;
  try {
    response = await fetch('demo/token', { method: 'POST' });
  } catch (error) {
    throw new Error(`the server cannot be reached (${String(error)})`, { cause: error });
  }
  if (response.status === 404) throw new Error('this server is not in demo mode: start it with `backchannel serve --demo` (or `npm start`)');
  if (!response.ok) throw new Error(`the server refused a demo token: HTTP ${response.status}`);
  const body = (await response.json()) as { identity: { id: string }; accessToken: { token: string } };
  return { identity: body.identity.id, token: body.accessToken.token };
}
