/**
 * One person using the demo in a Chromium page, driven the way a person would: fields, buttons and
 * checkboxes. Waits are Playwright's own (locator.waitFor, waitForFunction), never sleeps.
 */
import { readFile } from 'node:fs/promises';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

export interface FileToShare {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

const TIMEOUT_MS = 20_000;

export class DemoPage {
  readonly page: Page;
  readonly name: string;
  /** Uncaught exceptions in the page: a test fails if any appear. */
  readonly pageErrors: Error[] = [];
  readonly #context: BrowserContext;
  #identity = '';

  private constructor(context: BrowserContext, page: Page, name: string) {
    this.#context = context;
    this.page = page;
    this.name = name;
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('pageerror', (error) => this.pageErrors.push(error));
  }

  /** Opens the demo in a context of its own (its own storage: another person) and joins `room` as `name`. */
  static async join(browser: Browser, url: string, room: string, name: string, viewport = { width: 1280, height: 800 }): Promise<DemoPage> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const demo = new DemoPage(context, await context.newPage(), name);
    await demo.page.goto(url);
    await demo.page.fill('#room', room);
    await demo.page.fill('#display-name', name);
    await demo.page.getByRole('button', { name: 'Join call' }).click();
    await demo.page.locator('[data-testid=state][data-state=Connected]').waitFor();
    demo.#identity = (await demo.page.locator('[data-testid=me]').getAttribute('data-identity')) ?? '';
    return demo;
  }

  get identity(): string {
    return this.#identity;
  }

  participant(identity: string): Locator {
    return this.page.locator(`[data-testid=participant][data-identity="${identity}"]`);
  }

  /** Identities in the participant list now. */
  async participantIdentities(): Promise<string[]> {
    return this.page.locator('[data-testid=participant]').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.identity ?? ''));
  }

  /** Sends a chat line to everyone, or with only `to` ticked in the participant list. */
  async say(text: string, to: 'everyone' | string[] = 'everyone'): Promise<void> {
    await this.#choose(to);
    await this.page.fill('#chat-input', text);
    await this.page.getByRole('button', { name: 'Send', exact: true }).click();
    await this.chatLine(text).waitFor();
  }

  chatLine(text: string): Locator {
    return this.page.locator('[data-testid=chat-line]').filter({ has: this.page.locator('p.text', { hasText: new RegExp(`^${escape(text)}$`) }) });
  }

  /** Chat texts shown now, in order. */
  async chatTexts(): Promise<string[]> {
    return this.page.locator('[data-testid=chat-line] p.text').allTextContents();
  }

  /** Shares a file (to everyone, or to `to` only) through the file picker. */
  async share(file: FileToShare, to: 'everyone' | string[] = 'everyone'): Promise<void> {
    await this.#choose(to);
    await this.page.setInputFiles('#file-input', file);
  }

  transfer(direction: 'in' | 'out', name: string): Locator {
    return this.page.locator(`[data-testid=transfer][data-direction=${direction}][data-name="${name}"]`);
  }

  /** Waits until the transfer is in `state` and returns the percentage its progress bar shows. */
  async transferDone(direction: 'in' | 'out', name: string, state: string): Promise<number> {
    const transfer = this.transfer(direction, name);
    await this.page.locator(`[data-testid=transfer][data-direction=${direction}][data-name="${name}"][data-state=${state}]`).waitFor();
    return Number(await transfer.locator('.progress').getAttribute('data-percent'));
  }

  /** Saves a received file with its Save link, as a person would, and returns its bytes. */
  async save(name: string): Promise<Buffer> {
    const [download] = await Promise.all([this.page.waitForEvent('download'), this.transfer('in', name).getByRole('link', { name: 'Save' }).click()]);
    return readFile(await download.path());
  }

  /** Error banners on the page now, as "code: message" text. */
  async errors(): Promise<string[]> {
    return this.page.locator('[data-testid=error]').allTextContents();
  }

  async leave(): Promise<void> {
    await this.page.getByRole('button', { name: 'Leave' }).click();
    await this.page.getByRole('button', { name: 'Join call' }).waitFor();
  }

  async close(): Promise<void> {
    await this.#context.close();
  }

  /** Sets the audience: untick everyone, tick `to` (or no one, for everyone). */
  async #choose(to: 'everyone' | string[]): Promise<void> {
    const wanted = new Set(to === 'everyone' ? [] : to);
    for (const identity of await this.participantIdentities()) {
      await this.participant(identity).locator('input.pick').setChecked(wanted.has(identity));
    }
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
