/**
 * The issue-15 extensions in the demo, in Chromium: a chat line shows ✓✓ once everyone it went to has it
 * (delivery receipts), and a page that joins late shows the shared counter's value at once (state for late
 * joiners, `retain: 'last'`).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { rtcRuntimeReferences } from '@backchannel/node-rtc';
import type { RunningServer } from '@backchannel/server';
import type { Browser } from 'playwright-core';

import { launchChromium } from './support/browser.js';
import { DemoPage } from './support/demoPage.js';
import { startDemoServer } from './support/server.js';

describe('the demo shows the extensions', () => {
  let server: RunningServer;
  let browser: Browser;
  const opened: DemoPage[] = [];
  const room = `e2e-ext-${randomUUID().slice(0, 8)}`;

  before(async () => {
    server = await startDemoServer();
    browser = await launchChromium();
  });

  after(async () => {
    for (const page of opened) {
      assert.deepEqual(page.pageErrors, [], `uncaught errors in ${page.name}'s page`);
      assert.deepEqual(await page.errors(), [], `errors on ${page.name}'s screen`);
    }
    await Promise.all(opened.map((page) => page.close()));
    await browser?.close();
    if (!server) return;
    await server.close();
    assert.deepEqual(server.snapshot(), { calls: 0, endpoints: 0, connections: 0 }, 'server state left behind');
    assert.equal(rtcRuntimeReferences(), 0, 'peer connections left open');
  });

  const join = async (name: string): Promise<DemoPage> => {
    const page = await DemoPage.join(browser, server.url, room, name);
    opened.push(page);
    return page;
  };

  it('marks a chat line delivered (✓✓) once the other pages have it', async () => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await alice.participant(bob.identity).waitFor();
    await alice.say('did you get this?');
    await bob.chatLine('did you get this?').waitFor();
    await alice.chatLine('did you get this?').locator('[data-testid=receipt][data-delivery=delivered]').waitFor();
    assert.equal(await alice.chatLine('did you get this?').locator('[data-testid=receipt]').textContent(), '✓✓');
    assert.equal(await bob.chatLine('did you get this?').locator('[data-testid=receipt]').count(), 0, 'only the sender shows the mark');
  });

  it('shows a page that joins late the shared counter at once', async () => {
    const [alice, bob] = opened as [DemoPage, DemoPage];
    for (let i = 0; i < 3; i++) await alice.page.getByTestId('counter-add').click();
    await bob.page.locator('[data-testid=counter]', { hasText: /^3$/ }).waitFor();
    await bob.page.getByTestId('counter-add').click();
    await alice.page.locator('[data-testid=counter]', { hasText: /^4$/ }).waitFor();
    // Nobody clicks after Carol joins: what she shows is the state the server retained.
    const carol = await join('Carol');
    await carol.page.locator('[data-testid=counter]', { hasText: /^4$/ }).waitFor();
  });
});
