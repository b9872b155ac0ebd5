/**
 * The demo end to end: three Chromium pages and one Node SDK client in one call, against a server started
 * for the run with the built demo app. Issue 4's "What must be shown", one test each.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';

import { rtcRuntimeReferences } from '@backchannel/node-rtc';
import type { RunningServer } from '@backchannel/server';
import type { Browser } from 'playwright-core';

import { userIdOf } from '../helpers/backchannel.js';
import { until, within } from '../helpers/events.js';
import { launchChromium } from './support/browser.js';
import { DemoPage } from './support/demoPage.js';
import { NodeParticipant } from './support/nodeParticipant.js';
import { startDemoServer } from './support/server.js';

describe('the demo in Chromium: three pages and a Node client in one call', () => {
  let server: RunningServer;
  let browser: Browser;
  let alice: DemoPage;
  let bob: DemoPage;
  let carol: DemoPage;
  let bot: NodeParticipant;
  const room = `e2e-${randomUUID().slice(0, 8)}`;
  const pages = (): DemoPage[] => [alice, bob, carol].filter(Boolean);

  before(async () => {
    server = await startDemoServer();
    browser = await launchChromium();
    alice = await DemoPage.join(browser, server.url, room, 'Alice');
    bob = await DemoPage.join(browser, server.url, room, 'Bob');
    carol = await DemoPage.join(browser, server.url, room, 'Carol');
    bot = await NodeParticipant.join(server.url, room, 'Node bot');
  });

  afterEach(async () => {
    for (const page of pages()) {
      assert.deepEqual(page.pageErrors, [], `uncaught errors in ${page.name}'s page`);
      assert.deepEqual(await page.errors(), [], `errors on ${page.name}'s screen`);
    }
  });

  after(async () => {
    await Promise.all(pages().map((page) => page.close()));
    await browser?.close();
    await bot?.dispose();
    if (!server) return; // it never started: before() has reported why
    await server.close();
    assert.deepEqual(server.snapshot(), { calls: 0, endpoints: 0, connections: 0 }, 'server state left behind');
    assert.equal(rtcRuntimeReferences(), 0, 'peer connections left open');
  });

  it('lists every other participant on each page, the Node client included, with their names', async () => {
    for (const page of pages()) {
      const others = [alice, bob, carol].filter((p) => p !== page);
      for (const other of others) await page.participant(other.identity).filter({ hasText: other.name }).waitFor();
      await page.participant(bot.identity).filter({ hasText: 'Node bot' }).waitFor();
      assert.equal((await page.participantIdentities()).length, 3);
    }
    await until(bot.call, 'remoteParticipantsUpdated', () => bot.call.remoteParticipants.length === 3);
    assert.deepEqual(new Set(bot.call.remoteParticipants.map((p) => p.displayName)), new Set(['Alice', 'Bob', 'Carol']));
  });

  it('delivers a chat to everyone on every page and to the Node client', async () => {
    await alice.say('hello everyone');
    await bob.chatLine('hello everyone').filter({ hasText: 'Alice' }).waitFor();
    await carol.chatLine('hello everyone').waitFor();
    const received = await bot.waitForText('hello everyone');
    assert.equal(received.from, alice.identity);
    assert.equal(received.message.type === 'chat' && received.message.to, 'everyone');
  });

  it('delivers a chat to chosen participants to them only', async () => {
    await alice.say('just for Bob and the bot', [bob.identity, bot.identity]);
    // Then a line to everyone from the same sender: messages of one Durable sender arrive in order, so once
    // Carol has this one, the private line would have arrived before it had it been sent to her.
    await alice.say('marker after the private line');
    await bob.chatLine('just for Bob and the bot').locator('.tag', { hasText: 'private' }).waitFor();
    await bot.waitForText('just for Bob and the bot');
    await carol.chatLine('marker after the private line').waitFor();
    await bot.waitForText('marker after the private line');
    assert.ok(!(await carol.chatTexts()).includes('just for Bob and the bot'), 'Carol received a line not addressed to her');

    await bob.say('Carol only, please', [carol.identity]);
    await bob.say('second marker');
    await carol.chatLine('Carol only, please').waitFor();
    await alice.chatLine('second marker').waitFor();
    await bot.waitForText('second marker');
    assert.ok(!(await alice.chatTexts()).includes('Carol only, please'), 'Alice received a line not addressed to her');
    assert.ok(!bot.texts.includes('Carol only, please'), 'the Node client received a line not addressed to it');
  });

  it("gives the Node client the pages' messages and the pages the Node client's", async () => {
    await carol.say('from a browser to the bot', [bot.identity]);
    assert.equal((await bot.waitForText('from a browser to the bot')).from, carol.identity);
    await bot.say('from Node to everyone', 'everyone');
    await bot.say('from Node to Alice', [alice.identity]);
    for (const page of pages()) await page.chatLine('from Node to everyone').filter({ hasText: 'Node bot' }).waitFor();
    await alice.chatLine('from Node to Alice').waitFor();
  });

  it('shares a 5 MiB file byte-identical with everyone, progress reaching 100% on both sides', async () => {
    const file = { name: 'five-mebibytes.bin', mimeType: 'application/octet-stream', buffer: randomBytes(5 * 1024 * 1024) };
    const sha256 = createHash('sha256').update(file.buffer).digest('hex');
    await alice.share(file);

    const botStream = await within(bot.nextStream(), 'the file at the Node client', 30_000);
    assert.equal(botStream.metadata?.name, file.name);
    const botCopy = await within(botStream.done, 'the whole file at the Node client', 60_000);
    assert.ok(Buffer.from(botCopy.bytes()).equals(file.buffer), 'the Node client got different bytes');

    assert.equal(await alice.transferDone('out', file.name, 'sent'), 100);
    for (const page of [bob, carol]) assert.equal(await page.transferDone('in', file.name, 'complete'), 100);
    assert.ok((await bob.save(file.name)).equals(file.buffer), "Bob's saved file differs");
    const carolSha = await carol.page.evaluate(async (href) => {
      const bytes = await (await fetch(href)).arrayBuffer();
      return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
    }, (await carol.transfer('in', file.name).getByRole('link', { name: 'Save' }).getAttribute('href'))!);
    assert.equal(carolSha, sha256, "Carol's copy has another SHA-256");
  });

  it("removes a page that leaves from the others' lists and from the Node client's roster", async () => {
    const leaving = carol.identity;
    await carol.leave();
    for (const page of [alice, bob]) await page.participant(leaving).waitFor({ state: 'detached' });
    await until(bot.call, 'remoteParticipantsUpdated', () => !bot.call.remoteParticipants.some((p) => userIdOf(p.identifier) === leaving));
    for (const page of [alice, bob]) assert.equal((await page.participantIdentities()).length, 2);
  });
});
