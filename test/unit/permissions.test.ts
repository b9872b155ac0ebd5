/** Channel permissions (an extension): the scope syntax, the claim, the check. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ALL_CHANNELS,
  CHANNELS_CLAIM,
  channelPermissionsOfScopes,
  channelsClaim,
  permissionsOfClaim,
  permits,
  readTokenPermissions,
} from '@backchannel/protocol';

describe('channel permissions', () => {
  it('reads ranges, single ids and none; ignores other scopes', () => {
    assert.deepEqual(channelPermissionsOfScopes(['voip', 'channels.send:1-99,200', 'channels.receive:none']), { send: [[1, 99], [200, 200]], receive: [] });
    assert.deepEqual(channelPermissionsOfScopes(['voip']), {});
  });

  it('refuses ids out of 1–65535, reversed ranges, empty parts, too many ranges and a side given twice', () => {
    for (const scope of ['channels.send:0', 'channels.send:65536', 'channels.send:5-4', 'channels.send:1,', 'channels.send:a', 'channels.send:-3', `channels.send:${Array.from({ length: 33 }, (_, i) => i + 1).join(',')}`]) {
      assert.throws(() => channelPermissionsOfScopes([scope]), RangeError, scope);
    }
    assert.throws(() => channelPermissionsOfScopes(['channels.receive:1', 'channels.receive:2']), RangeError);
  });

  it('permits by side, inclusive at both ends; an absent side is unrestricted', () => {
    const p = channelPermissionsOfScopes(['channels.send:10-20,30']);
    assert.deepEqual([9, 10, 20, 21, 30, 31].map((id) => permits(p, 'send', id)), [false, true, true, false, true, false]);
    assert.equal(permits(p, 'receive', 65535), true);
    assert.equal(permits(ALL_CHANNELS, 'send', 1), true);
    assert.equal(permits({ send: [] }, 'send', 1), false);
  });

  it('round-trips through the claim; no claim when unrestricted; a malformed claim is refused', () => {
    const p = channelPermissionsOfScopes(['channels.send:1-2', 'channels.receive:7']);
    assert.deepEqual(permissionsOfClaim(channelsClaim(p)), p);
    assert.equal(channelsClaim({}), undefined);
    assert.equal(permissionsOfClaim(undefined), ALL_CHANNELS);
    for (const bad of [null, 1, 'x', [], { send: 'x' }, { send: [[2, 1]] }, { send: [[0, 1]] }, { send: [[1]] }, { other: [] }, { send: [[1.5, 2]] }]) {
      assert.equal(permissionsOfClaim(bad), undefined, JSON.stringify(bad));
    }
  });

  it("reads a token's claim without verifying it; anything unreadable is unrestricted", () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'x', [CHANNELS_CLAIM]: { send: [[3, 4]] } })).toString('base64url');
    assert.deepEqual(readTokenPermissions(`e30.${payload}.sig`), { send: [[3, 4]] });
    assert.equal(readTokenPermissions('not a jwt'), ALL_CHANNELS);
    assert.equal(readTokenPermissions('a.!!!.b'), ALL_CHANNELS);
  });
});
