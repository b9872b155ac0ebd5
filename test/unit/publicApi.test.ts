/**
 * The SDK's public surface: what its type declarations name, and what it throws. The declarations are read
 * from the built package (`npm run build` runs before the tests).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  BackchannelError,
  CallClient,
  CallError,
  CommunicationTokenCredential,
  DataChannelError,
  StreamError,
  sendStream,
  type StreamSink,
} from '@backchannel/client';
import { importPeer } from '../../packages/client/src/internal/platform/node.js';
import { CallErrorCode, DataChannelErrorCode, FrameError, SignalingError, StreamErrorCode, decodeClientFrame, parseClientMessage } from '@backchannel/protocol';

const clientDist = fileURLToPath(new URL('../../packages/client/dist/', import.meta.url));

/** Every declaration file reachable from the package's index.d.ts through relative imports. */
function reachableDeclarations(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const [, specifier] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), specifier!.replace(/\.js$/, '.d.ts')));
      if (existsSync(target)) visit(target);
    }
  };
  visit(entry);
  return seen;
}

describe('the public type declarations of @backchannel/client', () => {
  const declarations = reachableDeclarations(join(clientDist, 'index.d.ts'));

  it('reach no module under internal/', () => {
    const internal = [...declarations.keys()].filter((file) => file.includes(`${'/'}internal${'/'}`));
    assert.deepEqual(internal, []);
  });

  it('declare no public constructor for objects the SDK creates (Call, CallAgent, IncomingCall, the data-channel classes)', () => {
    for (const name of ['Call', 'CallAgent', 'IncomingCall', 'dataChannel/DataChannelCallFeature', 'dataChannel/DataChannelSender', 'dataChannel/DataChannelReceiver', 'streams/IncomingStream']) {
      const text = declarations.get(join(clientDist, `${name}.d.ts`));
      assert.ok(text, `${name}.d.ts is reachable`);
      const constructors = text.match(/^\s*(private |protected )?constructor\(.*$/gm) ?? [];
      assert.deepEqual(constructors.map((line) => line.trim()), ['private constructor();'], name);
    }
  });

  it('expose no method that injects or ends internal state', () => {
    const all = [...declarations.values()].join('\n');
    for (const name of ['receiverCreated(', 'ended(', 'accepted:', 'get accepted', 'notifyDropped', 'notifyMessageReady', 'onRefreshed(', 'keepFresh(']) {
      assert.ok(!all.includes(name), `the declarations mention ${name}`);
    }
  });
});

describe('errors of the public API', () => {
  const isDocumented = (code: string): boolean => readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').includes(`\`${code}\``);

  /** `error` is a BackchannelError of class `type` with `code`, and docs/errors.md lists the code. */
  function assertBackchannelError(error: unknown, type: abstract new (...args: never[]) => BackchannelError, code: string): true {
    assert.ok(error instanceof BackchannelError, `${String(error)} is a BackchannelError`);
    assert.ok(error instanceof type, `${error.name} is a ${type.name}`);
    assert.equal(error.code, code);
    assert.ok(isDocumented(error.code), `docs/errors.md lists ${error.code}`);
    return true;
  }

  it('every error class the SDK and the protocol export extends BackchannelError', () => {
    for (const type of [DataChannelError, CallError, StreamError, FrameError, SignalingError]) {
      assert.ok(type.prototype instanceof BackchannelError, type.name);
    }
  });

  it('a malformed token is a CallError InvalidToken, a refresher that is not a function a CallError BadRequest', () => {
    assert.throws(() => new CommunicationTokenCredential('not-a-jwt'), (e) => assertBackchannelError(e, CallError, CallErrorCode.InvalidToken));
    assert.throws(() => new CommunicationTokenCredential(''), (e) => assertBackchannelError(e, CallError, CallErrorCode.InvalidToken));
    assert.throws(
      () => new CommunicationTokenCredential({ tokenRefresher: 42 as unknown as () => Promise<string> }),
      (e) => assertBackchannelError(e, CallError, CallErrorCode.BadRequest),
    );
  });

  it('a disposed credential rejects getToken with a CallError BadRequest', async () => {
    const credential = new CommunicationTokenCredential({ tokenRefresher: async () => 'never used' });
    credential.dispose();
    await assert.rejects(credential.getToken(), (e) => assertBackchannelError(e, CallError, CallErrorCode.BadRequest));
  });

  it('a CallClient without serverUrl outside a served page rejects createCallAgent with a CallError BadRequest', async () => {
    const credential = new CommunicationTokenCredential({ tokenRefresher: async () => 'never used' });
    await assert.rejects(new CallClient().createCallAgent(credential), (e) => assertBackchannelError(e, CallError, CallErrorCode.BadRequest));
  });

  it('sendStream refuses bad arguments with a DataChannelError InvalidArgument', () => {
    const sink: StreamSink = { maxMessageSize: 1024, reliability: 'Durable', sendMessage: async () => undefined };
    assert.throws(() => sendStream(sink, 'text' as unknown as Uint8Array), (e) => assertBackchannelError(e, DataChannelError, DataChannelErrorCode.InvalidArgument));
    assert.throws(() => sendStream({ ...sink, reliability: 'Lossy' }, new Uint8Array(1)), (e) => assertBackchannelError(e, DataChannelError, DataChannelErrorCode.InvalidArgument));
  });

  it('the protocol decoders throw their own BackchannelErrors, with documented codes', () => {
    assert.throws(() => decodeClientFrame(new Uint8Array(0)), (e) => assertBackchannelError(e, FrameError, 'Truncated'));
    assert.throws(() => parseClientMessage('{'), (e) => assertBackchannelError(e, SignalingError, CallErrorCode.BadRequest));
  });

  it('every StreamErrorCode is a StreamError code', () => {
    for (const code of Object.values(StreamErrorCode)) assertBackchannelError(new StreamError(code, 'x'), StreamError, code);
  });
});

describe('the client source', () => {
  it('throws no plain Error, TypeError or RangeError anywhere', () => {
    const root = fileURLToPath(new URL('../../packages/client/src/', import.meta.url));
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts') && /new (Type|Range)?Error\(/.test(readFileSync(path, 'utf8'))) offenders.push(path.slice(root.length));
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });
});

describe('the SDK in Node without its optional peer dependencies', () => {
  it('names the package to install, with a CallError PlatformUnavailable', async () => {
    const missing = Object.assign(new Error("Cannot find package 'node-datachannel' imported from nodeTransport.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    await assert.rejects(
      importPeer('node-datachannel', () => Promise.reject(missing)),
      // The source module's CallError, not the built package's: same base, same name.
      (e: unknown) =>
        e instanceof BackchannelError &&
        e.name === 'CallError' &&
        e.code === CallErrorCode.PlatformUnavailable &&
        e.message === "@backchannel/client needs the package 'node-datachannel' in Node: npm install node-datachannel" &&
        e.cause === missing,
    );
  });

  it('reports a package that is there but cannot load as PlatformUnavailable too, with the loader’s error as cause', async () => {
    const broken = new Error('node-datachannel.node: undefined symbol');
    await assert.rejects(
      importPeer('node-datachannel', () => Promise.reject(broken)),
      (e: unknown) =>
        e instanceof BackchannelError &&
        e.code === CallErrorCode.PlatformUnavailable &&
        e.message === "@backchannel/client could not load the package 'node-datachannel': node-datachannel.node: undefined symbol" &&
        e.cause === broken,
    );
  });
});
