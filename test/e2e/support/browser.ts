/** Debian's Chromium under playwright-core: never a downloaded browser (scripts/ensure-chromium.sh installs it). */
import { existsSync } from 'node:fs';

import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) to install Debian's chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox (root in a container); no GPU; and nothing that reaches for the network beyond loopback,
    // which is closed here and would otherwise fill the log with refused connections.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
