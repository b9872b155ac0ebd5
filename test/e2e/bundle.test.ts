/**
 * The SDK in a bundler: the demo's Vite build resolves `@backchannel/client` with the `browser` condition,
 * so it holds the browser transport and none of the Node one (node-datachannel, ws).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ASSETS = fileURLToPath(new URL('../../apps/demo/dist/assets/', import.meta.url));

function bundle(): string {
  const scripts = readdirSync(ASSETS).filter((name) => name.endsWith('.js'));
  assert.ok(scripts.length > 0, `no script in ${ASSETS}: run \`npm run build\` first`);
  return scripts.map((name) => readFileSync(`${ASSETS}${name}`, 'utf8')).join('\n');
}

describe('the browser bundle of the demo', () => {
  const code = bundle();

  it('uses the browser transport: RTCPeerConnection and the native WebSocket', () => {
    assert.match(code, /new RTCPeerConnection\(/);
    assert.match(code, /new WebSocket\(/);
  });

  it('holds nothing of the Node transport: no node-datachannel, no ws, no Node built-ins', () => {
    for (const marker of ['node-datachannel', 'sendMessageBinary', 'maxPayload', 'node:']) {
      assert.ok(!code.includes(marker), `the bundle contains '${marker}'`);
    }
    assert.doesNotMatch(code, /(?<!RTC)PeerConnection\(/, "node-datachannel's PeerConnection is in the bundle");
  });
});
