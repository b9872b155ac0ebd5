/**
 * The demo's and the CLI's application messages (packages/protocol/src/appMessages.ts): bytes in, exact
 * messages or exact AppMessageErrors out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  APP_FILE_CHANNEL,
  APP_MESSAGE_CHANNEL,
  APP_MESSAGES_VERSION,
  AppMessageError,
  AppMessageErrorCode,
  BackchannelError,
  decodeAppMessage,
  encodeAppMessage,
  newTransferId,
  readFileMetadata,
  type AppMessage,
} from '@backchannel/protocol';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Asserts that decoding `data` throws an AppMessageError with exactly this code and message. */
function assertAppMessageError(data: Uint8Array, code: AppMessageErrorCode, message: string): void {
  assert.throws(
    () => decodeAppMessage(data),
    (error: unknown) => {
      assert.ok(error instanceof AppMessageError, `expected an AppMessageError, got ${String(error)}`);
      assert.ok(error instanceof BackchannelError);
      assert.equal(error.name, 'AppMessageError');
      assert.equal(error.code, code);
      assert.equal(error.message, message);
      return true;
    },
  );
}

describe('app message channels and version', () => {
  it('are version 1 on the demo page\'s channels 1000 (messages) and 1001 (files)', () => {
    assert.equal(APP_MESSAGES_VERSION, 1);
    assert.equal(APP_MESSAGE_CHANNEL, 1000);
    assert.equal(APP_FILE_CHANNEL, 1001);
  });
});

describe('encodeAppMessage', () => {
  it('writes a chat line to everyone as compact UTF-8 JSON, type first', () => {
    assert.equal(text(encodeAppMessage({ type: 'chat', text: 'héllo', to: 'everyone' })), '{"type":"chat","text":"héllo","to":"everyone"}');
  });

  it('writes a chat line to chosen identities with their ids', () => {
    assert.equal(text(encodeAppMessage({ type: 'chat', text: 'hi', to: ['8:backchannel:a', '8:backchannel:b'] })), '{"type":"chat","text":"hi","to":["8:backchannel:a","8:backchannel:b"]}');
  });

  it('writes each file reply with its fields in the documented order', () => {
    assert.equal(text(encodeAppMessage({ type: 'file-cancel', transferId: 't1' })), '{"type":"file-cancel","transferId":"t1"}');
    assert.equal(text(encodeAppMessage({ type: 'file-received', transferId: 't1', digest: 'ab' })), '{"type":"file-received","transferId":"t1","digest":"ab"}');
    assert.equal(
      text(encodeAppMessage({ type: 'file-failed', transferId: 't1', code: 'StreamIntegrityFailed', message: 'bad hash' })),
      '{"type":"file-failed","transferId":"t1","code":"StreamIntegrityFailed","message":"bad hash"}',
    );
  });

  it('writes the documented fields only, whatever else the object carries', () => {
    const message = { type: 'file-cancel', transferId: 't1', secret: 'x' } as AppMessage;
    assert.equal(text(encodeAppMessage(message)), '{"type":"file-cancel","transferId":"t1"}');
  });

  it('round-trips every message type through decodeAppMessage', () => {
    const messages: AppMessage[] = [
      { type: 'chat', text: 'a\nb "quoted" 🎉', to: 'everyone' },
      { type: 'chat', text: '', to: [] },
      { type: 'file-cancel', transferId: 'abc' },
      { type: 'file-received', transferId: 'abc', digest: '00ff' },
      { type: 'file-failed', transferId: 'abc', code: 'SaveFailed', message: 'disk full' },
    ];
    for (const message of messages) assert.deepEqual(decodeAppMessage(encodeAppMessage(message)), message);
  });
});

