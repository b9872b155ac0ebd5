/** The client's candidates, held from the server's ICE agent until it connects or the cap passes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RemoteCandidateHold } from '../../packages/server/src/rtc/RemoteCandidateHold.js';

function hold(): { hold: RemoteCandidateHold; applied: string[] } {
  const applied: string[] = [];
  return { hold: new RemoteCandidateHold((candidate, mid) => applied.push(`${mid}:${candidate}`)), applied };
}

describe('RemoteCandidateHold', () => {
  it('holds candidates until released, then applies them in order, and later ones at once', () => {
    const { hold: h, applied } = hold();
    h.add('a', '0');
    h.add('b', '0');
    assert.deepEqual(applied, []);
    h.release();
    assert.deepEqual(applied, ['0:a', '0:b']);
    h.add('c', '0');
    assert.deepEqual(applied, ['0:a', '0:b', '0:c']);
    h.release();
    assert.equal(applied.length, 3, 'a second release applies nothing twice');
  });

  it('applies what it holds when the cap passes without the ICE connecting', async () => {
    const { hold: h, applied } = hold();
    h.add('a', '0');
    await new Promise<void>((resolve) => {
      const check = (): void => (applied.length > 0 ? resolve() : void setTimeout(check, 50));
      check();
    });
    assert.deepEqual(applied, ['0:a']);
  });

  it('applies nothing once discarded (the connection closed)', async () => {
    const { hold: h, applied } = hold();
    h.add('a', '0');
    h.discard();
    h.release();
    h.add('b', '0');
    assert.deepEqual(applied, []);
  });
});
