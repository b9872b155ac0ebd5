/**
 * `callEndReason` is the reference's `{ code, subCode }` for each of Backchannel's reasons, and
 * docs/porting.md's table says which: every reason the SDK maps is a row there, with the same numbers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { CallErrorCode, PeerCallEndCode } from '@backchannel/protocol';

import { REFERENCE_END_CODES, UNKNOWN_END_CODE, publicEndReason } from '../../packages/client/src/callEndReason.js';

/** docs/porting.md's end-reason rows: [name as written (with any qualifier), code, subCode or undefined]. */
function documentedRows(): [string, number, number | undefined][] {
  const text = readFileSync(new URL('../../docs/porting.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('## Call end reasons'), text.indexOf('## Error codes'));
  return [...section.matchAll(/^\| (`\w+`[^|]*|any other[^|]*) \| (\d+) \| ?(\d*) ?\|/gm)].map(([, name, code, subCode]) => [
    name!.trim(),
    Number(code),
    subCode === '' ? undefined : Number(subCode),
  ]);
}

describe('callEndReason', () => {
  it('maps every CallErrorCode and PeerCallEndCode', () => {
    const names = [...Object.values(CallErrorCode), ...Object.values(PeerCallEndCode)].sort();
    assert.deepEqual(Object.keys(REFERENCE_END_CODES).sort(), names);
  });

  it('is documented in docs/porting.md, row for row', () => {
    const rows = documentedRows();
    const expected: [string, number, number | undefined][] = Object.entries(REFERENCE_END_CODES).map(([name, { code, subCode }]) => [name, code, subCode]);
    for (const [name, code, subCode] of expected) {
      const row = rows.find(([documented]) => documented === `\`${name}\`` || documented.startsWith(`\`${name}\` (after`));
      assert.ok(row, `docs/porting.md has a row for ${name}`);
      assert.deepEqual(row.slice(1), [code, subCode], name);
    }
    assert.ok(rows.some(([name, code, subCode]) => name.startsWith('any other') && code === UNKNOWN_END_CODE.code && subCode === undefined));
    assert.ok(rows.some(([name, code, subCode]) => name === '`HungUp` (an incoming call)' && code === 487 && subCode === 0));
    assert.ok(rows.some(([name, code, subCode]) => name === '`TransportFailed` (before Connected)' && code === 410 && subCode === 3100));
  });

  it('reads a transport failure before Connected as setup failed (3100), after as dropped (3101)', () => {
    const cause = { code: CallErrorCode.TransportFailed, message: 'gone' };
    assert.deepEqual(publicEndReason(cause, 'connecting'), { code: 410, subCode: 3100, name: 'TransportFailed', message: 'gone' });
    assert.deepEqual(publicEndReason(cause, 'connected'), { code: 410, subCode: 3101, name: 'TransportFailed', message: 'gone' });
  });

  it('reads HungUp while ringing as the caller cancelling (487/0), else as a normal end (0/0)', () => {
    const cause = { code: PeerCallEndCode.HungUp, message: 'bye' };
    assert.deepEqual([publicEndReason(cause, 'ringing').code, publicEndReason(cause, 'ringing').subCode], [487, 0]);
    assert.deepEqual([publicEndReason(cause, 'connected').code, publicEndReason(cause, 'connected').subCode], [0, 0]);
  });

  it('keeps a reason it does not know as it came, as a server error (500) without a subCode, frozen', () => {
    const reason = publicEndReason({ code: 'SomethingNewer', message: 'from a newer server' }, 'connected');
    assert.deepEqual(reason, { code: 500, name: 'SomethingNewer', message: 'from a newer server' });
    assert.ok(Object.isFrozen(reason));
    assert.equal('subCode' in reason, false);
  });
});
