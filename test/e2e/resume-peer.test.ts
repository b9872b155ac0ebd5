/**
 * A 1:1 call between a browser (the SDK in Chromium) and a Node client that survives a 20 s outage of its
 * data path (docs/reliability.md): both sides' ICE goes through the user-space impairment relays
 * (test/helpers/impairment; Chromium's mDNS candidates are dropped, the Node side's rewritten to a relay,
 * and each side learns the other's relayed address from its checks), SCTP gives up during the outage, and
 * a new transport is set up after it with the Durable link resending what each side lacked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CallClient, CommunicationTokenCredential, DiagnosticQuality, Features, type CallAgent, type DataChannelMessage } from '@backchannel/client';
import type * as BackchannelSdk from '@backchannel/client';
import { startServer, type RunningServer } from '@backchannel/server';
import type { Browser, Page } from 'playwright-core';

import { connected, createUser, type Participant } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';
import { ImpairedNetwork } from '../helpers/impairment/ImpairedNetwork.js';
import { indexed, indexOf, range, readIndexed } from '../helpers/indexedMessages.js';
import { launchChromium } from './support/browser.js';
import { sdkBrowserBundle } from './support/sdkBundle.js';

/** Generous: SCTP gives up at about 13 s, then a new ICE/DTLS handshake, in a browser on a shared machine. */
const RESUME_TIMEOUT_MS = 60_000;
const OUTAGE_MS = 20_000;

/** What the browser side records, read with page.evaluate. */
interface BrowserSide {
  state: string;
  /** Indexes of the Node side's messages, in arrival order, and their sequence numbers. */
  received: number[];
  sequenceNumbers: number[];
  /** Indexes of its own messages whose sendMessage resolved, and of those that rejected. */
  resolved: number[];
  rejected: number[];
  /** networkReconnect values, in order. */
  reconnects: number[];
}

