/** `new CallClient({ serverUrl })` with a list of node URLs: what is refused before anything connects. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CallClient, CallError, CommunicationTokenCredential } from '@backchannel/client';

// A syntactically valid token (never checked: the list is refused first).
const TOKEN = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', exp: 4102444800 })).toString('base64url')}.sig`;

describe('CallClient server URLs', () => {
  it('refuses an empty list, or one with something that is not a URL string, with BadRequest', async () => {
    for (const serverUrl of [[], [42 as unknown as string]]) {
      const credential = new CommunicationTokenCredential(TOKEN);
      await assert.rejects(new CallClient({ serverUrl }).createCallAgent(credential), (error: unknown) => error instanceof CallError && error.code === 'BadRequest');
      credential.dispose();
    }
  });
});
