/**
 * Takes the README's screenshots of the demo in use: two people in a call, a conversation, and a file
 * transfer caught in progress. Needs the built demo (`npm run build`) and Debian's Chromium.
 *
 *   npx tsx scripts/screenshots.ts        → docs/screenshots/*.png
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { launchChromium } from '../test/e2e/support/browser.js';
import { DemoPage } from '../test/e2e/support/demoPage.js';
import { startDemoServer } from '../test/e2e/support/server.js';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

// A slow Durable limit (4 Mbit/s) keeps a 24 MiB transfer on screen for most of a minute.
const server = await startDemoServer(4_000);
const browser = await launchChromium();
try {
  mkdirSync(OUT, { recursive: true });
  const room = 'design-review';
  const alice = await DemoPage.join(browser, server.url, room, 'Alice Martin');
  const bob = await DemoPage.join(browser, server.url, room, 'Bob Chen', { width: 390, height: 844 });
  await alice.participant(bob.identity).waitFor();

  await alice.say('Hi Bob! I am sending the review build now.');
  await bob.say('Great, thanks. Is it the one with the new layout?');
  await alice.say('Yes, and the notes are in the zip. Only you get this line.', [bob.identity]);
  await bob.chatLine('Yes, and the notes are in the zip. Only you get this line.').waitFor();

  await alice.share({ name: 'review-build-2026-11.zip', mimeType: 'application/zip', buffer: randomBytes(24 * 1024 * 1024) });
  const moving = (page: DemoPage, direction: 'in' | 'out'): Promise<unknown> =>
    page.page.waitForFunction(
      (selector) => Number(document.querySelector(selector)?.getAttribute('data-percent') ?? 0) >= 35,
      `[data-testid=transfer][data-direction=${direction}] .progress`,
      { timeout: 60_000 },
    );
  await Promise.all([moving(alice, 'out'), moving(bob, 'in')]);
  await alice.page.screenshot({ path: `${OUT}demo-laptop.png` });
  // The phone shows one column: scroll to the conversation, with the transfer under it.
  await bob.page.locator('#chat-input').blur();
  await bob.page.locator('.chat-panel').evaluate((panel) => window.scrollTo(0, panel.getBoundingClientRect().top + window.scrollY - 12));
  await bob.page.screenshot({ path: `${OUT}demo-phone.png` });
  console.log(`screenshots written to ${OUT}`);
  await Promise.all([alice.close(), bob.close()]);
} finally {
  await browser.close();
  await server.close();
}