describe('decodeAppMessage', () => {
  it('reads a chat line to everyone', () => {
    assert.deepEqual(decodeAppMessage(utf8('{"type":"chat","text":"hi","to":"everyone"}')), { type: 'chat', text: 'hi', to: 'everyone' });
  });

  it('reads a chat line to chosen identities', () => {
    assert.deepEqual(decodeAppMessage(utf8('{"to":["8:backchannel:a"],"text":"hi","type":"chat"}')), { type: 'chat', text: 'hi', to: ['8:backchannel:a'] });
  });

  it('keeps a chat line longer than MAX_CHAT_LENGTH whole (cutting is the reader\'s choice)', () => {
    const long = 'x'.repeat(5000);
    assert.deepEqual(decodeAppMessage(encodeAppMessage({ type: 'chat', text: long, to: 'everyone' })), { type: 'chat', text: long, to: 'everyone' });
  });

  it('reads the file replies and drops fields it does not know', () => {
    assert.deepEqual(decodeAppMessage(utf8('{"type":"file-cancel","transferId":"t","extra":1}')), { type: 'file-cancel', transferId: 't' });
    assert.deepEqual(decodeAppMessage(utf8('{"type":"file-received","transferId":"t","digest":"d"}')), { type: 'file-received', transferId: 't', digest: 'd' });
    assert.deepEqual(decodeAppMessage(utf8('{"type":"file-failed","transferId":"t","code":"c","message":"m"}')), {
      type: 'file-failed',
      transferId: 't',
      code: 'c',
      message: 'm',
    });
  });

  it('refuses bytes that are not UTF-8 with AppMessageMalformed', () => {
    assertAppMessageError(Uint8Array.of(0x7b, 0xff, 0x7d), AppMessageErrorCode.Malformed, 'an app message is UTF-8 text, and this is not');
  });

  it('refuses plain text and empty messages with AppMessageMalformed', () => {
    assertAppMessageError(utf8('hello there'), AppMessageErrorCode.Malformed, 'an app message is one JSON object, and this is not JSON');
    assertAppMessageError(new Uint8Array(0), AppMessageErrorCode.Malformed, 'an app message is one JSON object, and this is not JSON');
  });

  it('refuses JSON that is not an object with AppMessageMalformed', () => {
    for (const json of ['null', '42', '"chat"', '[{"type":"chat","text":"hi","to":"everyone"}]']) {
      assertAppMessageError(utf8(json), AppMessageErrorCode.Malformed, 'an app message is one JSON object, and this is another JSON value');
    }
  });

  it('refuses an object without a string type with AppMessageMalformed', () => {
    assertAppMessageError(utf8('{"text":"hi"}'), AppMessageErrorCode.Malformed, 'an app message needs "type" to be a string');
    assertAppMessageError(utf8('{"type":7}'), AppMessageErrorCode.Malformed, 'an app message needs "type" to be a string');
  });

  it('refuses a type this version does not define with AppMessageUnknownType, naming it', () => {
    assertAppMessageError(utf8('{"type":"reaction","emoji":"👍"}'), AppMessageErrorCode.UnknownType, 'unknown app message type "reaction"');
  });

  it('names at most 64 characters of an unknown type', () => {
    assertAppMessageError(utf8(JSON.stringify({ type: 'y'.repeat(100) })), AppMessageErrorCode.UnknownType, `unknown app message type "${'y'.repeat(64)}"`);
  });

  it('refuses a chat line without string text, or with a bad "to", with AppMessageMalformed', () => {
    assertAppMessageError(utf8('{"type":"chat","to":"everyone"}'), AppMessageErrorCode.Malformed, 'a chat message needs "text" to be a string');
    assertAppMessageError(utf8('{"type":"chat","text":1,"to":"everyone"}'), AppMessageErrorCode.Malformed, 'a chat message needs "text" to be a string');
    const badTo = 'a chat message needs "to" to be "everyone" or an array of identity strings';
    assertAppMessageError(utf8('{"type":"chat","text":"hi"}'), AppMessageErrorCode.Malformed, badTo);
    assertAppMessageError(utf8('{"type":"chat","text":"hi","to":"someone"}'), AppMessageErrorCode.Malformed, badTo);
    assertAppMessageError(utf8('{"type":"chat","text":"hi","to":["a",2]}'), AppMessageErrorCode.Malformed, badTo);
  });

  it('refuses file replies with a missing or mistyped field with AppMessageMalformed, naming it', () => {
    assertAppMessageError(utf8('{"type":"file-cancel"}'), AppMessageErrorCode.Malformed, 'a file-cancel message needs "transferId" to be a string');
    assertAppMessageError(utf8('{"type":"file-received","transferId":"t"}'), AppMessageErrorCode.Malformed, 'a file-received message needs "digest" to be a string');
    assertAppMessageError(
      utf8('{"type":"file-failed","transferId":"t","code":"c","message":null}'),
      AppMessageErrorCode.Malformed,
      'a file-failed message needs "message" to be a string',
    );
  });

  it('throws nothing but AppMessageError for arbitrary bytes', () => {
    const samples = [Uint8Array.of(0), Uint8Array.of(0xef, 0xbb, 0xbf), utf8('{"type":"chat","text":"a","to":"everyone"'), utf8('{"__proto__":{"type":"chat"}}'), utf8('{"type":{"x":1}}')];
    for (let seed = 1; seed <= 200; seed++) samples.push(Uint8Array.from({ length: seed % 17 }, (_, i) => (seed * 31 + i * 7) & 0xff));
    for (const data of samples) {
      try {
        decodeAppMessage(data);
      } catch (error) {
        assert.ok(error instanceof AppMessageError, `unexpected ${String(error)} for ${Buffer.from(data).toString('hex')}`);
      }
    }
  });
});

describe('readFileMetadata', () => {
  it('reads announced metadata as it is', () => {
    assert.deepEqual(readFileMetadata({ transferId: 't1', name: 'report.pdf', type: 'application/pdf' }, 'fallback'), {
      transferId: 't1',
      name: 'report.pdf',
      type: 'application/pdf',
    });
  });

  it('keeps the announced name as it is, path parts and all: making it safe is the reader\'s job', () => {
    assert.equal(readFileMetadata({ transferId: 't', name: '../a/b.txt', type: 'text/plain' }, 'f').name, '../a/b.txt');
  });

  it('falls back for missing or mistyped fields: the given id, an empty name, application/octet-stream', () => {
    assert.deepEqual(readFileMetadata(undefined, 'peer/7'), { transferId: 'peer/7', name: '', type: 'application/octet-stream' });
    assert.deepEqual(readFileMetadata({ transferId: 5, name: ['x'], type: 1 }, 'peer/7'), { transferId: 'peer/7', name: '', type: 'application/octet-stream' });
  });

  it('cuts a transferId to 64 characters', () => {
    assert.equal(readFileMetadata({ transferId: 'z'.repeat(100) }, 'f').transferId, 'z'.repeat(64));
  });

  it('accepts a plain MIME type only', () => {
    assert.equal(readFileMetadata({ type: 'image/svg+xml' }, 'f').type, 'image/svg+xml');
    for (const type of ['text/html; charset=utf-8', 'text', 'text/html\nX-Evil: 1', '']) {
      assert.equal(readFileMetadata({ type }, 'f').type, 'application/octet-stream', type);
    }
  });
});

describe('newTransferId', () => {
  it('makes 24 lowercase hex digits, different each time', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newTransferId()));
    assert.equal(ids.size, 50);
    for (const id of ids) assert.match(id, /^[0-9a-f]{24}$/);
  });
});
