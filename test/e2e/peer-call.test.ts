/**
 * A 1:1 call between a browser (the SDK in Chromium) and a Node client, peer to peer: what the reference
 * product cannot do. The server rings and relays signaling; the data never passes through it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CallClient, CommunicationTokenCredential, Features, type CallAgent } from '@backchannel/client';
import type * as BackchannelSdk from '@backchannel/client';
import { startServer, type RunningServer } from '@backchannel/server';
import type { Browser, Page } from 'playwright-core';

import { connected, createUser, readMessages } from '../helpers/backchannel.js';
import { waitForEvent } from '../helpers/events.js';
import { launchChromium } from './support/browser.js';
import { sdkBrowserBundle } from './support/sdkBundle.js';

const COUNT = 10_000;

describe('1:1 call between a browser and a Node client', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let nodeAgent: CallAgent;
  const browserUser = { identity: '', token: '' };

  before(async () => {
    // 10,000 messages sent at once: the send backlog bound is set far beyond them (the test is about order).
    server = await startServer({ port: 0, limits: { durableMaxKbps: 1_000_000, maxSendBacklogMs: 600_000 } });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${server.url}/healthz`); // any page of the server's origin
    await page.addScriptTag({ content: await sdkBrowserBundle() });
    Object.assign(browserUser, await createUser(server));
    const nodeUser = await createUser(server);
    nodeAgent = await new CallClient({ serverUrl: server.url }).createCallAgent(new CommunicationTokenCredential(nodeUser.token), { displayName: 'node' });
    // The browser side: an agent that accepts any call, counts what arrives in order, and answers once.
    await page.evaluate(
      async ({ serverUrl, token, count }) => {
        const B = (window as unknown as { Backchannel: typeof BackchannelSdk }).Backchannel;
        const agent = await new B.CallClient({ serverUrl }).createCallAgent(new B.CommunicationTokenCredential(token), { displayName: 'browser' });
        const state = { accepted: false, state: '', received: 0, inOrder: true, sender: '' };
        (window as unknown as { peerTest: typeof state }).peerTest = state;
        agent.on('incomingCall', async ({ incomingCall }) => {
          const call = await incomingCall.accept();
          state.accepted = true;
          call.on('stateChanged', () => (state.state = call.state));
          const dataChannel = call.feature(B.Features.DataChannel);
          dataChannel.on('dataChannelReceiverCreated', (receiver) => {
            state.sender = receiver.senderParticipantIdentifier.rawId ?? ''; // in the page: no test helpers here
            receiver.on('messageReady', () => {
              for (let m = receiver.readMessage(); m; m = receiver.readMessage()) {
                if (m.sequenceNumber !== state.received + 1) state.inOrder = false;
                state.received++;
              }
              if (state.received === count) {
                const reply = dataChannel.createDataChannelSender({ channelId: 2, participants: [receiver.senderParticipantIdentifier] });
                void reply.sendMessage(new TextEncoder().encode(`got ${state.received} in order: ${state.inOrder}`));
              }
            });
          });
        });
      },
      { serverUrl: server.url, token: browserUser.token, count: COUNT },
    );
  });

  after(async () => {
    await nodeAgent?.dispose();
    await browser?.close();
    await server?.close();
  });

  it('connects Node → browser, carries 10,000 Durable messages in order and an answer back, with no data through the server', async () => {
    const call = nodeAgent.startCall([{ communicationUserId: browserUser.identity }]);
    await connected(call);
    assert.deepEqual(call.remoteParticipants.map((p) => p.displayName), ['browser']);
    const dataChannel = call.feature(Features.DataChannel);
    const answer = waitForEvent(dataChannel, 'dataChannelReceiverCreated');
    const sender = dataChannel.createDataChannelSender({ channelId: 1, participants: [{ communicationUserId: browserUser.identity }] });
    await Promise.all(Array.from({ length: COUNT }, (_, i) => sender.sendMessage(new TextEncoder().encode(String(i)))));
    const [receiver] = (await answer) as [Parameters<typeof readMessages>[0]];
    const [reply] = await readMessages(receiver, 1);
    assert.equal(new TextDecoder().decode(reply!.data), `got ${COUNT} in order: true`);
    const seen = await page.evaluate(() => (window as unknown as { peerTest: { sender: string; state: string } }).peerTest);
    assert.equal(seen.state, 'Connected');
    assert.equal(seen.sender, nodeAgent.identifier.communicationUserId);
    assert.deepEqual(server.stats.messagesRouted, { durable: 0, lossy: 0 }, 'the server routed no data');
    const browserEnded = page.waitForFunction(() => (window as unknown as { peerTest: { state: string } }).peerTest.state === 'Disconnected');
    await call.hangUp();
    await browserEnded;
  });
});