describe('1:1 call between a browser and a Node client, across an outage', () => {
  let server: RunningServer;
  let net: ImpairedNetwork;
  let browser: Browser;
  let page: Page;
  let nodeAgent: CallAgent;
  const browserUser = { identity: '', token: '' };

  before(async () => {
    server = await startServer({ port: 0, limits: { durableMaxKbps: 100_000 } });
    net = await ImpairedNetwork.start(server.url, { delayMs: 5 });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${server.url}/healthz`); // any page of the server's origin
    await page.addScriptTag({ content: await sdkBrowserBundle() });
    Object.assign(browserUser, await createUser(server));
    const nodeUser = await createUser(server);
    nodeAgent = await new CallClient({ serverUrl: net.url }).createCallAgent(new CommunicationTokenCredential(nodeUser.token), { displayName: 'node' });
    net.adopt(nodeAgent);
    // The browser side, through the same relays: accepts the call, records what arrives and its own
    // networkReconnect, and sends indexed Durable messages back when told to (peerTest.send).
    await page.evaluate(
      async ({ serverUrl, token }) => {
        const B = (window as unknown as { Backchannel: typeof BackchannelSdk }).Backchannel;
        const agent = await new B.CallClient({ serverUrl }).createCallAgent(new B.CommunicationTokenCredential(token), { displayName: 'browser' });
        const side: BrowserSide = { state: '', received: [], sequenceNumbers: [], resolved: [], rejected: [], reconnects: [] };
        const w = window as unknown as { peerTest: BrowserSide; send?: (from: number, to: number) => void; agent: unknown };
        w.peerTest = side;
        w.agent = agent;
        agent.on('incomingCall', async ({ incomingCall }) => {
          const call = await incomingCall.accept();
          side.state = call.state;
          call.on('stateChanged', () => (side.state = call.state));
          call.feature(B.Features.UserFacingDiagnostics).network.on('diagnosticChanged', ({ diagnostic, value }) => {
            if (diagnostic === 'networkReconnect') side.reconnects.push(value as number);
          });
          const dataChannel = call.feature(B.Features.DataChannel);
          dataChannel.on('dataChannelReceiverCreated', (receiver) => {
            receiver.on('messageReady', () => {
              for (let m = receiver.readMessage(); m; m = receiver.readMessage()) {
                side.received.push(new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength).getUint32(0));
                side.sequenceNumbers.push(m.sequenceNumber);
              }
            });
            const sender = dataChannel.createDataChannelSender({ channelId: 2, participants: [receiver.senderParticipantIdentifier] });
            w.send = (from, to) => {
              for (let i = from; i < to; i++) {
                const bytes = new Uint8Array(100);
                new DataView(bytes.buffer).setUint32(0, i);
                sender.sendMessage(bytes).then(
                  () => side.resolved.push(i),
                  () => side.rejected.push(i),
                );
              }
            };
          });
        });
      },
      { serverUrl: net.url, token: browserUser.token },
    );
  });

  after(async () => {
    await page?.evaluate(() => (window as unknown as { agent: { dispose(): Promise<void> } }).agent.dispose()).catch(() => undefined);
    await net?.close(); // disposes of the Node agent through a clean link
    await browser?.close();
    await server?.close();
  });

  const side = (): Promise<BrowserSide> => page.evaluate(() => (window as unknown as { peerTest: BrowserSide }).peerTest);
  /** Resolves once the browser has received `count` messages (and, with `settled`, all 400 of its sends settled). */
  const browserHas = (count: number, settled = false): Promise<unknown> =>
    page.waitForFunction(
      ({ count, settled }) => {
        const w = window as unknown as { peerTest?: BrowserSide; send?: unknown };
        const s = w.peerTest;
        return typeof w.send === 'function' && s !== undefined && s.received.length >= count && (!settled || s.resolved.length + s.rejected.length === 400);
      },
      { count, settled },
      { timeout: RESUME_TIMEOUT_MS },
    );

  it('keeps the call Connected across a 20 s outage and delivers every resolved message once and in order, both ways', async (t) => {
    const call = nodeAgent.startCall([{ communicationUserId: browserUser.identity }]);
    await connected(call, 30_000);
    const network = call.feature(Features.UserFacingDiagnostics).network;
    const nodeReconnects: number[] = [];
    network.on('diagnosticChanged', ({ diagnostic, value }) => {
      if (diagnostic === 'networkReconnect') nodeReconnects.push(value as number);
    });
    const dataChannel = call.feature(Features.DataChannel);
    const receivers: Participant['receivers'] = [];
    dataChannel.on('dataChannelReceiverCreated', (receiver) => receivers.push(receiver));
    const sender = dataChannel.createDataChannelSender({ channelId: 1, participants: [{ communicationUserId: browserUser.identity }] });
    const sent: Promise<number>[] = range(0, 200).map((i) => sender.sendMessage(indexed(i)).then(() => i));
    await browserHas(50);
    await page.evaluate(() => (window as unknown as { send: (a: number, b: number) => void }).send(0, 200));
    await until(dataChannel, 'dataChannelReceiverCreated', () => receivers.length === 1);
    const fromBrowser: DataChannelMessage[] = await readIndexed(receivers[0]!, 50, RESUME_TIMEOUT_MS);

    const outage = net.outage(OUTAGE_MS);
    sent.push(...range(200, 400).map((i) => sender.sendMessage(indexed(i)).then(() => i)));
    await page.evaluate(() => (window as unknown as { send: (a: number, b: number) => void }).send(200, 400));
    await outage;
    const upAt = performance.now();
    const resolvedByNode = await Promise.all(sent);
    await until(network, 'diagnosticChanged', () => network.getLatest().networkReconnect?.value === DiagnosticQuality.Good, RESUME_TIMEOUT_MS);
    await browserHas(400, true);
    const browserSide = await side();
    await readIndexed(receivers[0]!, browserSide.resolved.length, RESUME_TIMEOUT_MS, fromBrowser);
    t.diagnostic(
      `all delivered ${Math.round(performance.now() - upAt)} ms after the link came back; networkReconnect: node ${JSON.stringify(nodeReconnects)}, browser ${JSON.stringify(browserSide.reconnects)}; relays ${JSON.stringify(net.relays)}`,
    );

    assert.deepEqual(resolvedByNode, range(0, 400));
    assert.deepEqual(browserSide.received, range(0, 400), 'the browser got each of the Node side’s messages once, in order');
    assert.deepEqual(browserSide.sequenceNumbers, range(1, 401));
    assert.deepEqual([...browserSide.resolved].sort((a, b) => a - b), range(0, 400), 'every send in the browser resolved');
    assert.deepEqual(browserSide.rejected, []);
    assert.deepEqual(fromBrowser.map(indexOf), range(0, 400), 'the Node side got each of the browser’s messages once, in order');
    assert.deepEqual(nodeReconnects, [DiagnosticQuality.Bad, DiagnosticQuality.Good]);
    assert.deepEqual(browserSide.reconnects, [DiagnosticQuality.Bad, DiagnosticQuality.Good]);
    assert.equal(call.state, 'Connected');
    assert.equal(browserSide.state, 'Connected');
    // Chromium's candidates are mDNS names (dropped), so the only relays are in front of the Node side's
    // candidate, one per transport: the first, and the one set up after the outage.
    assert.deepEqual(net.relays, { count: 2, flows: 2 });
    assert.deepEqual(server.stats.messagesRouted, { durable: 0, lossy: 0 }, 'the server routed no data');
    const browserEnded = page.waitForFunction(() => (window as unknown as { peerTest: BrowserSide }).peerTest.state === 'Disconnected');
    await call.hangUp();
    await browserEnded;
  });
});
